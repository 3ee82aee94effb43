#!/usr/bin/env python3
"""A module served through nginx: status, body, the environment a handler
sees (App Engine variables, CGI/1.1, [env_variables]), bodies, HEAD, 404.
"""
import re
import time

from warmtest import Cluster, build, eq, main, ok

INI = """
[app]
version = 7
auth_domain = example.com
workers = 2
request_timeout = 30s

[env_variables]
DJANGO_SETTINGS_MODULE = myapp.settings

[handler hello]
url = /hello
module = {build}/examples/hello/hello.so

[handler printenv]
url = /printenv
module = {build}/examples/printenv/printenv.so

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    return Cluster(INI, "serve").start()


def teardown(c):
    c.stop()


def test_hello_world(c):
    r = c.get("/hello")
    eq(r.status, 200)
    eq(r.body, b"Hello, World!\n")
    eq(r.header("Content-Type"), "text/plain; charset=utf-8")
    eq(r.header("Content-Length"), "14")


def test_unknown_path_is_404(c):
    r = c.get("/nothing/here")
    eq(r.status, 404)
    ok(b"Not Found" in r.body)
    rec = c.wait_access(lambda x: x["path"] == "/nothing/here")[0]
    eq(rec["status"], 404)
    eq(rec["handler"], None)


def test_app_engine_environment(c):
    t0 = int(time.time() * 1000)
    e = c.get("/printenv?a=1&b=two").env()
    ok(re.fullmatch(r"7\.\d+", e["CURRENT_VERSION_ID"]), e.get(
        "CURRENT_VERSION_ID"))
    ok(re.fullmatch(r"[0-9a-f]{32,64}", e["INSTANCE_ID"]), e["INSTANCE_ID"])
    ok(re.fullmatch(r"[0-9a-f]{40}", e["REQUEST_LOG_ID"]))
    start_us = int(e["REQUEST_LOG_ID"][:16], 16)
    ok(abs(start_us // 1000 - t0) < 5000, "REQUEST_LOG_ID starts with the "
       "start time")
    deadline = int(e["REQUEST_DEADLINE"])
    ok(25000 < deadline - t0 < 35000, "REQUEST_DEADLINE is start + 30s")
    eq(e["SERVER_SOFTWARE"], "warmcgi/0.1.0")
    eq(e["AUTH_DOMAIN"], "example.com")
    eq(e["DJANGO_SETTINGS_MODULE"], "myapp.settings")
    eq(e["GATEWAY_INTERFACE"], "CGI/1.1")
    eq(e["REQUEST_METHOD"], "GET")
    eq(e["QUERY_STRING"], "a=1&b=two")
    eq(e["SCRIPT_NAME"], "/printenv")
    ok("PATH_INFO" not in e, "no PATH_INFO for an exact url")
    ok("HTTP_HOST" in e and "SERVER_PROTOCOL" in e)


def test_prefix_handler_gets_path_info(c):
    e = c.get("/t/env").env()
    eq(e["SCRIPT_NAME"], "/t")
    eq(e["PATH_INFO"], "/env")
    eq(e["SCRIPT_FILENAME"], build("test/handlers/testmod.so"))
    ok(e["QUERY_STRING"] == "", "QUERY_STRING is always set")


def test_request_ids_unique_and_ordered(c):
    ids = [c.get("/printenv").env()["REQUEST_LOG_ID"] for _ in range(30)]
    eq(len(set(ids)), 30, "unique ids")
    eq(ids, sorted(ids), "ids sort by start time")


def test_instance_id_per_worker(c):
    seen = {}
    for _ in range(40):
        e = c.get("/t/global").text
        pid = re.search(r"pid=(\d+)", e).group(1)
        iid = c.get("/printenv").env()["INSTANCE_ID"]
        seen.setdefault(pid, set())
        seen.setdefault("iids", set()).add(iid)
    ok(len(seen["iids"]) <= 2, "one INSTANCE_ID per worker (2 workers)")


def test_post_body_reaches_stdin(c):
    body = bytes(range(256)) * 4096
    r = c.post("/t/echo", body, headers={"Content-Type": "app/x-test"})
    eq(r.status, 200)
    eq(r.header("Content-Type"), "app/x-test")
    eq(len(r.body), len(body))
    ok(r.body == body, "echoed bytes identical")
    e = c.post("/printenv", b"x" * 1000,
               headers={"Content-Type": "text/plain"}).env()
    eq(e["CONTENT_LENGTH"], "1000")
    eq(e["CONTENT_TYPE"], "text/plain")
    eq(e["REQUEST_METHOD"], "POST")
    ok("-- body: 1000 bytes" in c.post("/printenv", b"x" * 1000).text)


def test_empty_post_and_get_have_no_content_length(c):
    e = c.get("/printenv").env()
    ok("CONTENT_LENGTH" not in e and "CONTENT_TYPE" not in e)


def test_head_has_headers_but_no_body(c):
    r = c.request("HEAD", "/hello")
    eq(r.status, 200)
    eq(r.body, b"")
    eq(r.header("Content-Length"), "14")


def test_status_and_reason_from_handler(c):
    r = c.get("/t/status?code=201")
    eq(r.status, 201)
    eq(r.reason, "Custom Reason")
    eq(r.body, b"status body\n")


def test_access_log_record(c):
    c.get("/hello?x=1", headers={"User-Agent": "warmtest/1"})
    rec = c.wait_access(lambda x: x["path"] == "/hello" and
                        x["query"] == "x=1")[0]
    eq(rec["method"], "GET")
    eq(rec["status"], 200)
    eq(rec["bytes"], 14)
    eq(rec["handler"], "hello")
    eq(rec["user_agent"], "warmtest/1")
    ok(isinstance(rec["duration_ms"], float) and rec["duration_ms"] >= 0)
    ok(re.fullmatch(r"[0-9a-f]{40}", rec["request_id"]))
    ok(re.fullmatch(r"7\.\d+", rec["version"]))
    ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rec["time"]))


main(setup=setup, teardown=teardown)
