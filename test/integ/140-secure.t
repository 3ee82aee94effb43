#!/usr/bin/env python3
"""`secure = always | never | optional` per handler, answered by warmcgi
before the handler runs: plain HTTP (no HTTPS param from nginx) goes to
https and https to plain HTTP, with 301 for GET and HEAD and 308 for other
methods (method and body kept); the Location keeps the raw request URI
and drops the port; HSTS and http_header lines come with the redirect.
This nginx says "HTTPS on" when the test sends X-Test-Https: on, as
nginx's stock fastcgi_params do over TLS.
"""
from warmtest import Cluster, eq, fcgi_request, main, ok

INI = """
[app]
workers = 2
hsts = max-age=600

[handler always]
url = /always/
module = {build}/test/handlers/respmod.so
secure = always
http_header = X-Frame-Options: DENY

[handler never]
url = /never/
module = {build}/test/handlers/respmod.so
secure = never

[handler optional]
url = /optional/
module = {build}/test/handlers/respmod.so
secure = optional

[handler files]
url = /files/
static_dir = .
secure = always
"""

TLS = {"X-Test-Https": "on"}


def setup():
    return Cluster(INI, "secure", location_extra=(
        "fastcgi_param HTTPS $http_x_test_https if_not_empty;")).start()


def teardown(c):
    c.stop()


def test_always_redirects_plain_http(c):
    r = c.get("/always/method?a=1&b=%2F%20x")
    eq(r.status, 301)
    eq(r.header("Location"), "https://localhost/always/method?a=1&b=%2F%20x")
    eq(r.header("Strict-Transport-Security"), "max-age=600")
    eq(r.header("X-Frame-Options"), "DENY")
    r = c.request("HEAD", "/always/method")
    eq(r.status, 301)
    eq(r.body, b"")
    c.wait_access(lambda x: x["path"] == "/always/method" and
                  x["status"] == 301 and x["method"] == "HEAD")


def test_other_methods_get_308(c):
    for m in ("POST", "PUT", "DELETE", "PATCH"):
        r = c.request(m, "/always/method", body=b"payload")
        eq(r.status, 308, m)
        eq(r.header("Location"), "https://localhost/always/method", m)
    # The handler never ran: it would have answered 200.
    recs = c.wait_access(lambda x: x["path"] == "/always/method" and
                         x["method"] == "PATCH")
    eq(recs[0]["status"], 308)


def test_always_serves_https(c):
    r = c.post("/always/method", b"12345", headers=TLS)
    eq(r.status, 200)
    eq(r.text, "POST 5\n")


def test_host_without_port(c):
    r = c.get("/always/method", headers={"Host": "Example.COM:8443"})
    eq(r.status, 301)
    # Debian's fastcgi_params pass nginx's $host: lowercase, no port.
    eq(r.header("Location"), "https://example.com/always/method")


def test_never_redirects_https(c):
    r = c.get("/never/method?x=1", headers=TLS)
    eq(r.status, 301)
    eq(r.header("Location"), "http://localhost/never/method?x=1")
    r = c.post("/never/method", b"abc", headers=TLS)
    eq(r.status, 308)
    eq(r.header("Location"), "http://localhost/never/method")
    eq(c.get("/never/method").text, "GET 0\n")


def test_optional_serves_both(c):
    eq(c.get("/optional/method").status, 200)
    eq(c.get("/optional/method", headers=TLS).status, 200)


def test_static_handler_too(c):
    r = c.get("/files/warmcgi.ini")
    eq(r.status, 301)
    eq(r.header("Location"), "https://localhost/files/warmcgi.ini")
    r = c.get("/files/warmcgi.ini", headers=TLS)
    eq(r.status, 200)
    ok(b"[handler files]" in r.body)


def test_no_host_name_is_400(c):
    r = fcgi_request(c.sock, {"REQUEST_METHOD": "GET",
                              "SCRIPT_NAME": "/always/method",
                              "QUERY_STRING": ""})
    eq(r.status, 400)
    c.wait_app(lambda x: "no host name to redirect to" in x["message"])
    # SERVER_NAME stands in for a missing Host; REQUEST_URI for the path.
    r = fcgi_request(c.sock, {"REQUEST_METHOD": "GET",
                              "SCRIPT_NAME": "/always/method",
                              "SERVER_NAME": "srv.example",
                              "QUERY_STRING": "q=%20"})
    eq(r.status, 301)
    eq(r.header("Location"), "https://srv.example/always/method?q=%20")
    r = fcgi_request(c.sock, {"REQUEST_METHOD": "GET",
                              "SCRIPT_NAME": "/always/m",
                              "HTTP_HOST": "evil.example\r\nX: y",
                              "SERVER_NAME": "srv.example",
                              "REQUEST_URI": "/always/m?\r\nSet-Cookie: a"})
    eq(r.status, 301)
    eq(r.header("Location"),
       "https://srv.example/always/m?%0D%0ASet-Cookie:%20a")
    ok(r.header("Set-Cookie") is None and r.header("X") is None)


main(setup=setup, teardown=teardown)
