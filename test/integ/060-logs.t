#!/usr/bin/env python3
"""Logs: a handler's stderr lines become JSON records of its request with
levels from their prefixes, in the order written; wc_log() records; the
access log has one line per request; untrusted text stays valid JSON;
access records a busy worker gathers are not held back by a slow request.
"""
import threading
import time

from warmtest import Cluster, eq, main, ok, wait_for

INI = """
[app]
workers = 2

[handler logging]
url = /logging
module = {build}/examples/logging/logging.so

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    return Cluster(INI, "logs").start()


def teardown(c):
    c.stop()


def records_of(c, path):
    rid = c.wait_access(lambda x: x["path"] == path)[-1]["request_id"]
    return [x for x in c.app_records() if x["request_id"] == rid]


def test_levels_from_prefixes_in_order(c):
    eq(c.get("/logging").status, 200)
    recs = records_of(c, "/logging")
    eq([(x["level"], x["message"]) for x in recs], [
        ("DEBUG", "a debug line"), ("INFO", "an info line"),
        ("WARNING", "a warning line"), ("ERROR", "an error line"),
        ("CRITICAL", "a critical line"),
        ("ERROR", "cannot read /nonexistent/config.json: No such file or "
         "directory")])
    for x in recs:
        eq(x["handler"], "logging")
        ok(len(x["instance_id"]) == 32 and x["version"].startswith("1."))
        for k in ("time", "level", "request_id", "instance_id", "version",
                  "handler", "message"):
            ok(k in x, k)


def test_syslog_prefix_and_no_prefix(c):
    c.get("/t/stderr")
    recs = records_of(c, "/t/stderr")
    eq([(x["level"], x["message"]) for x in recs], [
        ("INFO", "first line"), ("ERROR", "second line"),
        ("WARNING", "syslog warning"), ("INFO", "no prefix here")])


def test_untrusted_bytes_stay_valid_json(c):
    c.get("/t/stderrjunk")
    recs = records_of(c, "/t/stderrjunk")
    eq(recs[0]["level"], "WARNING")
    eq(recs[0]["message"], "bad \ufffd\x01 \"q\" \\ end")
    eq(recs[1]["message"], "partial")


def test_one_access_record_per_request(c):
    before = len(c.access_records())
    for i in range(25):
        c.get("/t/hello?n=%d" % i)
    c.wait_access(lambda x: x["query"] == "n=24")
    eq(len(c.access_records()) - before, 25)


def test_slow_request_does_not_hold_back_records(c):
    # One worker: a 300 ms request keeps it busy while ten fast ones
    # queue; it serves them back to back, gathering their access
    # records, then a 4 s request. The records of the fast requests
    # served before the slow one started must appear while it runs.
    one = Cluster(INI.replace("workers = 2", "workers = 1"), "logs1").start()
    try:
        done = {}

        def get(path):
            one.get(path)
            done[path] = time.monotonic()

        def started():
            return [x for x in one.app_records()
                    if x["message"].startswith("sleep started")]
        busy = threading.Thread(target=get, args=("/t/sleep?ms=300",))
        busy.start()
        wait_for(lambda: len(started()) == 1, 10, "the busy request")
        fast = [threading.Thread(target=get, args=("/t/hello?q=%d" % i,))
                for i in range(10)]
        for t in fast:
            t.start()
        slow = threading.Thread(target=get, args=("/t/sleep?ms=4000",))
        slow.start()
        wait_for(lambda: len(started()) == 2, 10, "the slow request")
        # One worker serves in order: these were answered before it.
        before = {p.split("=")[1] for p in list(done) if "hello" in p}
        wait_for(lambda: before <= {r["query"].split("=")[1] for r in
                                    one.access_records()
                                    if r["path"] == "/t/hello"},
                 3, "the records of %d fast requests" % len(before))
        ok("/t/sleep?ms=4000" not in done, "the slow request still runs")
        for t in fast + [busy, slow]:
            t.join(30)
        wait_for(lambda: len(one.access_records()) == 12, 10,
                 "12 access records")
    finally:
        one.stop()


def test_host_records(c):
    recs = c.app_records()
    ok(any(x["message"].startswith("warmcgi 0.1.0 serving") for x in recs))
    ok(all(x["request_id"] is None for x in recs
           if x["message"].startswith("warmcgi 0.1.0 serving")))


main(setup=setup, teardown=teardown)
