#!/usr/bin/env python3
"""Regression: the watchdog polls the connection of a request older than
5 ms; that poll holds the socket, so a plain close() did not close the
connection until the poll timed out, and nginx (keep-conn off) held the
response until then (50 ms per request). With the watchdog's tick set to
10 s, a request that takes 50 ms must still be answered at once.
"""
import time

from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 1

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    return Cluster(INI, "wdclose",
                   workers_env={"WARMCGI_WATCHDOG_TICK_MS": "10000"}).start()


def teardown(c):
    c.stop()


def test_slow_request_answered_without_waiting_for_the_watchdog(c):
    for _ in range(3):
        t0 = time.monotonic()
        r = c.get("/t/sleep?ms=50")
        dt = time.monotonic() - t0
        eq(r.status, 200)
        ok(dt < 5.0, "answered after %.1f s: waited for the watchdog" % dt)


main(setup=setup, teardown=teardown)
