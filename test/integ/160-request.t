#!/usr/bin/env python3
"""warmcgi --request: one request through the worker's pipeline in a
single process, no nginx, no socket. For GET, POST and header fields,
with the body given as text, from a file or from stdin, for module, CGI
and static handlers, over the limits, through gzip, crashes and
deadlines, it gives the status codes and header fields nginx gives with
the same config; the log records go to stderr; the exit status is 0
whenever a response was printed.
"""
import gzip
import os
import tempfile

from cgitest import request
from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 2
max_request_size = 1M
max_header_size = 1K
max_response_size = 100K
request_timeout = 20s

[handler hello]
url = /hello
module = {build}/examples/hello/hello.so

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler slow]
url = /slow/
module = {build}/test/handlers/testmod.so
timeout = 300ms
deadline_grace = 300ms

[handler cgi]
url = /cgi/
cgi = {dir}/cgi

[handler static]
url = /static/
static_dir = {dir}/static
"""

ECHO_SH = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\nX-Script: yes\\r\\n\\r\\n'
echo "method=$REQUEST_METHOD path_info=$PATH_INFO query=$QUERY_STRING"
cat
"""

# Header fields only nginx adds, or whose value is the clock's.
NGINX_ONLY = {"server", "date", "connection", "transfer-encoding"}
CLOCK = {"expires"}


def setup():
    c = Cluster(INI, "request")
    os.makedirs(c.path("cgi"))
    os.makedirs(c.path("static"))
    with open(c.path("cgi", "echo.sh"), "w") as f:
        f.write(ECHO_SH)
    os.chmod(c.path("cgi", "echo.sh"), 0o755)
    with open(c.path("static", "a.txt"), "w") as f:
        f.write("static text\n" * 100)
    with open(c.path("static", "b.css"), "w") as f:
        f.write("body { color: red }\n")
    return c.start()


def teardown(c):
    c.stop()


def headers(r, skip=()):
    out = []
    for k, v in r.headers:
        k = k.lower()
        if k in NGINX_ONLY or k in skip:
            continue
        out.append((k, "(set)" if k in CLOCK else v))
    return sorted(out)


def both(c, line, hdrs=(), body=None, compare_body=True):
    """The same request through nginx and through --request."""
    parts = line.split(" ")
    method, target = (parts if len(parts) == 2 else ["GET", parts[0]])
    hdrs = list(hdrs)
    if not any(h.lower().startswith("accept-encoding:") for h in hdrs):
        hdrs.append("Accept-Encoding: identity")  # what http.client sends
    data = None
    if body is not None:
        fd, data_file = tempfile.mkstemp(prefix="warmcgi-data-")
        os.write(fd, body)
        os.close(fd)
        data = "@" + data_file
    try:
        res = request(c.ini, line, hdrs, data)
    finally:
        if data:
            os.unlink(data_file)
    eq(res.rc, 0, "exit status of --request %s: %s" % (line, res.stderr))
    cli = res.response
    hd = dict(h.split(": ", 1) for h in hdrs)
    if body is not None:
        hd.setdefault("Content-Type", "application/x-www-form-urlencoded")
    ngx = c.request(method, target, body=body, headers=hd)
    eq(cli.status, ngx.status, line)
    eq(cli.reason, ngx.reason, line)
    skip = () if compare_body else ("content-length",)
    eq(headers(cli, skip), headers(ngx, skip), line)
    if compare_body:
        ok(cli.body == ngx.body, "%s: bodies differ: %r... != %r..." % (
            line, cli.body[:100], ngx.body[:100]))
    return cli, ngx, res


def test_module_responses_match_nginx(c):
    for line in ("GET /hello", "GET /t/status?code=201", "GET /t/nph",
                 "GET /t/clientredirect", "GET /t/redirect", "GET /nothing",
                 "HEAD /hello", "GET /t/raw", "GET /t/exit?code=3",
                 "DELETE /t/status?code=204"):
        both(c, line)
    cli, _, _ = both(c, "GET /t/status?code=418")
    eq(cli.status, 418)
    eq(cli.reason, "Custom Reason")


def test_gzip_matches_nginx(c):
    cli, ngx, _ = both(c, "GET /t/bigbody?n=5000",
                       ["Accept-Encoding: gzip, deflate"])
    eq(cli.header("Content-Encoding"), "gzip")
    eq(gzip.decompress(cli.body), gzip.decompress(ngx.body))
    cli, _, _ = both(c, "GET /t/bigbody?n=5000",
                     ["Accept-Encoding: gzip", "User-Agent: gzip"])
    eq(cli.header("Content-Encoding"), "gzip")
    both(c, "GET /t/bigbody?n=10")


def test_post_body_from_a_file_matches_nginx(c):
    body = bytes(range(256)) * 300
    cli, _, _ = both(c, "POST /t/echo", ["Content-Type: application/x-bin"],
                     body)
    ok(cli.body == body, "echoed body")
    eq(cli.header("Content-Type"), "application/x-bin")


def test_post_body_from_stdin_and_text(c):
    res = request(c.ini, "POST /t/echo", ["Content-Type: text/plain"],
                  "-", stdin=b"from stdin\n" * 1000)
    eq(res.rc, 0)
    eq(res.response.body, b"from stdin\n" * 1000)
    res = request(c.ini, "/t/echo", data="a=1&b=2")
    eq(res.response.status, 200)
    eq(res.response.body, b"a=1&b=2")
    eq(res.response.header("Content-Type"),
       "application/x-www-form-urlencoded")
    res = request(c.ini, "PUT /t/readpast", data="")
    eq(res.response.body, b"read 0 then 0\n")


def test_cgi_handler_matches_nginx(c):
    cli, _, _ = both(c, "GET /cgi/echo.sh/more/path?x=1")
    eq(cli.body, b"method=GET path_info=/more/path query=x=1\n")
    cli, _, _ = both(c, "POST /cgi/echo.sh", ["Content-Type: text/plain"],
                     b"posted to a script\n")
    eq(cli.body, b"method=POST path_info= query=\nposted to a script\n")
    both(c, "GET /cgi/missing.sh")


def test_static_handler_matches_nginx(c):
    cli, _, _ = both(c, "GET /static/a.txt")
    ok(cli.header("ETag") and cli.header("Last-Modified") and
       cli.header("Cache-Control") and cli.header("Expires"), cli.headers)
    both(c, "GET /static/a.txt", ["Accept-Encoding: gzip"],
         compare_body=False)
    both(c, "HEAD /static/b.css")
    both(c, "GET /static/a.txt", ["If-None-Match: " + cli.header("ETag")])
    both(c, "GET /static/missing.txt")
    both(c, "GET /static/../warmcgi.ini")


def test_limits_match_nginx(c):
    cli, _, res = both(c, "POST /t/stderr", body=b"x" * (1024 * 1024 + 1))
    eq(cli.status, 413)
    ok(not [r for r in res.app() if r["message"] == "first line"],
       "the handler must not run")
    eq(both(c, "GET /t/hello", ["X-Big: " + "a" * 1025])[0].status, 400)
    eq(both(c, "GET /t/bigheader?n=10000")[0].status, 502)
    eq(both(c, "GET /t/bigbody?n=200000")[0].status, 500)
    eq(both(c, "GET /t/malformed")[0].status, 502)
    eq(both(c, "GET /t/empty")[0].status, 502)


def test_crash_is_a_clean_500_and_exit_0(c):
    res = request(c.ini, "GET /t/crash")
    eq(res.rc, 0)
    eq(res.response.status, 500)
    ok(b"Internal Server Error" in res.response.body)
    ok(b"partial output" not in res.response.body)
    crash = [r for r in res.app() if r.get("signal") == "SIGSEGV"]
    ok(crash and crash[0]["message"] == "handler crashed", res.stderr)
    ok(any("testmod.so" in f for f in crash[0]["backtrace"]))
    eq(res.access()[0]["status"], 500)
    eq(both(c, "GET /t/abort")[0].status, 500)


def test_deadline_then_hard_deadline(c):
    res = request(c.ini, "GET /slow/sleep?ms=5000")
    eq(res.rc, 0)
    eq(res.response.status, 200)
    ok(b"errno=EINTR err=deadline" in res.response.body,
       res.response.body)
    res = request(c.ini, "GET /slow/ignore")
    eq(res.rc, 0)
    eq(res.response.status, 500)
    ok(any("hard deadline" in r["message"] for r in res.app()),
       res.stderr)
    ok(res.access()[0]["duration_ms"] >= 500, res.access())


def test_environment_matches_nginx(c):
    hdrs = ["X-Test: one", "Cookie: a=1; b=2", "Proxy: evil",
            "Content-Type: text/csv", "Accept-Encoding: identity"]
    cli, ngx, _ = both(c, "POST /t/env?a=1&b=%20", hdrs, b"x=1",
                       compare_body=False)
    ce, ne = cli.env(), ngx.env()
    for k in ("REQUEST_METHOD", "QUERY_STRING", "SCRIPT_NAME", "PATH_INFO",
              "REQUEST_URI", "DOCUMENT_URI", "SERVER_PROTOCOL",
              "REQUEST_SCHEME", "CONTENT_TYPE", "CONTENT_LENGTH",
              "HTTP_X_TEST", "HTTP_HOST", "HTTP_COOKIE", "GATEWAY_INTERFACE",
              "SERVER_SOFTWARE", "SCRIPT_FILENAME", "SERVER_NAME"):
        eq(ce.get(k), ne.get(k), k)
    for k in ("CURRENT_VERSION_ID", "INSTANCE_ID", "REQUEST_LOG_ID",
              "REQUEST_DEADLINE"):
        ok(ce.get(k), k)
    ok("HTTP_PROXY" not in ce and "HTTP_PROXY" not in ne)
    eq(ce["REMOTE_ADDR"], "127.0.0.1")
    # A field given twice arrives merged, as nginx's duplicates do.
    res = request(c.ini, "/t/env", ["Cookie: a=1", "Cookie: b=2",
                                    "X-A: 1", "X-A: 2"])
    env = res.response.env()
    eq((env["HTTP_COOKIE"], env["HTTP_X_A"]), ("a=1; b=2", "1, 2"))


def test_log_records_go_to_stderr(c):
    res = request(c.ini, "GET /t/stderr")
    eq(res.rc, 0)
    msgs = [(r["level"], r["message"]) for r in res.app()]
    ok(("INFO", "first line") in msgs and ("ERROR", "second line") in msgs,
       msgs)
    acc = res.access()
    eq(len(acc), 1)
    eq((acc[0]["path"], acc[0]["status"]), ("/t/stderr", 200))
    rid = acc[0]["request_id"]
    ok(all(r["request_id"] == rid for r in res.app()))
    ok(not [r for r in c.app_records() if r.get("request_id") == rid],
       "the configured log is not written")


def test_usage_errors(c):
    for line, hdrs, data, rc, text in (
            ("get /x", (), None, 2, "uppercase method"),
            ("GET x", (), None, 2, "/path"),
            ("GET /../x", (), None, 2, "climbs above"),
            ("GET /x", ("no colon",), None, 2, "Name: value"),
            ("POST /x", ("Content-Length: 3",), "abc", 2, "Content-Length"),
            ("POST /x", (), "@/nonexistent/file", 1, "No such file")):
        res = request(c.ini, line, hdrs, data)
        eq(res.rc, rc, line)
        ok(text in res.stderr, res.stderr)
        eq(res.stdout, b"")


main(setup=setup, teardown=teardown)
