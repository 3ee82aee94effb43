#!/usr/bin/env python3
"""CGI mode: warmcgi started by a CGI-only web server serves one request
per process through the worker's pipeline. The app's warmcgi.ini is the
CGI script itself (first line "#!.../warmcgi -c"), in the cgi-bin/ of a
real lighttpd (mod_cgi), Apache httpd (mod_cgi) and busybox httpd, each
started here on 127.0.0.1. Under each: the hello module, the environment,
a 1 MiB POST echo, a crash giving 500, a deadline giving the handler's own
answer and then the hard 500, gzip, a static file, classic CGI inside, and
the same statuses as behind nginx for requests over the limits.
"""
import gzip
import os
import re
import time

from cgitest import SERVERS, app_ini, records
from warmtest import Cluster, Skip, eq, main, ok, public_build, wait_for

# The web servers run warmcgi and its modules as their own user: use a
# copy they can reach when the build tree is private.
BUILD = public_build()
WARMCGI = os.path.join(BUILD, "host", "warmcgi")

APP = """[app]
max_request_size = 2M
max_header_size = 1K
max_response_size = 1500K
request_timeout = 20s
%(logs)s
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

[handler static]
url = /static/
static_dir = %(static)s

[handler cgi]
url = /cgi/
cgi = %(cgi)s
"""

SCRIPT = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "script path_info=$PATH_INFO log_id=$REQUEST_LOG_ID"
"""

EVIL = """[app]
[handler t]
url = /t/
module = {build}/examples/hello/hello.so
"""

# The statuses a request over a limit gets behind nginx (same config).
OVER_LIMITS = (
    ("POST", "/t/echo", b"x" * (2 * 1024 * 1024 + 1), {}),      # 413
    ("GET", "/t/hello", None, {"X-Big": "b" * 1500}),             # 400
    ("GET", "/t/bigheader?n=10000", None, {}),                    # 502
    ("GET", "/t/bigbody?n=2000000", None, {}),                    # 500
    ("GET", "/t/malformed", None, {}),                            # 502
    ("GET", "/nothing", None, {}),                                # 404
)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Site:
    """A CGI server with the app installed as cgi-bin/app.ini."""

    def __init__(self, cls):
        self.server = s = cls()
        self.log, self.access = s.writable("app.log", "access.log")
        os.makedirs(s.path("static"))
        os.makedirs(s.path("scripts"))
        write(s.path("static", "a.css"), "body { color: red }\n" * 50)
        write(s.path("scripts", "s.sh"), SCRIPT, 0o755)
        self.ini = s.install("app.ini", app_ini(self.app_text()))
        # warmcgi itself as the script, its config found in its directory.
        os.symlink(WARMCGI, os.path.join(s.cgi_bin, "direct"))
        write(os.path.join(s.cgi_bin, "warmcgi.ini"), self.app_text())
        write(s.path("evil.ini"), EVIL.format(build=BUILD))
        s.start()

    def app_text(self):
        s = self.server
        return APP.format(build=BUILD) % {
            "logs": "log = %s\naccess_log = %s\n" % (self.log, self.access),
            "static": s.path("static"), "cgi": s.path("scripts")}

    def url(self, path):
        return "/cgi-bin/app.ini" + path

    def get(self, path, **kw):
        return self.server.get(self.url(path), **kw)

    def post(self, path, body, **kw):
        return self.server.post(self.url(path), body, **kw)

    def app_records(self):
        with open(self.log) as f:
            return records(f.read())

    def access_records(self):
        with open(self.access) as f:
            return records(f.read())

    def stop(self):
        self.server.stop()


def setup():
    sites = {}
    try:
        for cls in SERVERS:
            try:
                sites[cls.name] = Site(cls)
            except Skip:
                pass
        c = Cluster(APP.format(build="{build}") % {
            "logs": "", "static": "{dir}", "cgi": "{dir}"}, "cgimode")
        sites["nginx"] = c.start()
    except BaseException:
        teardown(sites)
        raise
    return sites


def teardown(sites):
    for s in sites.values():
        s.stop()


def each(fn):
    """Makes fn(site, sites) a test per server; a missing one is a skip."""
    def make(name):
        def t(sites):
            if name not in sites:
                raise Skip("%s is not installed" % name)
            fn(sites[name], sites)
        t.__name__ = "test_%s_%s" % (name, fn.__name__)
        return t
    for cls in SERVERS:
        t = make(cls.name)
        globals()[t.__name__] = t
    return fn


@each
def hello_module(site, sites):
    r = site.get("/hello")
    eq(r.status, 200)
    eq(r.body, b"Hello, World!\n")
    eq(r.header("Content-Type"), "text/plain; charset=utf-8")


@each
def environment(site, sites):
    t0 = time.time()
    r = site.get("/t/env?x=1&y=2", headers={"X-Foo": "bar"})
    eq(r.status, 200)
    env = r.env()
    mtime = int(os.stat(site.ini).st_mtime)
    eq(env["CURRENT_VERSION_ID"], "1.%d" % mtime)
    ok(re.fullmatch(r"[0-9a-f]{32}", env["INSTANCE_ID"]), env)
    ok(re.fullmatch(r"[0-9a-f]{40}", env["REQUEST_LOG_ID"]), env)
    ok(abs(int(env["REQUEST_DEADLINE"]) / 1000 - (t0 + 20)) < 10, env)
    eq(env["SERVER_SOFTWARE"], "warmcgi/0.1.0")
    eq(env["GATEWAY_INTERFACE"], "CGI/1.1")
    eq(env["SCRIPT_NAME"], "/cgi-bin/app.ini/t")
    eq(env["PATH_INFO"], "/env")
    eq(env["QUERY_STRING"], "x=1&y=2")
    eq(env["REQUEST_METHOD"], "GET")
    eq(env["HTTP_X_FOO"], "bar")
    eq(env["SCRIPT_FILENAME"], os.path.join(BUILD, "test/handlers/testmod.so"))
    rec = wait_for(lambda: [x for x in site.access_records()
                            if x["request_id"] == env["REQUEST_LOG_ID"]],
                   10, "access record")[0]
    eq((rec["path"], rec["status"], rec["query"]), ("/t/env", 200,
                                                    "x=1&y=2"))
    eq(rec["instance_id"], env["INSTANCE_ID"])
    ok(site.get("/t/env").env()["INSTANCE_ID"] != env["INSTANCE_ID"],
       "one instance per process")


@each
def post_1mib_echo(site, sites):
    body = os.urandom(1024 * 1024)
    r = site.post("/t/echo", body,
                  headers={"Content-Type": "application/octet-stream"})
    eq(r.status, 200)
    ok(r.body == body, "the 1 MiB body comes back (%d bytes)" % len(r.body))
    eq(r.header("Content-Type"), "application/octet-stream")


@each
def crash_is_a_clean_500(site, sites):
    r = site.get("/t/crash")
    eq(r.status, 500)
    ok(b"Internal Server Error" in r.body, r.body)
    ok(b"partial output" not in r.body)
    rec = wait_for(lambda: [x for x in site.app_records()
                            if x.get("signal") == "SIGSEGV"], 10,
                   "crash record")[-1]
    eq(rec["message"], "handler crashed")
    ok(any("testmod.so" in f for f in rec["backtrace"]), rec)
    eq(site.get("/hello").status, 200, "the next request")


@each
def deadline_then_hard_deadline(site, sites):
    r = site.get("/slow/sleep?ms=5000")
    eq(r.status, 200)
    ok(b"errno=EINTR err=deadline" in r.body, r.body)
    t0 = time.monotonic()
    r = site.get("/slow/ignore")
    eq(r.status, 500)
    ok(b"Internal Server Error" in r.body, r.body)
    ok(time.monotonic() - t0 < 10, "answered at the hard deadline")
    wait_for(lambda: [x for x in site.app_records()
                      if "hard deadline" in x["message"]], 10,
             "hard deadline record")


@each
def gzip_compresses(site, sites):
    plain = site.get("/t/bigbody?n=5000")
    eq(plain.status, 200)
    ok(plain.header("Content-Encoding") is None)
    r = site.get("/t/bigbody?n=5000",
                 headers={"Accept-Encoding": "gzip", "User-Agent": "gzip"})
    eq(r.status, 200)
    if site.server.name == "busybox":
        # It keeps Accept-Encoding to itself: the app never sees it.
        ok(r.header("Content-Encoding") is None and r.body == plain.body)
        raise Skip("busybox httpd does not pass Accept-Encoding to CGI")
    eq(r.header("Content-Encoding"), "gzip")
    ok("Accept-Encoding" in (r.header("Vary") or ""), r.headers)
    eq(gzip.decompress(r.body), plain.body)


@each
def static_file(site, sites):
    r = site.get("/static/a.css")
    eq(r.status, 200)
    eq(r.body, b"body { color: red }\n" * 50)
    eq(r.header("Content-Type"), "text/css; charset=utf-8")
    ok(r.header("ETag") and r.header("Cache-Control"), r.headers)
    eq(site.get("/static/missing.css").status, 404)


@each
def classic_cgi_inside(site, sites):
    r = site.get("/cgi/s.sh/x/y")
    eq(r.status, 200)
    ok(r.text.startswith("script path_info=/x/y log_id="), r.text)


def nginx_statuses(sites, cache=[]):
    """The reference: the same app through nginx and FastCGI workers."""
    if not cache:
        c = sites["nginx"]
        cache.extend(c.request(m, p, body=b, headers=h).status
                     for m, p, b, h in OVER_LIMITS)
        eq(cache, [413, 400, 502, 500, 502, 404])
    return cache


@each
def over_limits_like_nginx(site, sites):
    want = nginx_statuses(sites)
    got = [site.server.request(m, site.url(p), body=b, headers=h).status
           for m, p, b, h in OVER_LIMITS]
    eq(got, want)


@each
def config_from_the_script_directory(site, sites):
    r = site.server.get("/cgi-bin/direct/t/hello")
    eq(r.status, 200)
    eq(r.body, b"hello from testmod\n")


@each
def broken_config_is_a_bare_500(site, sites):
    s = site.server
    path = s.install("broken.ini", app_ini("[app]\nworkers = many\n"))
    r = s.get("/cgi-bin/broken.ini/t/hello")
    eq(r.status, 500)
    ok(b"workers" not in r.body, "no config detail for the client")
    if s.name != "busybox":     # it does not keep its programs' stderr
        wait_for(lambda: "%s:3: workers = many" % path in s.log_text(), 10,
                 "the FILE:LINE problem in the server's error log")


def test_query_words_never_choose_the_config(sites):
    """RFC 3875 4.4: Apache passes "?-c+FILE" as arguments."""
    if "apache" not in sites:
        raise Skip("apache is not installed")
    site = sites["apache"]
    evil = site.server.path("evil.ini")
    for url in ("/cgi-bin/direct/t/hello?-c+" + evil,
                "/cgi-bin/app.ini/t/hello?-c+" + evil):
        r = site.server.get(url)
        eq(r.status, 200, url)
        eq(r.body, b"hello from testmod\n", url)

main(setup=setup, teardown=teardown)
