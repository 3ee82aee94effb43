#!/usr/bin/env python3
"""A front end that connects and stops sending (no parameters, or a body
cut short) is cut off after io_timeout: the worker is not pinned and
serves the next good request.
"""
import time

import fcgi
from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 1
io_timeout = 500ms

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    return Cluster(INI, "stall", nginx=False).start()


def teardown(c):
    c.stop()


def test_silent_connection_does_not_pin_the_worker(c):
    idle = fcgi.connect(c.sock)
    try:
        t0 = time.monotonic()
        out = fcgi.call(c.sock, "/t/hello")
        ok(out.endswith(b"hello from testmod\n"), out)
        ok(time.monotonic() - t0 < 30)
        c.wait_app(lambda x: "io_timeout" in x["message"])
    finally:
        idle.close()


def test_body_cut_short_does_not_pin_the_worker(c):
    n0 = len(c.app_records())
    s = fcgi.connect(c.sock)
    try:
        body = fcgi.request_bytes("/t/echo", "POST", b"x" * 100000)
        s.sendall(body[:len(body) // 2])
        out = fcgi.call(c.sock, "/t/hello")
        ok(out.endswith(b"hello from testmod\n"), out)
        c.wait_app(lambda x: "io_timeout" in x["message"] and
                   x not in c.app_records()[:n0])
    finally:
        s.close()
    eq(len(c.workers()), 1)


def test_fcgi_client_round_trip(c):
    out = fcgi.call(c.sock, "/t/echo", method="POST", body=b"abc",
                    extra=[("CONTENT_TYPE", "text/x-test")])
    ok(out.startswith(b"Status: 200 OK\r\n"), out)
    ok(out.endswith(b"\r\n\r\nabc"), out)


main(setup=setup, teardown=teardown)
