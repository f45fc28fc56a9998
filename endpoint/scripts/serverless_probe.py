#!/usr/bin/env python3
"""Checks omni-endpoint's serverless emulation under saturation (stdlib only).

Starts the endpoint as the plan's serverless endpoint (MaxConcurrency 5, a 300 ms model, a
2 s cold start), drains TOTAL invocations from THREADS closed-loop clients that retry a
ThrottlingException after 50 ms, and prints one JSON line: wall time against the ideal
(TOTAL x 0.3 s / 5 + the cold start), the endpoint's counters, the time to answer a throttle,
and the per-second request record from GET /_omni/stats.

    python3 endpoint/scripts/serverless_probe.py target/debug/omni-endpoint \
        core/tests/fixtures/images/yard-640x640.jpg [TOTAL] [THREADS]
"""

import http.client
import json
import subprocess
import sys
import threading
import time

LATENCY_S, LIMIT, COLD_START_S = 0.3, 5, 2.0


def main():
    exe, photo = sys.argv[1], sys.argv[2]
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    body = open(photo, "rb").read()
    proc = subprocess.Popen(
        [exe, "--listen", "127.0.0.1:0", "--no-auth", "--model", "null",
         "--max-concurrency", str(LIMIT), "--latency-ms", str(int(LATENCY_S * 1000)),
         "--cold-start-ms", str(int(COLD_START_S * 1000)), "--idle-scale-down-s", "60"],
        stdout=subprocess.PIPE, text=True)
    try:
        host, port = proc.stdout.readline().strip().rsplit("/", 1)[1].split(":")
        lock = threading.Lock()
        left = [total]
        throttle_ms = []
        errors = []

        def client():
            conn = http.client.HTTPConnection(host, int(port))
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                while True:
                    started = time.perf_counter()
                    conn.request("POST", "/invocations", body, {"content-type": "image/jpeg"})
                    answer = conn.getresponse()
                    answer.read()
                    if answer.status == 200:
                        break
                    kind = answer.getheader("x-amzn-errortype")
                    if kind != "ThrottlingException":
                        errors.append((answer.status, kind))
                        return
                    throttle_ms.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.05)

        started = time.perf_counter()
        workers = [threading.Thread(target=client) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - started
        conn = http.client.HTTPConnection(host, int(port))
        conn.request("GET", "/_omni/stats")
        stats = json.loads(conn.getresponse().read())
    finally:
        proc.terminate()
        proc.wait()
    throttle_ms.sort()
    pick = lambda q: round(throttle_ms[min(len(throttle_ms) - 1, int(len(throttle_ms) * q))], 2)
    print(json.dumps({
        "wall_s": round(wall, 2),
        "ideal_s": round(total * LATENCY_S / LIMIT + COLD_START_S, 2),
        "unexpected_errors": errors,
        **{k: stats[k] for k in ("answered", "throttled", "cold_starts", "cold_start_waits",
                                 "max_in_flight", "invocations_per_second",
                                 "throttled_per_second")},
        "throttle_answer_ms_median": pick(0.5) if throttle_ms else None,
        "throttle_answer_ms_p99": pick(0.99) if throttle_ms else None,
    }))


if __name__ == "__main__":
    main()
