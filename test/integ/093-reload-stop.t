#!/usr/bin/env python3
"""Graceful reload under continuous load (no failed request, no request
left waiting: the new generation accepts before the old one stops; the
version minor grows; old workers leave once their requests are done), and
stopping: SIGTERM within the longest deadline, a second SIGTERM at once.
"""
import re
import signal
import threading
import time

from warmtest import Cluster, eq, main, ok, pid_alive, wait_for

# pending_timeout turns a request that waited for a worker longer than
# expected into a 503, which the load below counts as a failure.
INI = """
[app]
workers = 2
request_timeout = 20s
pending_timeout = 1s
status_path = /status

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler rid]
url = /rid
module = {build}/examples/request_id/request_id.so
"""

SLEEP_MS = 200
TIMEOUT_MS = 20000


class Load:
    """Clients alternating a request that takes SLEEP_MS and one that
    reports CURRENT_VERSION_ID and when a worker took it (REQUEST_DEADLINE
    less request_timeout), until stopped."""

    def __init__(self, c, n):
        self.c = c
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.out = []       # (status, version or None, ms waited or None)
        self.threads = [threading.Thread(target=self.run) for _ in range(n)]
        for t in self.threads:
            t.start()

    def run(self):
        while not self.stop.is_set():
            r = self.c.get("/t/sleep?ms=%d" % SLEEP_MS)
            sent = time.time() * 1000
            v = self.c.get("/t/env")
            e = v.env()
            taken = int(e.get("REQUEST_DEADLINE", 0)) - TIMEOUT_MS
            with self.lock:
                self.out.append((r.status, None, None))
                self.out.append((v.status, e.get("CURRENT_VERSION_ID"),
                                 taken - sent))

    def count(self):
        with self.lock:
            return len(self.out)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)
        return self.out


def minor(v):
    return int(v.split(".")[1])


def test_reload_under_load_fails_no_request():
    c = Cluster(INI, "reload-load").start()
    try:
        gen1 = set(c.wait_workers(2))
        load = Load(c, 2)
        wait_for(lambda: load.count() >= 10, 20, "load running")
        for _ in range(3):
            old = set(c.workers())
            n = load.count()
            c.signal(signal.SIGHUP)
            # The old workers leave once their requests are over...
            wait_for(lambda: not old & set(c.workers()), 20,
                     "old workers gone")
            # ... and requests keep being answered meanwhile.
            wait_for(lambda: load.count() >= n + 20, 20, "more requests")
        out = load.join()
        eq([s for s, _, _ in out if s != 200], [], "non-2xx responses")
        seen = [v for _, v, _ in out if v]
        ok(len({minor(v) for v in seen}) >= 2, "versions seen: %r"
           % sorted(set(seen)))
        ok(minor(seen[-1]) > minor(seen[0]), (seen[0], seen[-1]))
        eq(len(c.workers()), 2)
        ok(not gen1 & set(c.workers()))
        waits = [w for _, v, w in out if v]
        print("# %d requests across 3 reloads; longest wait for a worker: "
              "%.0f ms (a request takes %d ms)" % (len(out), max(waits),
                                                    SLEEP_MS))
        # Each new generation accepted before the old one was retired.
        done = [r["message"] for r in c.app_records()
                if r["message"].startswith("reloaded:")]
        eq(len(done), 3)
        ok(all(m.startswith("reloaded: 2 workers") for m in done), done)
    finally:
        c.stop()


def test_reload_keeps_a_request_in_flight():
    c = Cluster(INI, "reload-inflight").start()
    try:
        out = {}

        def run():
            out["r"] = c.get("/t/sleep?ms=1500")
        t = threading.Thread(target=run)
        t.start()
        rec = c.wait_app(lambda x: x["message"].startswith("sleep started"))
        busy = int(rec[0]["message"].split("pid=")[1])
        c.signal(signal.SIGHUP)
        c.wait_app(lambda x: x["message"].startswith("reloaded:"))
        ok(pid_alive(busy), "the busy old worker finishes its request")
        eq(c.get("/t/hello").status, 200)
        t.join(30)
        eq(out["r"].status, 200)
        ok("slept" in out["r"].text)
        wait_for(lambda: not pid_alive(busy), 10, "old worker gone")
    finally:
        c.stop()


def test_sigterm_stops_within_the_deadline():
    c = Cluster(INI.replace("request_timeout = 20s",
                            "request_timeout = 1s\ndeadline_grace = 500ms"),
                "stop-deadline").start()
    try:
        out = {}

        def run():
            out["r"] = c.get("/t/sleep?ms=60000")
        t = threading.Thread(target=run)
        t.start()
        c.wait_app(lambda x: x["message"].startswith("sleep started"))
        c.signal(signal.SIGTERM)
        eq(c.proc.wait(30), 0)
        t.join(30)
        eq(out["r"].status, 200)
        ok("err=deadline" in out["r"].text, "the handler saw its deadline: "
           "%r" % out["r"].text)
    finally:
        c.stop()


def test_second_sigterm_stops_at_once():
    c = Cluster(INI, "stop-twice").start()
    try:
        out = {}

        def run():
            out["r"] = c.get("/t/sleep?ms=15000", timeout=60)
        t = threading.Thread(target=run)
        t.start()
        c.wait_app(lambda x: x["message"].startswith("sleep started"))
        w = c.workers()
        c.signal(signal.SIGTERM)
        c.wait_app(lambda x: x["message"].startswith("stopping"))
        ok(c.proc.poll() is None, "still draining after one SIGTERM")
        c.signal(signal.SIGTERM)
        c.proc.wait(10)
        c.wait_app(lambda x: x["message"].startswith("second stop signal"))
        ok(not any(pid_alive(p) for p in w), "workers killed")
        t.join(30)
        ok(out["r"].status != 200 or "slept" not in out["r"].text,
           "the request did not run to its end")
    finally:
        c.stop()


main()
