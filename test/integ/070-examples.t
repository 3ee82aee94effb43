#!/usr/bin/env python3
"""The examples of examples/, served through nginx."""
import re

from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 2

[handler hello]
url = /hello
module = {build}/examples/hello/hello.so

[handler printenv]
url = /printenv
module = {build}/examples/printenv/printenv.so

[handler request_id]
url = /request_id
module = {build}/examples/request_id/request_id.so

[handler logging]
url = /logging
module = {build}/examples/logging/logging.so

[handler regex]
url = /regex
module = {build}/examples/regex_cache/regex_cache.so
"""


def setup():
    return Cluster(INI, "examples").start()


def teardown(c):
    c.stop()


def test_hello(c):
    eq(c.get("/hello").text, "Hello, World!\n")


def test_printenv(c):
    r = c.post("/printenv?x=1", b"abc")
    e = r.env()
    eq(e["QUERY_STRING"], "x=1")
    ok("-- body: 3 bytes" in r.text)


def test_request_id(c):
    t = c.get("/request_id").text
    ok(re.search(r"^REQUEST_LOG_ID=[0-9a-f]{40}$", t, re.M), t)
    ok(re.search(r"^INSTANCE_ID=[0-9a-f]{32}$", t, re.M), t)
    ok(re.search(r"^CURRENT_VERSION_ID=1\.\d+$", t, re.M), t)


def test_logging(c):
    ok("request_id" in c.get("/logging").text)


def test_regex_cache_compiles_once_per_worker(c):
    served = {}
    for i in range(20):
        t = c.get("/regex?q=user%d@example.com" % i).text
        inst = re.search(r"instance: (\w+)", t).group(1)
        n = int(re.search(r"served by this worker: (\d+)", t).group(1))
        ok("regex compiled: 1 time(s)" in t, t)
        ok("is an e-mail address" in t, t)
        ok(n > served.get(inst, 0), "counter grows per worker")
        served[inst] = n
    ok(sum(served.values()) == 20, served)
    ok("is not an e-mail" in c.get("/regex?q=nope").text)


main(setup=setup, teardown=teardown)
