#!/usr/bin/env python3
"""demo-sample-ai.py: a SAMPLE OpenAI-compatible chat server for the demo.

It is not a language model: it answers every chat with a fixed, friendly
sentence that quotes the last user message, so that the demo's AI provider
`deepseek` and its agent `demo-agent` have a real upstream on loopback.

  POST .../chat/completions  {"model", "messages", "stream"}
    stream false: one OpenAI chat.completion object (JSON)
    stream true:  text/event-stream, one chat.completion.chunk per word,
                  each flushed, then "data: [DONE]"
  Authorization must be "Bearer <the key in KEY_FILE>": the gateway injects
  it (callers never see it); anything else gets 401.

  GET /flap  the demo's flapping service for the uptime monitor "flapping":
             200 "up" for 20 seconds, then 503 "down" for 20 seconds, and
             so on (by the wall clock), so the status page shows it change.

Usage: demo-sample-ai.py PORT KEY_FILE  (listens on 127.0.0.1 only)
"""
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


FLAP_SECONDS = 20


class SampleChat(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    key = ""

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.split("?")[0] != "/flap":
            self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        up = int(time.time() // FLAP_SECONDS) % 2 == 0
        self.send_json(200 if up else 503, {"status": "up" if up else "down"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.endswith("/chat/completions"):
            self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        if self.headers.get("Authorization") != "Bearer " + self.key:
            self.send_json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return
        try:
            request = json.loads(raw or b"{}")
            messages = request.get("messages") or []
            last = next((m.get("content") for m in reversed(messages)
                         if isinstance(m, dict) and m.get("role") == "user"), "")
        except (ValueError, AttributeError):
            self.send_json(400, {"error": {"message": "body must be a JSON object",
                                           "type": "invalid_request_error"}})
            return
        model = request.get("model") or "sample"
        reply = "Hello from the sample AI server! You said: %s" % (str(last)[:200] or "(nothing)")
        ident = "chatcmpl-" + uuid.uuid4().hex[:12]
        created = int(time.time())
        if request.get("stream"):
            self.stream(ident, created, model, reply)
            return
        self.send_json(200, {
            "id": ident, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": len(str(last).split()),
                      "completion_tokens": len(reply.split()),
                      "total_tokens": len(str(last).split()) + len(reply.split())},
        })

    def stream(self, ident, created, model, reply):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        words = reply.split(" ")
        for i, word in enumerate(words):
            delta = {"content": word if i == 0 else " " + word}
            if i == 0:
                delta["role"] = "assistant"
            chunk = {"id": ident, "object": "chat.completion.chunk", "created": created,
                     "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()
            time.sleep(0.05)
        end = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2]) as f:
        SampleChat.key = f.read().strip()
    server = ThreadingHTTPServer(("127.0.0.1", port), SampleChat)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
