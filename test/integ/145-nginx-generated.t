#!/usr/bin/env python3
"""`warmcgi --nginx`: its output passes `nginx -t` without a warning, then
a real nginx runs it in front of warmcgi and serves the examples: static
files from nginx itself (with the validators, types and cache headers
warmcgi would send, gzip, http_header lines, HSTS, upload, secure, and the
same refusals), everything else through warmcgi, each path to the handler
warmcgi itself would pick. Over TLS too, and with the optional cache
turned on: a request carrying Authorization never reads or fills it, and
Vary is honoured.
"""
import gzip
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess

from warmtest import (FASTCGI_PARAMS, NGINX, SRC, WARMCGI, Cluster, Skip,
                      eq, fcgi_request, main, ok, wait_for)

EX = os.path.join(SRC, "examples", "static")

INI = """
[app]
workers = 2
hsts = max-age=600
max_request_size = 1M
request_timeout = 10s

[handler hello]
url = /hello
module = {build}/examples/hello/hello.so

[handler printenv]
url = /printenv
module = {build}/examples/printenv/printenv.so

[handler special]
url = /r/(special\\.txt)
static_files = files/\\1

[handler r]
url = /r/
module = {build}/test/handlers/respmod.so

[handler hidden]
url = /r/hidden
module = {build}/examples/hello/hello.so

[handler upload]
url = /upload/
module = {build}/test/handlers/respmod.so
max_request_size = 8M

[handler never]
url = /never/
module = {build}/test/handlers/respmod.so
secure = never

[handler assets]
url = /static/
static_dir = {ex}/site
expiration = 1d
http_header = X-Content-Type-Options: nosniff

[handler images]
url = /images/(.+\\.(svg|png))
static_files = {ex}/site/img/\\1
upload = .*/site/img/[a-z0-9_-]+\\.(svg|png)
expiration = 7d

[handler files]
url = /files/
static_dir = files
secure = always

[handler up]
url = /up/(.+)
static_files = files/\\1
upload = files/[a-z]+\\.txt

[handler plain]
url = /plain/(.+)
static_files = files/\\1
mime_type = text/plain
compress = off

[handler logo]
url = /logo
static_files = {ex}/site/img/logo.svg

[handler home]
url = /
static_files = {ex}/site/index.html
"""

BIG = b"line of text that gzip likes, again and again\n" * 200


def tls_connection(path):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    class Conn(http.client.HTTPConnection):
        def connect(self):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(path)
            self.sock = ctx.wrap_socket(s, server_hostname="localhost")
    return Conn("localhost", timeout=30)


def setup():
    c = Cluster(INI.replace("{ex}", EX), "nginxgen", nginx=False)
    files = c.path("files")
    os.makedirs(os.path.join(files, "dir"))
    for name, data in (("special.txt", b"special file\n"), ("big.txt", BIG),
                       ("UP.txt", b"upper\n"),
                       (".secret", b"secret\n"), ("dir/x.txt", b"x\n")):
        with open(os.path.join(files, name), "wb") as f:
            f.write(data)
    os.symlink("/etc/passwd", os.path.join(files, "passwd"))
    prefix = c.path("nginx")
    os.makedirs(prefix)
    shutil.copy(FASTCGI_PARAMS, prefix)
    c.tls_sock = c.path("tls.sock")
    c.has_tls = shutil.which("openssl") is not None
    if c.has_tls:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-keyout", c.path("key.pem"), "-out",
                        c.path("cert.pem")], check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c.start()
    p = subprocess.run([WARMCGI, "--nginx", "--nginx-listen",
                        "unix:" + c.http_sock, "-c", c.ini],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if p.returncode != 0:
        c.stop()
        raise AssertionError(p.stderr.decode())
    c.generated = p.stdout.decode()
    c.conf = wrap(c, enable_extras(c, c.generated))
    return c


def enable_extras(c, text):
    """The test's additions: a TLS listener, and the commented cache."""
    if c.has_tls:
        text = text.replace(
            "    listen unix:%s;\n" % c.http_sock,
            "    listen unix:%s;\n    listen unix:%s ssl;\n"
            "    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
            % (c.http_sock, c.tls_sock, c.path("cert.pem"),
               c.path("key.pem")), 1)
    text = re.sub(r"(?m)^(\s*)#(?=[a-z])", r"\1", text)
    return text.replace("/var/cache/nginx/warmcgi", c.path("cache"))


def wrap(c, server):
    prefix = c.path("nginx")
    return """daemon off;
master_process on;
worker_processes 1;
user root;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log info;
events { worker_connections 256; }
http {
    access_log %(p)s/access.log;
    client_body_temp_path %(p)s/body;
    fastcgi_temp_path %(p)s/fastcgi;
    proxy_temp_path %(p)s/proxy;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
%(server)s}
""" % {"p": prefix, "server": server}


def teardown(c):
    c.stop()


def direct(c, path, headers=None, method="GET"):
    params = {"REQUEST_METHOD": method, "SCRIPT_NAME": path,
              "QUERY_STRING": "", "REQUEST_URI": path,
              "SERVER_NAME": "localhost", "HTTP_HOST": "localhost",
              "SERVER_PROTOCOL": "HTTP/1.1"}
    for k, v in (headers or {}).items():
        params["HTTP_" + k.upper().replace("-", "_")] = v
    return fcgi_request(c.sock, params)


def cache_control(r):
    return set(x.strip() for v in r.headers_named("Cache-Control")
               for x in v.split(","))


def test_output_passes_nginx_t(c):
    # The plain output, then the one the tests run (TLS and cache on).
    for name, text in (("plain", c.generated), ("run", c.conf)):
        path = c.path("nginx", name + ".conf")
        with open(path, "w") as f:
            f.write(wrap(c, text) if name == "plain" else text)
        p = subprocess.run([NGINX, "-t", "-p", c.path("nginx"), "-c", path],
                           stderr=subprocess.PIPE, timeout=30)
        err = p.stderr.decode()
        eq(p.returncode, 0, err)
        ok("[warn]" not in err and "[emerg]" not in err, err)
    c.start_nginx(c.conf)


def test_what_the_output_says(c):
    g = c.generated
    ok("server unix:%s;" % c.sock in g)
    ok("fastcgi_param REQUEST_START $msec;" in g)
    ok('fastcgi_param HTTP_PROXY "";' in g)
    ok("include fastcgi_params;" in g)
    ok("client_max_body_size 1m;" in g)
    ok("client_max_body_size 8m;" in g, "the upload handler's own")
    # request_timeout 10s + grace 0.5s + pending 10s, rounded up, + 5s.
    ok("fastcgi_read_timeout 26s;" in g)
    ok("large_client_header_buffers 4 9k;" in g)
    ok("[handler hidden] is never reached" in g)
    ok("expires 86400s;" in g and "expires 604800s;" in g)
    ok("#fastcgi_cache_bypass $warmcgi_no_cache;" in g)
    ok("#fastcgi_no_cache $warmcgi_no_cache;" in g)


def test_static_from_nginx_same_headers_as_warmcgi(c):
    r = c.get("/static/style.css")
    eq(r.status, 200)
    with open(os.path.join(EX, "site", "style.css"), "rb") as f:
        eq(r.body, f.read())
    # nginx served it: warmcgi logs the dynamic request, never this one.
    eq(c.get("/hello").text, "Hello, World!\n")
    c.wait_access(lambda x: x["path"] == "/hello")
    ok(not [x for x in c.access_records()
            if x["path"].startswith("/static/")], "warmcgi saw /static/")
    # What warmcgi itself sends for the same file.
    w = direct(c, "/static/style.css")
    eq(w.status, 200)
    eq(w.body, r.body)
    for name in ("Content-Type", "ETag", "Last-Modified",
                 "X-Content-Type-Options", "Strict-Transport-Security"):
        eq(r.header(name), w.header(name), name)
    eq(cache_control(r), {"public", "max-age=86400"})
    eq(cache_control(w), {"public", "max-age=86400"})
    ok(r.header("Expires") is not None)


def test_gzip_and_validators_from_nginx(c):
    gz = {"Accept-Encoding": "gzip"}
    r = c.get("/static/style.css", headers=gz)
    w = direct(c, "/static/style.css", headers=gz)
    eq(r.header("Content-Encoding"), "gzip")
    eq(r.header("Vary"), "Accept-Encoding")
    eq(r.header("ETag"), w.header("ETag"))
    ok(r.header("ETag").startswith('W/"'))
    eq(gzip.decompress(r.body), gzip.decompress(w.body))
    etag = c.get("/static/style.css").header("ETag")
    r = c.get("/static/style.css", headers={"If-None-Match": etag})
    eq(r.status, 304)
    eq(r.body, b"")
    lm = c.get("/static/style.css").header("Last-Modified")
    eq(c.get("/static/style.css",
             headers={"If-Modified-Since": lm}).status, 304)
    r = c.request("HEAD", "/static/app.js")
    eq(r.status, 200)
    eq(r.body, b"")
    eq(r.header("Content-Type"), "text/javascript; charset=utf-8")


def test_static_files_from_nginx(c):
    r = c.get("/images/logo.svg")
    eq(r.status, 200)
    eq(r.header("Content-Type"), "image/svg+xml")
    eq(cache_control(r), {"public", "max-age=604800"})
    eq(r.header("ETag"), direct(c, "/images/logo.svg").header("ETag"))
    # upload admits lowercase names only; UP.txt exists.
    eq(c.get("/up/big.txt").body, BIG)
    eq(direct(c, "/up/big.txt").body, BIG)
    eq(c.get("/up/UP.txt").status, 404)
    eq(direct(c, "/up/UP.txt").status, 404)
    eq(c.get("/up/dir/x.txt").status, 404)
    eq(direct(c, "/up/dir/x.txt").status, 404)
    r = c.get("/plain/big.txt", headers={"Accept-Encoding": "gzip"})
    eq(r.header("Content-Type"), "text/plain")
    ok(r.header("Content-Encoding") is None, "compress = off")
    eq(r.body, BIG)
    r = c.get("/files/big.txt", headers={"X-Forwarded-Proto": "https"})
    eq(r.status, 301)


def test_the_files_own_type_and_a_slash_url(c):
    for path, ct in (("/", "text/html; charset=utf-8"),
                     ("/logo", "image/svg+xml")):
        r = c.get(path)
        w = direct(c, path)
        eq(r.status, 200, path)
        eq(r.header("Content-Type"), ct, path)
        eq(w.header("Content-Type"), ct, path)
        eq(r.body, w.body, path)
        eq(r.header("ETag"), w.header("ETag"), path)
    # The internal location nginx uses for static_files is not a URL.
    eq(c.get("/.warmcgi/home/index.html").status, 404)


def test_refusals_match_warmcgi(c):
    for path in ("/static/.hidden", "/files/.secret", "/plain/.secret",
                 "/files/dir", "/files/dir/", "/plain/dir",
                 "/static/%2e%2e/warmcgi.ini"):
        r = c.get(path)
        ok(r.status in (404, 301), "%s: %d" % (path, r.status))
    for path in ("/plain/.secret", "/plain/dir", "/plain/passwd"):
        eq(direct(c, path).status, 404, path)
        r = c.get(path)
        ok(r.status in (403, 404), "%s: %d" % (path, r.status))
        ok(b"root:" not in r.body and b"secret" not in r.body, path)


def test_hsts_everywhere_once(c):
    for path in ("/hello", "/static/style.css", "/r/own", "/nothing",
                 "/static/missing.css", "/images/logo.svg"):
        r = c.get(path)
        want = "max-age=5" if path == "/r/own" else "max-age=600"
        eq(r.headers_named("Strict-Transport-Security"), [want], path)
    # nginx's own answer: the body is over client_max_body_size.
    r = c.post("/r/method", b"x" * (2 << 20))
    eq(r.status, 413)
    eq(r.headers_named("Strict-Transport-Security"), ["max-age=600"])


def test_per_handler_body_size(c):
    r = c.post("/upload/method", b"x" * (2 << 20))
    eq(r.status, 200)
    eq(r.text, "POST %d\n" % (2 << 20))


def test_routing_matches_warmcgi(c):
    cases = {
        "/r/special.txt": b"special file\n",     # regex before the prefix
        "/r/hidden": None,                        # shadowed by /r/
        "/r/text?n=20": None,
        "/hello": b"Hello, World!\n",
        "/nothing": None,
        "/static/": None,
        "/images/logo.svg": None,
        "/images/logo.gif": None,
    }
    for path, body in cases.items():
        r = c.get(path)
        w = direct(c, path.split("?")[0]) if "?" not in path else r
        eq(r.status, w.status, path)
        if r.status == 200:
            eq(r.body, w.body, path)
        if body is not None:
            eq(r.body, body, path)
    eq(c.get("/r/hidden").status, 404)
    ok(b"no such case: /hidden" in c.get("/r/hidden").body)


def test_secure_from_nginx_and_warmcgi(c):
    r = c.get("/files/big.txt")
    eq(r.status, 301)
    eq(r.header("Location"), "https://localhost/files/big.txt")
    eq(r.header("Strict-Transport-Security"), "max-age=600")
    r = c.post("/files/big.txt", b"x")
    eq(r.status, 308)
    eq(c.get("/never/method").status, 200)


def tls_get(c, path, method="GET", body=None):
    conn = tls_connection(c.tls_sock)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), \
            r.read()
    finally:
        conn.close()


def test_over_tls(c):
    if not c.has_tls:
        raise Skip("no openssl to make a certificate")
    wait_for(lambda: os.path.exists(c.tls_sock), 10, "TLS socket")
    status, h, body = tls_get(c, "/files/big.txt")
    eq(status, 200)
    eq(body, BIG)
    eq(h["strict-transport-security"], "max-age=600")
    status, h, _ = tls_get(c, "/never/method?a=b")
    eq(status, 301)
    eq(h["location"], "http://localhost/never/method?a=b")
    status, h, _ = tls_get(c, "/never/method", "PUT", b"z")
    eq(status, 308)
    status, h, body = tls_get(c, "/printenv")
    eq(status, 200)
    ok(b"HTTPS=on" in body, body)


def test_cache_never_public_for_authorization(c):
    auth = {"Authorization": "Basic dXNlcjpwdw=="}
    a1 = c.get("/r/cache", headers=auth)
    eq(a1.header("X-Cache-Status"), "BYPASS")
    p1 = c.get("/r/cache")
    ok(p1.body != a1.body, "an authorized answer was not stored")
    eq(p1.header("X-Cache-Status"), "MISS")
    p2 = c.get("/r/cache")
    eq(p2.header("X-Cache-Status"), "HIT")
    eq(p2.body, p1.body)
    a2 = c.get("/r/cache", headers=auth)
    eq(a2.header("X-Cache-Status"), "BYPASS")
    ok(a2.body != p1.body, "an authorized request did not read the cache")
    a3 = c.get("/r/cache", headers={"Authorization": "0"})
    eq(a3.header("X-Cache-Status"), "BYPASS")


def test_cache_honours_vary(c):
    gz = {"Accept-Encoding": "gzip"}
    r = c.get("/r/cache?n=5000", headers=gz)
    eq(r.header("Content-Encoding"), "gzip")
    eq(r.header("X-Cache-Status"), "MISS")
    eq(c.get("/r/cache?n=5000", headers=gz).header("X-Cache-Status"), "HIT")
    r = c.get("/r/cache?n=5000")
    ok(r.header("Content-Encoding") is None, "no gzip for this client")
    ok(r.header("X-Cache-Status") != "HIT")
    eq(len(r.body.split(b"\n", 1)[1]), 5000)


main(setup=setup, teardown=teardown)
