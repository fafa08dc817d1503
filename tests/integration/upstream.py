#!/usr/bin/env python3
"""upstream.py: a small real HTTP upstream for the tests (stdlib only).

Routes (any method):
  /sse            three server-sent events, 300 ms apart, each flushed
  /sse-forever?tag=T  an event every 100 ms (for up to 60 s) until the
                  client closes; then logs "sse-forever closed T"
  /slow?ms=N      answers after N milliseconds
  /big?bytes=N    a body of N bytes
  /status?code=N  answers with status N
  /flap?tag=T&pattern=UDDU  the Nth request of tag T answers 200 ("U") or
                  500 ("D") after the pattern's Nth letter (its last letter
                  once the pattern is used up): an upstream that flaps
  /count?tag=T    answers 200 and logs "count T MS MARKER" (the unix time
                  in milliseconds it arrived), to count checks per interval
  /bin            a small application/octet-stream body
  /redirect?to=URL&code=N  answers N (default 302) with Location: URL
  /hops?n=N       redirects (302) to /hops?n=N-1 until n=0 answers 200
                  "arrived": a chain of N redirects
  .../chat/completions  a fake OpenAI-style provider: JSON, or with
                  "stream": true three chunks 300 ms apart and "data: [DONE]";
                  "sawKey" tells whether Authorization carried PROVIDER_KEY;
                  a request "x_tokens": N adds usage (N total tokens) to the
                  JSON answer, and to a stream's last chunk when
                  "stream_options": {"include_usage": true} (null before);
                  the JSON answer also echoes the request headers but
                  Authorization (the provider key stays out of answers)
  anything else   JSON echo of method, path, query, headers and body length
                  (with ?upstream_headers=1 it also sends its own X-Request-Id,
                  RateLimit-Limit and Access-Control-Allow-Origin)
Every request is logged to stdout as "request METHOD PATH?QUERY", followed
by " marker:VALUE" when it has an X-Marker header (routes that do not pass
the query on), so tests can prove that a refused request never reached the
upstream.
Usage: upstream.py PORT  (prints "ready" once listening)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROVIDER_KEY = "sk-test-provider-key-123"
LOG_LOCK = threading.Lock()
FLAP_COUNTS = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        marker = self.headers.get("X-Marker")
        with LOG_LOCK:
            print("request %s %s%s" % (self.command, self.path,
                                       " marker:" + marker if marker else ""), flush=True)
        body = self._body()
        if url.path.endswith("/chat/completions"):
            self._chat(body)
            return
        if url.path.endswith("/sse"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(3):
                self.wfile.write(("data: event %d t=%.3f\n\n" % (i, time.time())).encode())
                self.wfile.flush()
                if i < 2:
                    time.sleep(0.3)
            self.close_connection = True
            return
        if url.path.endswith("/sse-forever"):
            self._sse_forever(query.get("tag", ["-"])[0])
            return
        if url.path.endswith("/slow"):
            time.sleep(int(query.get("ms", ["1000"])[0]) / 1000.0)
            self._send(200, b'{"slow":true}')
            return
        if url.path.endswith("/big"):
            self._send(200, b"x" * int(query.get("bytes", ["1024"])[0]), "text/plain")
            return
        if url.path.endswith("/bin"):
            self._send(200, b"\x00\x01binary", "application/octet-stream")
            return
        if url.path.endswith("/flap"):
            tag, pattern = query.get("tag", ["-"])[0], query.get("pattern", ["U"])[0]
            with LOG_LOCK:
                n = FLAP_COUNTS.get(tag, 0)
                FLAP_COUNTS[tag] = n + 1
            up = pattern[min(n, len(pattern) - 1)] == "U"
            self._send(200 if up else 500, b"healthy" if up else b"broken", "text/plain")
            return
        if url.path.endswith("/count"):
            with LOG_LOCK:
                print("count %s %d %s" % (query.get("tag", ["-"])[0], int(time.time() * 1000),
                                          marker or "-"), flush=True)
            self._send(200, b"counted", "text/plain")
            return
        if url.path.endswith("/redirect"):
            self._send(int(query.get("code", ["302"])[0]), b"moved", "text/plain",
                       {"Location": query.get("to", ["/"])[0]})
            return
        if url.path.endswith("/hops"):
            n = int(query.get("n", ["0"])[0])
            if n <= 0:
                self._send(200, b"arrived", "text/plain", {"X-Hops": "done"})
            else:
                self._send(302, b"hop", "text/plain", {"Location": "/hops?n=%d" % (n - 1)})
            return
        if url.path.endswith("/status"):
            self._send(int(query.get("code", ["200"])[0]), b'{"status":true}')
            return
        echo = {
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "bodyLength": len(body),
        }
        extra = None
        if "upstream_headers" in query:
            extra = {"X-Request-Id": "from-upstream", "RateLimit-Limit": "999",
                     "Access-Control-Allow-Origin": "*"}
        self._send(200, json.dumps(echo).encode(), extra=extra)

    def _sse_forever(self, tag):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for i in range(600):
                self.wfile.write(("data: tick %d\n\n" % i).encode())
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            with LOG_LOCK:
                print("sse-forever closed %s" % tag, flush=True)

    @staticmethod
    def _usage(total):
        prompt = total // 3
        return {"prompt_tokens": prompt, "completion_tokens": total - prompt,
                "total_tokens": total, "prompt_tokens_details": {"cached_tokens": 0}}

    def _chat(self, body):
        request = json.loads(body or b"{}")
        saw_key = self.headers.get("Authorization") == "Bearer " + PROVIDER_KEY
        if not request.get("stream"):
            answer = {"object": "chat.completion", "model": request.get("model"),
                      "path": urlsplit(self.path).path, "sawKey": saw_key,
                      "headers": {k.lower(): v for k, v in self.headers.items()
                                  if k.lower() != "authorization"},
                      "choices": [{"index": 0, "message": {"role": "assistant",
                                                           "content": "hello"}}]}
            if "x_tokens" in request:
                answer["usage"] = self._usage(request["x_tokens"])
            self._send(200, json.dumps(answer).encode())
            return
        include_usage = "x_tokens" in request and \
            (request.get("stream_options") or {}).get("include_usage")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for i in range(3):
            chunk = {"object": "chat.completion.chunk", "sawKey": saw_key,
                     "t": round(time.time(), 3),
                     "choices": [{"index": 0, "delta": {"content": "part%d" % i}}]}
            if include_usage:
                chunk["usage"] = None
            self.wfile.write(("data: %s\n\n" % json.dumps(chunk)).encode())
            self.wfile.flush()
            time.sleep(0.3)
        if include_usage:
            chunk = {"object": "chat.completion.chunk", "choices": [],
                     "usage": self._usage(request["x_tokens"])}
            self.wfile.write(("data: %s\n\n" % json.dumps(chunk)).encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
