#!/usr/bin/env python3
"""Limits with the statuses of DESIGN.md: a body over max_request_size is
413 and the handler does not run; a header field over max_header_size is
400; a request that waited longer than pending_timeout for a worker is
503 and the handler does not run.
"""
import threading

from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 1
max_request_size = 1M
max_header_size = 1K
pending_timeout = 300ms

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler small]
url = /small/
module = {build}/test/handlers/testmod.so
max_request_size = 10K
"""


def setup():
    return Cluster(INI, "limits").start()


def teardown(c):
    c.stop()


def handler_ran(c, rid):
    return [x for x in c.app_records() if x["request_id"] == rid and
            x["message"] in ("first line", "sleep started pid=%d" % 0)]


def test_body_over_max_request_size_is_413(c):
    r = c.post("/t/stderr", b"x" * (1024 * 1024 + 1))
    eq(r.status, 413)
    rec = c.wait_access(lambda x: x["status"] == 413)[0]
    ok(not [x for x in c.app_records() if x["request_id"] ==
            rec["request_id"] and x["message"] == "first line"],
       "the handler must not run")
    eq(c.post("/t/echo", b"y" * (1024 * 1024)).status, 200)


def test_per_handler_request_limit(c):
    eq(c.post("/small/echo", b"x" * 10241).status, 413)
    eq(c.post("/small/echo", b"x" * 10240).status, 200)


def test_chunked_body_over_limit_is_413(c):
    def chunks():
        for _ in range(20):
            yield b"z" * 65536
    r = c.request("POST", "/t/echo", body=chunks(),
                  headers={"Transfer-Encoding": "chunked"}, chunked=True)
    eq(r.status, 413)
    r = c.request("POST", "/t/echo", body=iter([b"a" * 1000, b"b" * 24]),
                  headers={"Transfer-Encoding": "chunked"}, chunked=True)
    eq(r.status, 200)
    eq(r.body, b"a" * 1000 + b"b" * 24)


def test_header_over_max_header_size_is_400(c):
    r = c.get("/t/hello", headers={"X-Big": "a" * 1025})
    eq(r.status, 400)
    eq(c.get("/t/hello", headers={"X-Big": "a" * 1024}).status, 200)


def test_waiting_too_long_for_a_worker_is_503(c):
    slow = {}

    def run():
        slow["r"] = c.get("/t/sleep?ms=1200")
    t = threading.Thread(target=run)
    t.start()
    c.wait_app(lambda x: x["message"].startswith("sleep started"))
    r = c.get("/t/stderr")      # queued behind the slow one
    t.join(30)
    eq(slow["r"].status, 200)
    eq(r.status, 503)
    rec = c.wait_access(lambda x: x["status"] == 503)[0]
    ok(not [x for x in c.app_records() if x["request_id"] ==
            rec["request_id"] and x["message"] == "first line"],
       "the handler must not run")
    c.wait_app(lambda x: "for a worker" in x["message"])
    eq(c.get("/t/stderr").status, 200, "not shed without a queue")


main(setup=setup, teardown=teardown)
