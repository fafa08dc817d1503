#!/usr/bin/env python3
"""static_agent.py: a container that "already runs somewhere" for the
containers plugin's static driver tests (stdlib only). Serves, under PREFIX:

  GET  PREFIX/status        {"status": "running", "healthy": true}
  GET  PREFIX/logs?lines=N  the last N of five lines "agent log line K"
                            (text/plain)
  POST PREFIX/execute       {task, model?, reasoningEffort?}: an event
                            stream, each event flushed on its own:
                            `stdout` with two data lines (one, one-b),
                            400 ms, `progress` (the endpoint's own event),
                            `stderr` two, 400 ms, `stdout` three, `done`
                            {"exitCode": 3}. Task "forever": a `stdout`
                            event every 100 ms for up to 60 s until the
                            client closes; then logs "execute closed".

Each request is logged on stdout ("METHOD PATH" and, for /execute, the
body) before it is answered.

Usage: static_agent.py PORT PREFIX
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = sys.argv[2].rstrip("/") if len(sys.argv) > 2 else ""


def log(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def route(self):
        path, _, query = self.path.partition("?")
        if not path.startswith(PREFIX + "/"):
            return None, query
        return path[len(PREFIX):], query

    def answer(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        log("GET " + self.path)
        path, query = self.route()
        if path == "/status":
            self.answer(200, "application/json", '{"status": "running", "healthy": true}')
        elif path == "/logs":
            lines = 100
            for part in query.split("&"):
                if part.startswith("lines="):
                    lines = int(part[6:])
            all_lines = ["agent log line %d" % k for k in range(1, 6)]
            self.answer(200, "text/plain", "".join(l + "\n" for l in all_lines[-lines:]))
        else:
            self.answer(404, "text/plain", "not here\n")

    def event(self, name, *data):
        text = "event: %s\n" % name + "".join("data: %s\n" % d for d in data) + "\n"
        self.wfile.write(text.encode())
        self.wfile.flush()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        log("POST %s %s" % (self.path, body.decode(errors="replace")))
        path, _ = self.route()
        if path != "/execute":
            self.answer(404, "text/plain", "not here\n")
            return
        task = json.loads(body).get("task")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if task == "forever":
            try:
                for _ in range(600):
                    self.event("stdout", "tick")
                    time.sleep(0.1)
            except OSError:
                log("execute closed")
            return
        self.event("stdout", "one", "one-b")
        time.sleep(0.4)
        self.event("progress", "50%")
        self.event("stderr", "two")
        time.sleep(0.4)
        self.event("stdout", "three")
        self.event("done", json.dumps({"exitCode": 3}))


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
