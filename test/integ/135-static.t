#!/usr/bin/env python3
"""Static handlers served by warmcgi through nginx: static_dir and
static_files/upload, Content-Type (table and mime_type), Cache-Control and
Expires from expiration, ETag and Last-Modified with 304 on both
validators, http_header lines and HSTS, gzip under the same rules, HEAD,
405 for other methods, and traversal attempts refused (through nginx and
straight to the FastCGI socket, where nothing normalizes the path).
"""
import email.utils
import gzip
import os
import time

from warmtest import Cluster, eq, fcgi_request, main, ok

INI = """
[app]
workers = 2
hsts = max-age=600
default_expiration = 1h

[handler assets]
url = /static/
static_dir = site
expiration = 1d
http_header = X-Content-Type-Options: nosniff
http_header = X-Frame-Options: DENY

[handler img]
url = /img/([^/]+)\\.(png|svg)
static_files = site/img/\\1.\\2
upload = site/img/[a-z0-9_]+\\.(png|svg)

[handler raw]
url = /raw/(.*)
static_files = site/\\1
mime_type = text/plain
compress = off

[handler favicon]
url = /favicon.ico
static_files = site/img/logo.png
expiration = 0

[handler small]
url = /small/
static_dir = site
max_response_size = 1K
"""

CSS = b"body { color: #333; margin: 0 auto; }\n" * 100
PNG = bytes(range(256)) * 12


def setup():
    c = Cluster(INI, "static")
    site = c.path("site")
    os.makedirs(os.path.join(site, "img"))
    os.makedirs(os.path.join(site, "sub"))
    os.makedirs(os.path.join(site, ".git"))
    files = {
        "style.css": CSS,
        "tiny.txt": b"tiny\n",
        "data.json": b'{"k": "' + b"v" * 1000 + b'"}',
        "sub/page.html": b"<!DOCTYPE html><p>" + b"x" * 500 + b"</p>\n",
        "img/logo.png": PNG,
        "img/Logo.png": PNG,
        "img/icon.svg": b"<svg>" + b"<g/>" * 200 + b"</svg>",
        ".git/config": b"secret\n",
        ".env": b"SECRET=1\n",
        "noext": b"who knows\n",
    }
    for name, data in files.items():
        with open(os.path.join(site, name), "wb") as f:
            f.write(data)
    os.symlink("/etc/passwd", os.path.join(site, "passwd"))
    os.symlink("style.css", os.path.join(site, "same.css"))
    # An old, fixed time: Last-Modified and If-Modified-Since are exact.
    os.utime(os.path.join(site, "style.css"), (1700000000, 1700000000))
    return c.start()


def teardown(c):
    c.stop()


def direct(c, path, method="GET", headers=None):
    """Straight to warmcgi: the path arrives as given, unnormalized."""
    params = {"REQUEST_METHOD": method, "SCRIPT_NAME": path,
              "QUERY_STRING": "", "REQUEST_URI": path,
              "SERVER_NAME": "localhost", "SERVER_PROTOCOL": "HTTP/1.1"}
    for k, v in (headers or {}).items():
        params["HTTP_" + k.upper().replace("-", "_")] = v
    return fcgi_request(c.sock, params)


def test_static_dir_file_with_all_headers(c):
    t0 = time.time()
    r = c.get("/static/style.css")
    eq(r.status, 200)
    eq(r.body, CSS)
    eq(r.header("Content-Type"), "text/css; charset=utf-8")
    eq(r.header("Content-Length"), str(len(CSS)))
    eq(r.header("Cache-Control"), "public, max-age=86400")
    exp = email.utils.parsedate_to_datetime(r.header("Expires")).timestamp()
    ok(t0 + 86400 - 5 <= exp <= time.time() + 86400 + 5, "Expires in 1d")
    eq(r.header("Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT")
    # nginx's format: mtime and size in hex.
    eq(r.header("ETag"), '"%x-%x"' % (1700000000, len(CSS)))
    eq(r.header("X-Content-Type-Options"), "nosniff")
    eq(r.header("X-Frame-Options"), "DENY")
    eq(r.header("Strict-Transport-Security"), "max-age=600")
    # Compressible, so the answer depends on Accept-Encoding.
    eq(r.header("Vary"), "Accept-Encoding")


def test_types_from_the_table(c):
    for path, ct in (("/static/data.json", "application/json"),
                     ("/static/sub/page.html", "text/html; charset=utf-8"),
                     ("/static/tiny.txt", "text/plain; charset=utf-8"),
                     ("/static/img/icon.svg", "image/svg+xml"),
                     ("/static/img/logo.png", "image/png"),
                     ("/static/noext", "application/octet-stream")):
        r = c.get(path)
        eq(r.status, 200, path)
        eq(r.header("Content-Type"), ct, path)


def test_gzip_on_static_files(c):
    r = c.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    eq(r.header("Content-Encoding"), "gzip")
    eq(r.header("Vary"), "Accept-Encoding")
    eq(r.header("ETag"), 'W/"%x-%x"' % (1700000000, len(CSS)))
    eq(gzip.decompress(r.body), CSS)
    r = c.get("/static/img/icon.svg", headers={"Accept-Encoding": "gzip"})
    eq(r.header("Content-Encoding"), "gzip")
    r = c.get("/static/img/logo.png", headers={"Accept-Encoding": "gzip"})
    ok(r.header("Content-Encoding") is None, "png stays identity")
    eq(r.body, PNG)
    r = c.get("/static/tiny.txt", headers={"Accept-Encoding": "gzip"})
    ok(r.header("Content-Encoding") is None, "too small")


def test_304_on_if_none_match(c):
    r = c.get("/static/style.css")
    etag = r.header("ETag")
    r = c.get("/static/style.css", headers={"If-None-Match": etag})
    eq(r.status, 304)
    eq(r.body, b"")
    eq(r.header("ETag"), etag)
    eq(r.header("Cache-Control"), "public, max-age=86400")
    ok(r.header("Expires") is not None)
    eq(r.header("X-Frame-Options"), "DENY")
    eq(r.header("Strict-Transport-Security"), "max-age=600")
    # The weak tag of the gzipped copy validates too, and the 304 says so.
    gz = {"Accept-Encoding": "gzip", "If-None-Match": "W/" + etag}
    r = c.get("/static/style.css", headers=gz)
    eq(r.status, 304)
    eq(r.header("ETag"), "W/" + etag)
    eq(r.header("Vary"), "Accept-Encoding")
    r = c.get("/static/style.css", headers={"If-None-Match": '"x", ' + etag})
    eq(r.status, 304)
    r = c.get("/static/style.css", headers={"If-None-Match": '"other"'})
    eq(r.status, 200)
    eq(r.body, CSS)


def test_304_on_if_modified_since(c):
    lm = c.get("/static/style.css").header("Last-Modified")
    r = c.get("/static/style.css", headers={"If-Modified-Since": lm})
    eq(r.status, 304)
    eq(r.body, b"")
    later = "Wed, 15 Nov 2023 00:00:00 GMT"
    eq(c.get("/static/style.css",
             headers={"If-Modified-Since": later}).status, 304)
    earlier = "Tue, 14 Nov 2023 22:13:19 GMT"
    r = c.get("/static/style.css", headers={"If-Modified-Since": earlier})
    eq(r.status, 200)
    eq(r.body, CSS)
    r = c.get("/static/style.css", headers={"If-Modified-Since": "garbage"})
    eq(r.status, 200)
    # If-None-Match decides alone when both come.
    r = c.get("/static/style.css", headers={"If-Modified-Since": lm,
                                            "If-None-Match": '"other"'})
    eq(r.status, 200)


def test_head_and_other_methods(c):
    r = c.request("HEAD", "/static/style.css")
    eq(r.status, 200)
    eq(r.body, b"")
    eq(r.header("Content-Length"), str(len(CSS)))
    eq(r.header("Content-Type"), "text/css; charset=utf-8")
    ok(r.header("ETag") is not None)
    r = c.request("HEAD", "/static/style.css",
                  headers={"Accept-Encoding": "gzip"})
    eq(r.body, b"")
    eq(r.header("Content-Encoding"), "gzip")
    full = c.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    eq(r.header("Content-Length"), full.header("Content-Length"))
    for m in ("POST", "PUT", "DELETE"):
        r = c.request(m, "/static/style.css", body=b"x")
        eq(r.status, 405, m)
        eq(r.header("Allow"), "GET, HEAD")


def test_static_files_and_upload(c):
    r = c.get("/img/logo.png")
    eq(r.status, 200)
    eq(r.body, PNG)
    eq(r.header("Content-Type"), "image/png")
    eq(r.header("Cache-Control"), "public, max-age=3600")
    eq(c.get("/img/icon.svg").header("Content-Type"), "image/svg+xml")
    # The file exists, but upload does not admit its name.
    eq(c.get("/img/Logo.png").status, 404)
    eq(c.get("/img/missing.png").status, 404)
    # url does not match: no handler.
    eq(c.get("/img/logo.gif").status, 404)
    # No capture at all; the type is the file's.
    r = c.get("/favicon.ico")
    eq(r.status, 200)
    eq(r.body, PNG)
    eq(r.header("Content-Type"), "image/png")
    eq(r.header("Cache-Control"), "public, max-age=0")


def test_mime_type_override(c):
    r = c.get("/raw/style.css", headers={"Accept-Encoding": "gzip"})
    eq(r.status, 200)
    eq(r.header("Content-Type"), "text/plain")
    ok(r.header("Content-Encoding") is None, "compress = off")
    eq(r.body, CSS)
    eq(c.get("/raw/img/logo.png").header("Content-Type"), "text/plain")


def test_traversal_through_nginx(c):
    for path in ("/static/.git/config", "/static/.env",
                 "/static/%2e%2e/warmcgi.ini", "/static/../warmcgi.ini",
                 "/static/sub/../../warmcgi.ini", "/raw/.env",
                 "/raw/%2e%2e/warmcgi.ini", "/static/passwd",
                 "/raw/passwd", "/static/sub", "/static/sub/", "/static/",
                 "/static/..%5cwarmcgi.ini", "/raw/.git/config"):
        r = c.get(path)
        ok(r.status in (400, 404), "%s: %d" % (path, r.status))
        ok(b"secret" not in r.body.lower() and b"root:" not in r.body and
           b"listen" not in r.body, path)
    # A symlink that stays inside is fine.
    eq(c.get("/static/same.css").body, CSS)


def test_traversal_straight_to_the_socket(c):
    for path in ("/static/../warmcgi.ini", "/static/./style.css",
                 "/static/sub/../../warmcgi.ini", "/static/.env",
                 "/static/..", "/raw/../warmcgi.ini", "/raw/.env",
                 "/raw/sub/../../warmcgi.ini", "/img/..\\x.png",
                 "/img/.hidden.png", "/static/sub\\..\\..\\warmcgi.ini",
                 "/static/passwd", "/raw/passwd", "/raw/"):
        r = direct(c, path)
        eq(r.status, 404, path)
        ok(b"listen" not in r.body and b"root:" not in r.body, path)
    r = direct(c, "/static/style.css")
    eq(r.status, 200)
    eq(r.body, CSS)


def test_larger_than_max_response_size(c):
    r = c.get("/small/tiny.txt")
    eq(r.status, 200)
    eq(c.get("/small/style.css").status, 500)
    c.wait_app(lambda x: "let nginx serve it" in x["message"])


main(setup=setup, teardown=teardown)
