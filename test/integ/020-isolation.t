#!/usr/bin/env python3
"""Isolation between requests: environ holds only this request's variables
(nothing from the previous request, nothing of the host's own
environment), a client Proxy: header never becomes HTTP_PROXY even when
nginx passes it, duplicate headers arrive merged, request values are
released, and each worker keeps its own module globals.
"""
import re

from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 1

[handler printenv]
url = /printenv
module = {build}/examples/printenv/printenv.so

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    # nginx here does NOT blank HTTP_PROXY: the host itself must drop it.
    c = Cluster(INI, "iso", workers_env={"WARMCGI_HOST_SECRET": "leak"})
    c.nginx_conf_orig = c.nginx_conf
    c.nginx_conf = lambda: c.nginx_conf_orig().replace(
        'fastcgi_param HTTP_PROXY "";', "")
    return c.start()


def teardown(c):
    c.stop()


def test_nothing_left_from_the_previous_request(c):
    for i in range(50):
        h = {"Authorization": "Bearer secret-%d" % i, "Cookie": "s=%d" % i,
             "X-Only-Once": str(i)} if i % 2 == 0 else {}
        e = c.get("/printenv?i=%d" % i, headers=h).env()
        eq(e["QUERY_STRING"], "i=%d" % i)
        if i % 2 == 0:
            eq(e["HTTP_AUTHORIZATION"], "Bearer secret-%d" % i)
            eq(e["HTTP_COOKIE"], "s=%d" % i)
        else:
            for k in ("HTTP_AUTHORIZATION", "HTTP_COOKIE",
                      "HTTP_X_ONLY_ONCE"):
                ok(k not in e, "%s leaked into request %d" % (k, i))


def test_host_environment_not_visible(c):
    e = c.get("/printenv").env()
    ok("WARMCGI_HOST_SECRET" not in e, "host env leaked")
    ok("PATH" not in e and "HOME" not in e, "host env leaked")


def test_httpoxy(c):
    r = c.get("/printenv", headers={"Proxy": "http://evil.example:8080"})
    e = r.env()
    ok("HTTP_PROXY" not in e, "HTTP_PROXY must never be set")


def test_duplicate_headers_merged(c):
    # http.client sends repeated headers when given a list of tuples.
    import http.client
    from warmtest import UnixHTTPConnection
    conn = UnixHTTPConnection(c.http_sock)
    conn.putrequest("GET", "/t/env")
    conn.putheader("Cookie", "a=1")
    conn.putheader("X-Dup", "one")
    conn.putheader("Cookie", "b=2")
    conn.putheader("X-Dup", "two")
    conn.endheaders()
    body = conn.getresponse().read().decode()
    conn.close()
    lines = body.splitlines()
    eq([x for x in lines if x.startswith("HTTP_COOKIE=")], ["HTTP_COOKIE="
       "a=1; b=2"])
    eq([x for x in lines if x.startswith("HTTP_X_DUP=")],
       ["HTTP_X_DUP=one, two"])
    ok(http.client)


def test_values_released_between_requests(c):
    r = c.get("/t/value?set=abc").text
    ok("before=(none)" in r and "after=abc" in r, r)
    r = c.get("/t/value").text
    ok("before=(none)" in r and "after=(none)" in r, r)


def test_module_globals_persist_per_worker(c):
    hits = [int(re.search(r"hits=(\d+)", c.get("/t/global").text).group(1))
            for _ in range(5)]
    eq(hits, list(range(hits[0], hits[0] + 5)))


main(setup=setup, teardown=teardown)
