#!/usr/bin/env python3
"""bench-containers.py: the client of the containers benchmarks (run by
scripts/bench-containers.sh, which starts Podman and the gateway).

  create GATEWAY KEY SOCKET N IMAGE
      N containers created and started through the gateway (POST
      /api/v1/containers) and N made with the same engine calls (create with
      the gateway's body, then start) straight on the engine's socket,
      alternating one by one so drift hits both alike; prints
      "create N=.. gateway_per_s=.. direct_per_s=.. gateway_ms_p50=.. direct_ms_p50=..".
      Every container is removed afterwards (through the gateway, or from
      the engine for the direct ones).
  sse GATEWAY KEY SOCKET STREAMS LINES INTERVAL_MS LEAD_S ROUNDS
      One container; STREAMS concurrent tasks, each `/bin/ct_stamp LINES
      INTERVAL_MS START` (tests/bench/ct_stamp.c: a line every INTERVAL_MS
      carrying the wall-clock time it was written, from START = now +
      LEAD_S on, the streams' STARTs spread evenly over one interval; it
      exits BENCH_CT_LINGER_MS (0) after its last line), as the engine's own exec attach streams on its socket
      and as the gateway's SSE streams (POST .../execute), ROUNDS times
      each in the order engine, gateway, gateway, engine, ... The
      latency of an event is its arrival at this client minus the time in
      its line; prints "sse streams=.. events=.. direct_p50_ms=..
      direct_p99_ms=.. gateway_p50_ms=.. gateway_p99_ms=.. late_streams=..".
"""
import http.client
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
import urllib.parse


class UnixConnection(http.client.HTTPConnection):
    """HTTP over the engine's unix socket."""

    def __init__(self, path, timeout=60):
        super().__init__("engine", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def gateway_connection(url):
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=120)


def call(conn, method, path, body=None, headers=None, expect=(200, 201, 204)):
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
    except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
        conn.close()  # the server closed an idle keep-alive connection: once more on a new one
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
    raw = resp.read()
    if resp.status not in expect:
        sys.exit(f"bench-containers: {method} {path}: {resp.status} {raw[:300]!r}")
    return json.loads(raw) if raw.strip() else None


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, (len(values) * q + 99) // 100 - 1))]


def direct_body(image, owner_env, cid):
    """The body the gateway's engine.c sends for the bench agent type."""
    return {
        "Image": image,
        "Cmd": ["/bin/sh", "-c",
                f"echo 'container {cid} ready (agent type bench)'; while :; do sleep 3600; done"],
        "WorkingDir": "/workspace",
        "Labels": {"cloudbase.env": owner_env, "cloudbase.owner": "key:bench", "cloudbase.container": cid},
        "HostConfig": {"Init": True, "NetworkMode": "none", "Memory": 64 * 1024 * 1024,
                       "NanoCpus": 500000000},
    }


def bench_create(gateway, key, sock, n, image):
    auth = {"Authorization": f"Bearer {key}"}
    gw, eng = gateway_connection(gateway), UnixConnection(sock)
    gw_times, direct_times, gw_ids, direct_ids = [], [], [], []
    body = {"agentType": "bench", "persistContainer": True}
    for i in range(n):
        t0 = time.monotonic()
        c = call(gw, "POST", "/api/v1/containers", body, auth, expect=(201,))
        gw_times.append(time.monotonic() - t0)
        gw_ids.append(c["id"])
        if c.get("status") != "running":
            sys.exit(f"bench-containers: the gateway answered a container that is not running: {c}")
        cid = os.urandom(12).hex()
        t0 = time.monotonic()
        made = call(eng, "POST", f"/v1.41/containers/create?name=cb-benchdirect-{cid}",
                    direct_body(image, "benchdirect", cid), expect=(201,))
        call(eng, "POST", f"/v1.41/containers/{made['Id']}/start", expect=(204,))
        direct_times.append(time.monotonic() - t0)
        direct_ids.append(made["Id"])
    for cid in gw_ids:
        call(gw, "DELETE", f"/api/v1/containers/{cid}", None, auth)
    for eid in direct_ids:
        call(eng, "DELETE", f"/v1.41/containers/{eid}?force=true", expect=(200, 204))
    print(f"create N={n} gateway_per_s={n / sum(gw_times):.2f} direct_per_s={n / sum(direct_times):.2f}"
          f" gateway_ms_p50={percentile(gw_times, 50) * 1000:.1f}"
          f" direct_ms_p50={percentile(direct_times, 50) * 1000:.1f}")


class Stream:
    """One task's stream, read by the selector loop: its parser state, the
    latencies (ms) of its events and whether it began after START."""

    def __init__(self, sock, sse, start_us, interval_ms):
        self.sock, self.sse, self.start_us, self.interval_ms = sock, sse, start_us, interval_ms
        self.head, self.body, self.text, self.exec_id = b"", None, b"", None
        self.latencies, self.seqs, self.error, self.first_seq_late = [], [], None, False

    def note_line(self, line, arrived_us):
        parts = line.split()
        if len(parts) != 2:
            return
        seq, written = int(parts[0]), int(parts[1])
        if seq == 0 and written > self.start_us + self.interval_ms * 1000:
            self.first_seq_late = True
        self.latencies.append((arrived_us - written) / 1000.0)
        self.seqs.append(seq)

    def feed(self, chunk, arrived_us):
        if self.body is None:
            self.head += chunk
            if b"\r\n\r\n" not in self.head:
                return
            head, self.body = self.head.split(b"\r\n\r\n", 1)
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" " or b"chunked" in head.lower():
                self.error = f"answer {head[:200]!r}"
                return
        else:
            self.body += chunk
        if self.sse:  # the gateway: "event: stdout\ndata: LINE\n\n"
            while b"\n\n" in self.body:
                event, self.body = self.body.split(b"\n\n", 1)
                fields = dict(l.split(": ", 1) for l in event.decode().split("\n") if ": " in l)
                if fields.get("event") == "stdout":
                    self.note_line(fields.get("data", ""), arrived_us)
                elif fields.get("event") == "error":
                    self.error = fields.get("data")
            return
        while len(self.body) >= 8:  # the engine: 8-byte frame headers, stream 1 is stdout
            size = struct.unpack(">I", self.body[4:8])[0]
            if len(self.body) < 8 + size:
                break
            if self.body[0] == 1:
                self.text += self.body[8:8 + size]
            self.body = self.body[8 + size:]
        while b"\n" in self.text:
            line, self.text = self.text.split(b"\n", 1)
            self.note_line(line.decode(), arrived_us)


def inspect_exec(sock_path, exec_id):
    call(UnixConnection(sock_path), "GET", f"/v1.41/exec/{exec_id}/json")


def read_streams(streams, sock_path):
    """Reads every stream to its end on one thread (a selector loop, so that
    the arrival time is taken as the bytes come, not when a thread gets the
    interpreter). As the gateway asks the engine for a task's exit code when
    its stream ends (GET /exec/ID/json), so does this client for the
    engine's own streams, on another thread."""
    inspects = []
    sel = selectors.DefaultSelector()
    for s in streams:
        s.sock.setblocking(False)
        sel.register(s.sock, selectors.EVENT_READ, s)
    left = len(streams)
    while left:
        for key, _ in sel.select(timeout=120) or sys.exit("bench-containers: the streams went quiet"):
            s = key.data
            chunk = s.sock.recv(65536)
            arrived = time.time() * 1e6
            if chunk:
                s.feed(chunk, arrived)
                continue
            sel.unregister(s.sock)
            s.sock.close()
            left -= 1
            if s.exec_id:
                inspects.append(threading.Thread(target=inspect_exec, args=(sock_path, s.exec_id)))
                inspects[-1].start()
    for t in inspects:
        t.join()
    errors = [s.error for s in streams if s.error]
    if errors:
        sys.exit(f"bench-containers: {len(errors)} streams failed, first: {errors[0]}")


def raw_request(sock, method, path, host, headers, body):
    """Sends an HTTP/1.0 request (so the answer is neither chunked nor kept alive)."""
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}", f"Content-Length: {len(body)}"] + headers
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def stamp_task(lines, interval_ms, start_us):
    return f"/bin/ct_stamp {lines} {interval_ms} {start_us} {os.environ.get('BENCH_CT_LINGER_MS', '0')}"


def gateway_streams(gateway, key, cid, lines, count, starts, interval_ms):
    host, port = gateway.split("//", 1)[1].rstrip("/").split(":")
    streams = []
    for i in range(count):
        body = json.dumps({"task": stamp_task(lines, interval_ms, starts[i])}).encode()
        streams.append(Stream(raw_request(socket.create_connection((host, int(port))), "POST",
                                          f"/api/v1/containers/{cid}/execute", host,
                                          [f"Authorization: Bearer {key}", "Content-Type: application/json"],
                                          body), True, starts[i], interval_ms))
    return streams


def direct_streams(sock_path, engine_id, lines, count, starts, interval_ms):
    eng, streams = UnixConnection(sock_path), []
    for i in range(count):
        made = call(eng, "POST", f"/v1.41/containers/{engine_id}/exec",
                    {"Cmd": ["/bin/sh", "-c", stamp_task(lines, interval_ms, starts[i])], "Env": [f"CB_TASK={os.urandom(8).hex()}"],
                     "AttachStdout": True, "AttachStderr": True, "WorkingDir": "/workspace"},
                    expect=(201,))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        streams.append(Stream(raw_request(s, "POST", f"/v1.41/exec/{made['Id']}/start", "engine",
                                          ["Content-Type: application/json"], b'{"Detach":false,"Tty":false}'),
                              False, starts[i], interval_ms))
        streams[-1].exec_id = made["Id"]
    return streams


def bench_sse(gateway, key, sock, count, lines, interval_ms, lead_s, rounds):
    auth = {"Authorization": f"Bearer {key}"}
    gw, eng = gateway_connection(gateway), UnixConnection(sock)
    cid = call(gw, "POST", "/api/v1/containers", {"agentType": "bench", "persistContainer": True},
               auth, expect=(201,))["id"]
    found = call(eng, "GET", "/v1.41/containers/json?filters="
                 + urllib.parse.quote(json.dumps({"label": [f"cloudbase.container={cid}"]})))
    if len(found) != 1:
        sys.exit(f"bench-containers: the engine lists {len(found)} containers labelled {cid}")
    engine_id = found[0]["Id"]
    results = {"direct": ([], 0, []), "gateway": ([], 0, [])}
    # direct, gateway, gateway, direct, ...: neither side always goes first
    for side in ["direct", "gateway", "gateway", "direct"] * (rounds // 2) + ["direct", "gateway"] * (rounds % 2):
        # the streams' lines are spread evenly over each interval
        start_us = int((time.time() + lead_s) * 1e6)
        starts = [start_us + i * interval_ms * 1000 // count for i in range(count)]
        if side == "direct":
            streams = direct_streams(sock, engine_id, lines, count, starts, interval_ms)
        else:
            streams = gateway_streams(gateway, key, cid, lines, count, starts, interval_ms)
        read_streams(streams, sock)
        got = [l for s in streams for l in s.latencies]
        if len(got) != count * lines:
            sys.exit(f"bench-containers: {side}: {len(got)} events arrived, {count * lines} expected")
        # the events but each stream's last line (which comes as the tasks end)
        inner = [l for s in streams for l, q in zip(s.latencies, s.seqs) if q < lines - 1]
        results[side] = (results[side][0] + got, results[side][1] + sum(1 for s in streams if s.first_seq_late),
                         results[side][2] + inner)
    call(gw, "DELETE", f"/api/v1/containers/{cid}", None, auth)
    d, g = results["direct"][0], results["gateway"][0]
    print(f"sse streams={count} events={len(g)} direct_p50_ms={percentile(d, 50):.2f}"
          f" direct_p99_ms={percentile(d, 99):.2f} gateway_p50_ms={percentile(g, 50):.2f}"
          f" gateway_p99_ms={percentile(g, 99):.2f}"
          f" direct_p99_ms_but_last={percentile(results['direct'][2], 99):.2f}"
          f" gateway_p99_ms_but_last={percentile(results['gateway'][2], 99):.2f} late_streams={results['direct'][1]}/{results['gateway'][1]}")


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "create":
        bench_create(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) == 10 and sys.argv[1] == "sse":
        bench_sse(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                  int(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
