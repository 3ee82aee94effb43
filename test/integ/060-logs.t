#!/usr/bin/env python3
"""Logs: a handler's stderr lines become JSON records of its request with
levels from their prefixes, in the order written; wc_log() records; the
access log has one line per request; untrusted text stays valid JSON.
"""
from warmtest import Cluster, eq, main, ok

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


def test_host_records(c):
    recs = c.app_records()
    ok(any(x["message"].startswith("warmcgi 0.1.0 serving") for x in recs))
    ok(all(x["request_id"] is None for x in recs
           if x["message"].startswith("warmcgi 0.1.0 serving")))


main(setup=setup, teardown=teardown)
