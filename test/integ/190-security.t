#!/usr/bin/env python3
"""Security checks: one request's headers, cookies and Authorization
never reach the next (module or classic CGI, one worker), httpoxy in both
kinds of handler even when nginx forwards Proxy:, path traversal and
hidden files refused whatever the front end sends (nginx or a raw
FastCGI peer), header injection in a handler's output refused, the
socket's permissions and group as configured, and the dropped privileges
reaching classic CGI processes too (098-privileges.t covers the workers).
"""
import grp
import os
import stat

import pwd

import fcgi
from warmtest import Cluster, Skip, eq, main, ok

INI = """
[app]
workers = 1
listen_mode = 0620
listen_group = %s

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler cgi]
url = /cgi/
cgi = {dir}/cgi

[handler static]
url = /static/
static_dir = {dir}/static
"""

GROUP = grp.getgrgid(os.getgroups()[-1] if os.getgroups() else
                     os.getgid()).gr_name


def setup():
    c = Cluster(INI % GROUP, "sec")
    c.nginx_conf_orig = c.nginx_conf
    # nginx here forwards Proxy: as HTTP_PROXY: the host must drop it.
    c.nginx_conf = lambda: c.nginx_conf_orig().replace(
        'fastcgi_param HTTP_PROXY "";', "")
    for d in ("cgi", "static", "static/sub"):
        os.makedirs(c.path(d))
    with open(c.path("cgi", "env.sh"), "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n")
    os.chmod(c.path("cgi", "env.sh"), 0o755)
    with open(c.path("cgi", ".hidden.sh"), "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhidden'\n")
    os.chmod(c.path("cgi", ".hidden.sh"), 0o755)
    with open(c.path("secret.txt"), "w") as f:
        f.write("top secret\n")
    with open(c.path("static", ".htpasswd"), "w") as f:
        f.write("admin:secret\n")
    with open(c.path("static", "sub", "ok.txt"), "w") as f:
        f.write("public\n")
    return c.start()


def teardown(c):
    c.stop()


def test_nothing_crosses_between_requests(c):
    for path in ("/t/env", "/cgi/env.sh"):
        for i in range(20):
            private = i % 2 == 0
            h = {"Authorization": "Basic c2VjcmV0LSVk%d" % i,
                 "Cookie": "session=s%d" % i,
                 "X-Private": "p%d" % i} if private else {}
            e = c.get("%s?i=%d" % (path, i), headers=h).env()
            eq(e.get("QUERY_STRING"), "i=%d" % i, path)
            for k in ("HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_X_PRIVATE",
                      "REMOTE_USER"):
                if private and k != "REMOTE_USER":
                    ok(k in e, "%s %s missing" % (path, k))
                elif not private:
                    ok(k not in e, "%s: %s of the previous request "
                       "leaked: %r" % (path, k, e.get(k)))


def test_httpoxy_in_modules_and_cgi(c):
    for path in ("/t/env", "/cgi/env.sh"):
        e = c.get(path, headers={"Proxy": "http://evil.example:3128"}).env()
        ok("HTTP_PROXY" not in e, "%s: HTTP_PROXY set" % path)


def test_traversal_through_nginx(c):
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt",
                 "/static/..%2fsecret.txt", "/static/.htpasswd",
                 "/static/%2ehtpasswd", "/static/sub/../../secret.txt",
                 "/cgi/../secret.txt", "/cgi/.hidden.sh",
                 "/cgi/%2e%2e/secret.txt", "/static/sub%2f..%2f..%2fsecret.txt"):
        r = c.get(path)
        ok(r.status in (400, 404), "%s: %d" % (path, r.status))
        ok(b"top secret" not in r.body and b"admin:" not in r.body and
           b"hidden" not in r.body, path)
    eq(c.get("/static/sub/ok.txt").body, b"public\n")


def test_traversal_from_a_raw_fastcgi_peer(c):
    # No nginx to normalize anything: the host alone must refuse.
    for sn, pi in (("/static/../secret.txt", ""), ("/static", "/../x"),
                   ("/static/sub/../../secret.txt", ""),
                   ("/static/.htpasswd", ""), ("/cgi/../secret.txt", ""),
                   ("/cgi/.hidden.sh", ""), ("/static\\..\\secret.txt", ""),
                   ("/cgi/env.sh/../../secret.txt", "")):
        out = fcgi.call(c.sock, sn, extra=[("PATH_INFO", pi)])
        head = out.split(b"\r\n", 1)[0]
        ok(b"top secret" not in out and b"admin:" not in out and
           b"hidden" not in out, (sn, pi, out))
        if not sn.startswith("/cgi/env.sh"):
            ok(head.startswith(b"Status: 404"), (sn, pi, head))


def test_header_injection_in_output_refused(c):
    r = c.get("/t/injection")
    eq(r.status, 502)
    ok(r.header("Set-Cookie") is None)


def test_socket_permissions(c):
    st = os.stat(c.sock)
    eq(stat.S_IMODE(st.st_mode), 0o620, "listen_mode")
    eq(st.st_gid, grp.getgrnam(GROUP).gr_gid, "listen_group")
    ok(stat.S_ISSOCK(st.st_mode))


def test_cgi_runs_as_the_unprivileged_user(_):
    if os.geteuid() != 0:
        raise Skip("needs root to change users")
    nobody = pwd.getpwnam("nobody")
    c = Cluster("[app]\nworkers = 1\nuser = nobody\n[handler cgi]\n"
                "url = /cgi/\ncgi = {dir}/cgi\n", "sec-drop")
    os.makedirs(c.path("cgi"))
    with open(c.path("cgi", "who"), "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
                "echo uid=$(id -u) gid=$(id -g)\n"
                "cat %s 2>/dev/null || echo unreadable\n" %
                c.path("root-only"))
    os.chmod(c.path("cgi", "who"), 0o755)
    with open(c.path("root-only"), "w") as f:
        f.write("root secret\n")
    os.chmod(c.path("root-only"), 0o600)
    try:
        c.start()
        t = c.get("/cgi/who").text
        ok("uid=%d gid=%d" % (nobody.pw_uid, nobody.pw_gid) in t, t)
        ok("root secret" not in t and "unreadable" in t, t)
    finally:
        c.stop()


main(setup=setup, teardown=teardown)
