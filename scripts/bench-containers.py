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
  sse GATEWAY KEY SOCKET STREAMS LINES INTERVAL_MS LEAD_S
      One container; STREAMS concurrent tasks, each `/bin/ct_stamp LINES
      INTERVAL_MS START` (tests/bench/ct_stamp.c: a line every INTERVAL_MS
      carrying the wall-clock time it was written, from START = now +
      LEAD_S on), first as the engine's own exec attach streams on its
      socket, then as the gateway's SSE streams (POST .../execute). The
      latency of an event is its arrival at this client minus the time in
      its line; prints "sse streams=.. events=.. direct_p50_ms=..
      direct_p99_ms=.. gateway_p50_ms=.. gateway_p99_ms=.. late_streams=..".
"""
import http.client
import json
import os
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
    """One task's events: latencies (ms) and whether it began after START."""

    def __init__(self):
        self.latencies, self.error, self.first_seq_late = [], None, False


def note_line(stream, line, arrived_us, start_us, interval_ms):
    parts = line.split()
    if len(parts) != 2:
        return
    seq, written = int(parts[0]), int(parts[1])
    if seq == 0 and written > start_us + interval_ms * 1000:
        stream.first_seq_late = True
    stream.latencies.append((arrived_us - written) / 1000.0)


def gateway_stream(gateway, key, cid, task, stream, start_us, interval_ms):
    try:
        conn = gateway_connection(gateway)
        conn.request("POST", f"/api/v1/containers/{cid}/execute", body=json.dumps({"task": task}),
                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            stream.error = f"execute: {resp.status} {resp.read()[:200]!r}"
            return
        buf = b""
        while True:
            chunk = resp.read1(65536)
            arrived = time.time() * 1e6
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                fields = dict(l.split(": ", 1) for l in event.decode().split("\n") if ": " in l)
                if fields.get("event") == "stdout":
                    note_line(stream, fields.get("data", ""), arrived, start_us, interval_ms)
                elif fields.get("event") == "error":
                    stream.error = fields.get("data")
        conn.close()
    except Exception as e:  # reported, and the run fails
        stream.error = repr(e)


def direct_stream(sock, engine_id, task, stream, start_us, interval_ms):
    try:
        conn = UnixConnection(sock, timeout=120)
        made = call(conn, "POST", f"/v1.41/containers/{engine_id}/exec",
                    {"Cmd": ["/bin/sh", "-c", task], "Env": [f"CB_TASK={os.urandom(8).hex()}"],
                     "AttachStdout": True, "AttachStderr": True, "WorkingDir": "/workspace"},
                    expect=(201,))
        conn.request("POST", f"/v1.41/exec/{made['Id']}/start", body=b'{"Detach":false,"Tty":false}',
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            stream.error = f"exec start: {resp.status}"
            return
        buf, text = b"", b""
        while True:
            chunk = resp.read1(65536)
            arrived = time.time() * 1e6
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                size = struct.unpack(">I", buf[4:8])[0]
                if len(buf) < 8 + size:
                    break
                if buf[0] == 1:
                    text += buf[8:8 + size]
                buf = buf[8 + size:]
            while b"\n" in text:
                line, text = text.split(b"\n", 1)
                note_line(stream, line.decode(), arrived, start_us, interval_ms)
        conn.close()
    except Exception as e:
        stream.error = repr(e)


def run_streams(target, count):
    streams = [Stream() for _ in range(count)]
    threads = [threading.Thread(target=target, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [s.error for s in streams if s.error]
    if errors:
        sys.exit(f"bench-containers: {len(errors)} streams failed, first: {errors[0]}")
    return streams


def bench_sse(gateway, key, sock, count, lines, interval_ms, lead_s):
    auth = {"Authorization": f"Bearer {key}"}
    gw, eng = gateway_connection(gateway), UnixConnection(sock)
    cid = call(gw, "POST", "/api/v1/containers", {"agentType": "bench", "persistContainer": True},
               auth, expect=(201,))["id"]
    found = call(eng, "GET", "/v1.41/containers/json?filters="
                 + urllib.parse.quote(json.dumps({"label": [f"cloudbase.container={cid}"]})))
    if len(found) != 1:
        sys.exit(f"bench-containers: the engine lists {len(found)} containers labelled {cid}")
    engine_id = found[0]["Id"]
    results = {}
    for side in ("direct", "gateway"):
        start_us = int((time.time() + lead_s) * 1e6)
        task = f"/bin/ct_stamp {lines} {interval_ms} {start_us}"
        if side == "direct":
            streams = run_streams(lambda s: direct_stream(sock, engine_id, task, s, start_us, interval_ms), count)
        else:
            streams = run_streams(lambda s: gateway_stream(gateway, key, cid, task, s, start_us, interval_ms), count)
        got = [l for s in streams for l in s.latencies]
        if len(got) != count * lines:
            sys.exit(f"bench-containers: {side}: {len(got)} events arrived, {count * lines} expected")
        results[side] = (got, sum(1 for s in streams if s.first_seq_late))
    call(gw, "DELETE", f"/api/v1/containers/{cid}", None, auth)
    d, g = results["direct"][0], results["gateway"][0]
    print(f"sse streams={count} events={len(g)} direct_p50_ms={percentile(d, 50):.2f}"
          f" direct_p99_ms={percentile(d, 99):.2f} gateway_p50_ms={percentile(g, 50):.2f}"
          f" gateway_p99_ms={percentile(g, 99):.2f} late_streams={results['direct'][1]}/{results['gateway'][1]}")


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "create":
        bench_create(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) == 9 and sys.argv[1] == "sse":
        bench_sse(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                  int(sys.argv[7]), float(sys.argv[8]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
