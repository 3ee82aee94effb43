#!/usr/bin/env python3
"""Autoscaling: workers_min/workers_max/worker_idle_timeout. The pool
starts at workers_min, grows while every worker is busy (never past
workers_max, in bounded steps), and shrinks back after the idle timeout;
seen from the worker processes and from the status page.
"""
import json
import threading

from warmtest import Cluster, eq, main, ok, wait_for

INI = """
[app]
workers_min = 1
workers_max = 4
worker_idle_timeout = 1s
request_timeout = 30s
status_path = /status

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def pool(c):
    return json.loads(c.get("/status").text)["pool"]


class Load:
    """n clients, each sending requests to path until stopped (or once)."""

    def __init__(self, c, n, path, once=False):
        self.c, self.path, self.once = c, path, once
        self.stop = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(n)]
        for t in self.threads:
            t.start()

    def run(self):
        while True:
            r = self.c.get(self.path, timeout=60)
            with self.lock:
                self.results.append(r)
            if self.once or self.stop.is_set():
                return

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(90)
        return self.results


def test_starts_at_workers_min_and_grows_under_load():
    c = Cluster(INI, "scale").start()
    try:
        first = c.wait_workers(1)
        p = pool(c)
        eq((p["mode"], p["workers"], p["target"]), ("dynamic", 1, 1))
        load = Load(c, 4, "/t/sleep?ms=2500", once=True)
        seen = wait_for(lambda: len(c.workers()) == 4 and c.workers(), 20,
                        "4 workers under 4 slow requests")
        ok(first[0] in seen, "the first worker stays")
        results = load.join()
        eq(sorted(r.status for r in results), [200] * 4)
        c.wait_app(lambda x: "workers busy: starting" in x["message"])
        p = pool(c)
        eq(p["workers_max"], 4)
        ok(p["spawned"] == 4, "no more starts than needed: %r" % p)
        ok(len(c.workers()) <= 4)
        # Back to workers_min once the extra ones idled for 1 s.
        left = wait_for(lambda: len(c.workers()) == 1 and c.workers(), 20,
                        "scale down to 1")
        c.wait_app(lambda x: "idle for" in x["message"])
        p = pool(c)
        eq((p["workers"], p["target"]), (1, 1))
        eq(p["crashed"], 0)
        ok(left[0] in seen, left)
    finally:
        c.stop()


def test_never_more_than_workers_max():
    c = Cluster(INI, "scale-max").start()
    try:
        c.wait_workers(1)
        most = [0]
        done = threading.Event()

        def watch():
            while not done.is_set():
                most[0] = max(most[0], len(c.workers()))
                done.wait(0.02)
        w = threading.Thread(target=watch)
        w.start()
        load = Load(c, 10, "/t/sleep?ms=300")
        wait_for(lambda: len(c.workers()) == 4, 20, "4 workers")
        done.wait(1.5)
        results = load.join()
        done.set()
        w.join()
        eq({r.status for r in results}, {200})
        ok(most[0] <= 4, "at most workers_max workers, saw %d" % most[0])
        p = pool(c)
        ok(p["spawned"] <= 4, "no churn while saturated: %r" % p)
        for rec in c.app_records():
            if "workers busy: starting" in rec["message"]:
                n = int(rec["message"].split("starting ")[1].split()[0])
                ok(1 <= n <= 8, rec["message"])
    finally:
        c.stop()


def test_workers_n_is_a_fixed_pool():
    c = Cluster("""
[app]
workers = 3
worker_idle_timeout = 100ms
status_path = /status

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""", "scale-static").start()
    try:
        w = c.wait_workers(3)
        p = pool(c)
        eq((p["mode"], p["workers"], p["workers_min"], p["workers_max"]),
           ("static", 3, 3, 3))
        threading.Event().wait(0.5)
        eq(c.workers(), w, "idle workers of a fixed pool stay")
    finally:
        c.stop()


main()
