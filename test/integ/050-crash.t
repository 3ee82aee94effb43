#!/usr/bin/env python3
"""A handler that crashes costs its own request a 500 (not 502, not a
hang), with a record naming the signal, the request and a symbolized
backtrace; its worker is replaced and a request in another worker is
untouched.
"""
import threading

from warmtest import Cluster, eq, main, ok, wait_for

INI = """
[app]
workers = 2

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    return Cluster(INI, "crash").start()


def teardown(c):
    c.stop()


def crash_case(c, path, signame):
    before = c.wait_workers(2)
    slow = {}

    def run():
        slow["r"] = c.get("/t/sleep?ms=800")
    t = threading.Thread(target=run)
    t.start()
    c.wait_app(lambda x: x["message"].startswith("sleep started") and
               x.get("_seen") is None and x not in crash_case.seen)
    r = c.get(path)
    eq(r.status, 500, path)
    ok(b"Internal Server Error" in r.body)
    ok(b"partial output" not in r.body)
    rec = c.wait_access(lambda x: x["path"] == path and x["status"] == 500)
    rid = rec[-1]["request_id"]
    crash = c.wait_app(lambda x: x["request_id"] == rid and
                       x.get("signal") == signame)[0]
    eq(crash["level"], "CRITICAL")
    eq(crash["handler"], "t")
    ok("handler crashed" in crash["message"])
    ok(any("testmod.so" in f for f in crash["backtrace"]),
       crash["backtrace"])
    t.join(30)
    eq(slow["r"].status, 200, "the other worker's request")
    ok("slept" in slow["r"].text)
    after = c.wait_workers(2)
    ok(set(before) != set(after), "crashed worker replaced")
    eq(c.get("/t/hello").status, 200)
    crash_case.seen.extend(c.app_records())


crash_case.seen = []


def test_segfault(c):
    crash_case(c, "/t/crash", "SIGSEGV")
    crash = c.wait_app(lambda x: x.get("signal") == "SIGSEGV")[0]
    ok(any("main" in f for f in crash["backtrace"]), "symbolized frames")


def test_abort(c):
    crash_case(c, "/t/abort", "SIGABRT")


def test_divide_by_zero(c):
    crash_case(c, "/t/fpe", "SIGFPE")


def test_stack_overflow(c):
    crash_case(c, "/t/stackoverflow", "SIGSEGV")


def test_master_logs_the_death(c):
    wait_for(lambda: [x for x in c.app_records()
                      if "died of signal" in x["message"]], 10, "log")


main(setup=setup, teardown=teardown)
