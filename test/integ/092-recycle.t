#!/usr/bin/env python3
"""Recycling: max_requests (with its jitter) and max_worker_memory replace
a worker after the request that crossed the limit, and no request fails.
"""
import json
import os
import threading

from warmtest import Cluster, Skip, eq, main, ok, wait_for

INI = """
[app]
workers = 1
max_requests = 5
status_path = /status

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def hits(c):
    """(hits, pid) from /t/global: a module global each worker keeps."""
    r = c.get("/t/global")
    eq(r.status, 200, r.text)
    f = dict(x.split("=") for x in r.text.split())
    return int(f["hits"]), int(f["pid"])


def pool(c):
    return json.loads(c.get("/status").text)["pool"]


def test_max_requests_replaces_the_worker():
    c = Cluster(INI, "recycle").start()
    try:
        seen = [hits(c) for _ in range(20)]
        pids = []
        for n, pid in seen:
            if pid not in pids:
                pids.append(pid)
        eq(len(pids), 4, "a new worker every 5 requests: %r" % seen)
        eq([n for n, _ in seen], [1, 2, 3, 4, 5] * 4)
        wait_for(lambda: pool(c)["recycled"] >= 4, 10, "4 recycled")
        p = pool(c)
        eq((p["crashed"], p["workers"]), (0, 1))
        ok(not any("dying young" in r["message"] for r in c.app_records()),
           "recycling is not a crash loop")
    finally:
        c.stop()


def test_max_requests_under_concurrent_load_fails_nothing():
    c = Cluster(INI.replace("workers = 1", "workers = 2")
                .replace("max_requests = 5", "max_requests = 10"),
                "recycle-load").start()
    try:
        statuses = []
        lock = threading.Lock()

        def client():
            for _ in range(30):
                s = c.get("/t/hello").status
                with lock:
                    statuses.append(s)
        ts = [threading.Thread(target=client) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        eq(len(statuses), 120)
        eq(set(statuses), {200})
        wait_for(lambda: pool(c)["recycled"] >= 10, 10, "recycled workers")
    finally:
        c.stop()


def test_max_requests_has_jitter():
    c = Cluster(INI.replace("max_requests = 5", "max_requests = 40"),
                "recycle-jitter").start()
    try:
        last = {}
        for _ in range(200):
            n, pid = hits(c)
            last[pid] = n
        done = list(last.values())[:-1]   # the last worker goes on
        ok(len(done) >= 4, last)
        ok(all(36 <= n <= 40 for n in done),
           "between 90%% and 100%% of max_requests: %r" % done)
    finally:
        c.stop()


def rss(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_max_worker_memory_replaces_a_grown_worker():
    c = Cluster(INI.replace("max_requests = 5", "max_worker_memory = 200M"),
                "recycle-mem").start()
    try:
        pid = c.wait_workers(1)[0]
        if rss(pid) > 100 << 20:
            raise Skip("a worker starts at %d MB here (sanitizers?)"
                       % (rss(pid) >> 20))
        r = c.get("/t/grow?mb=40")
        eq(r.status, 200)
        eq(hits(c)[1], pid, "40 MB more stays under the limit")
        r = c.get("/t/grow?mb=200")
        eq(r.status, 200, "the request that crosses the limit succeeds")
        ok("pid=%d" % pid in r.text)
        c.wait_app(lambda x: "max_worker_memory" in x["message"])
        n, new = hits(c)
        ok(new != pid, "replaced after its request")
        eq(n, 1)
        p = pool(c)
        eq((p["recycled"], p["crashed"]), (1, 0))
        workers = json.loads(c.get("/status").text)["workers"]
        ok(all(0 < w["rss_bytes"] < 200 << 20 for w in workers), workers)
    finally:
        c.stop()


main()
