#!/usr/bin/env python3
"""examples/search: a frontend that shortens its own deadline, keeps the
client address as a request value and calls a slow backend through nginx
with the time left (libcurl); the backend call stops at the deadline.
"""
import os
import re

from warmtest import Cluster, Skip, build, eq, main, ok

INI = """
[app]
workers = 3
request_timeout = 10s

[env_variables]
SEARCH_BACKEND = http://localhost/search/backend
SEARCH_BACKEND_SOCKET = {dir}/nginx.sock

[handler backend]
url = /search/backend
module = {build}/examples/search/search.so

[handler search]
url = /search
module = {build}/examples/search/search.so
"""


def setup():
    if not os.path.exists(build("examples/search/search.so")):
        return None
    return Cluster(INI, "search").start()


def teardown(c):
    if c:
        c.stop()


def test_results_within_the_timeout(c):
    if c is None:
        raise Skip("built without libcurl")
    r = c.get("/search?q=golang&timeout=2s&delay=100ms")
    eq(r.status, 200)
    ok(re.search(r'Results for "golang" \(userip unix:\), in \d+ ms:', r.text),
       r.text)
    ok("Go Concurrency Patterns: Context" in r.text, r.text)


def test_backend_call_stops_at_the_deadline(c):
    if c is None:
        raise Skip("built without libcurl")
    r = c.get("/search?q=golang&timeout=300ms&delay=5s")
    eq(r.status, 504)
    ok("deadline exceeded" in r.text, r.text)
    ms = int(re.search(r"after (\d+) ms", r.text).group(1))
    ok(ms < 4000, "stopped well before the backend's 5 s (%d ms)" % ms)
    # The backend learns that its client (the frontend) went away.
    c.wait_app(lambda x: x["handler"] == "backend" and
               x["message"] == "backend: request canceled", 15)
    c.wait_access(lambda x: x["path"] == "/search/backend" and
                  x["status"] == 499)


def test_usage(c):
    if c is None:
        raise Skip("built without libcurl")
    eq(c.get("/search").status, 400)


main(setup=setup, teardown=teardown)
