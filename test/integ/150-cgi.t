#!/usr/bin/env python3
"""Classic CGI through nginx: the RFC 3875 environment, the working
directory, the host's own environment kept out, request bodies in and out
without deadlock, stderr as log records, NPH, local redirects, deadlines
(SIGTERM then SIGKILL to the process group, nothing left behind),
cancellation, and everything that must never run: traversal, symlinks out
of the directory, non-regular and non-executable files.
"""
import os
import re
import shutil
import socket
import stat
import subprocess
import time

from warmtest import Cluster, eq, main, ok, src, wait_for

INI = """
[app]
version = 3
workers = 2
request_timeout = 30s

[env_variables]
APP_SETTING = from-config

[handler slow]
url = /slow/
cgi = {dir}/cgi-bin/
timeout = 1s
deadline_grace = 1s

[handler cgi]
url = /cgi-bin/
cgi = {dir}/cgi-bin/
"""

SECRET = "WARMCGI_HOST_SECRET"


def fixtures(c):
    """cgi-bin/ with the test scripts, and things that must never run."""
    d = c.path("cgi-bin")
    os.makedirs(d)
    for name in os.listdir(src("test/handlers/cgi")):
        shutil.copy(src("test/handlers/cgi/" + name), d)
        os.chmod(os.path.join(d, name), 0o755)
    c.marker_dir = c.path("markers")
    os.makedirs(c.marker_dir)
    os.makedirs(c.path("outside"))

    def evil(path, name):
        with open(path, "w") as f:
            f.write("#!/bin/sh\ntouch %s/%s\n"
                    "printf 'Content-Type: text/plain\\r\\n\\r\\nran\\n'\n"
                    % (c.marker_dir, name))
        os.chmod(path, 0o755)
    evil(c.path("evil.sh"), "parent")
    evil(c.path("outside", "evil.sh"), "outside")
    evil(os.path.join(d, ".hidden.sh"), "hidden")
    evil(os.path.join(d, "noexec.sh"), "noexec")
    os.chmod(os.path.join(d, "noexec.sh"), 0o644)
    os.symlink("../outside/evil.sh", os.path.join(d, "link-out"))
    os.symlink(c.path("outside"), os.path.join(d, "linkdir"))
    os.symlink("env.sh", os.path.join(d, "link-in"))
    os.mkfifo(os.path.join(d, "fifo"))
    os.makedirs(os.path.join(d, "subdir"))
    evil(os.path.join(d, "subdir", "ok.sh"), "subdir")
    if os.getuid() == 0:
        os.mknod(os.path.join(d, "null"), 0o755 | stat.S_IFCHR,
                 os.makedev(1, 3))


def setup():
    c = Cluster(INI, "cgi", workers_env={SECRET: "must-not-leak"})
    fixtures(c)
    return c.start()


def teardown(c):
    c.stop()


def markers(c):
    return sorted(os.listdir(c.marker_dir))


def fcgi(c, params, body=b""):
    """One request straight to warmcgi's socket (no nginx in between),
    so that paths nginx would normalise arrive as they are."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "REQUEST_METHOD": "GET", "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    env.update(params)
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    p = subprocess.run(["cgi-fcgi", "-bind", "-connect", c.sock],
                       input=body, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    head = p.stdout.split(b"\r\n", 1)[0].decode()
    m = re.match(r"Status: (\d+)", head)
    ok(m, "no status from warmcgi: %r" % p.stdout[:200])
    return int(m.group(1)), p.stdout


# -- the environment -------------------------------------------------------

def test_rfc3875_environment(c):
    r = c.get("/cgi-bin/env.sh/some/path%20info?x=1&y=%41",
              headers={"X-Custom": "hello", "Proxy": "http://evil:1"})
    eq(r.status, 200)
    e = r.env()
    eq(e["GATEWAY_INTERFACE"], "CGI/1.1")
    eq(e["SERVER_SOFTWARE"], "warmcgi/0.1.0")
    eq(e["REQUEST_METHOD"], "GET")
    eq(e["SCRIPT_NAME"], "/cgi-bin/env.sh")
    eq(e["SCRIPT_FILENAME"], c.path("cgi-bin", "env.sh"))
    eq(e["PATH_INFO"], "/some/path info")
    ok(e["PATH_TRANSLATED"].endswith("/some/path info") and
       e["PATH_TRANSLATED"].startswith("/"), e.get("PATH_TRANSLATED"))
    eq(e["QUERY_STRING"], "x=1&y=%41")
    eq(e["REQUEST_URI"], "/cgi-bin/env.sh/some/path%20info?x=1&y=%41")
    eq(e["SERVER_PROTOCOL"], "HTTP/1.1")
    eq(e["SERVER_NAME"], "localhost")
    ok(e.get("REMOTE_ADDR"), "REMOTE_ADDR set")
    eq(e["REMOTE_HOST"], e["REMOTE_ADDR"])
    eq(e["HTTP_X_CUSTOM"], "hello")
    ok("HTTP_HOST" in e, "HTTP_HOST")
    ok("HTTP_PROXY" not in e, "httpoxy: HTTP_PROXY never set")
    ok("CONTENT_LENGTH" not in e and "CONTENT_TYPE" not in e,
       "no body, no CONTENT_*")
    ok(re.fullmatch(r"[0-9a-f]{40}", e["REQUEST_LOG_ID"]), "REQUEST_LOG_ID")
    ok(re.fullmatch(r"3\.\d+", e["CURRENT_VERSION_ID"]), "version")
    ok(re.fullmatch(r"[0-9a-f]{32,64}", e["INSTANCE_ID"]), "INSTANCE_ID")
    dl = int(e["REQUEST_DEADLINE"])
    ok(abs(dl - (time.time() + 30) * 1000) < 10000, "REQUEST_DEADLINE")
    eq(e["APP_SETTING"], "from-config")


def test_query_string_always_set_and_body_variables(c):
    r = c.post("/cgi-bin/env.sh", b"a=1",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    e = r.env()
    eq(e["QUERY_STRING"], "")
    eq(e["REQUEST_METHOD"], "POST")
    eq(e["CONTENT_LENGTH"], "3")
    eq(e["CONTENT_TYPE"], "application/x-www-form-urlencoded")
    ok("HTTP_CONTENT_TYPE" not in e and "HTTP_CONTENT_LENGTH" not in e,
       "no HTTP_CONTENT_*")
    ok("PATH_INFO" not in e and "PATH_TRANSLATED" not in e,
       "no path info, no PATH_INFO")


def test_working_directory_is_the_scripts(c):
    eq(c.get("/cgi-bin/env.sh").env()["CWD"], c.path("cgi-bin"))


def test_host_environment_never_visible(c):
    # warmcgi itself runs with SECRET and the test runner's PATH, HOME...
    e = c.get("/cgi-bin/env.sh").env()
    ok(SECRET not in e, "the host's environment leaked")
    for name in ("HOME", "WARMCGI_BUILDDIR", "WARMCGI_SRCDIR"):
        ok(name not in e, "%s leaked" % name)


# -- bodies, stderr, NPH, local redirect -----------------------------------

def test_post_echo_without_deadlock(c):
    for size in (0, 1 << 20, 20 << 20):
        body = os.urandom(size)
        r = c.post("/cgi-bin/echo.sh", body, timeout=120)
        eq(r.status, 200, "status for %d bytes" % size)
        eq(len(r.body), size, "echoed length")
        ok(r.body == body, "echoed %d bytes intact" % size)


def test_stderr_lines_become_records_of_the_request(c):
    r = c.get("/cgi-bin/stderr.sh")
    eq(r.status, 200)
    rid = r.text.strip()
    recs = c.wait_app(lambda x: x.get("request_id") == rid and
                      "no newline" in x["message"], what="last line")
    recs = [x for x in c.app_records() if x.get("request_id") == rid]
    byline = {x["message"]: x for x in recs}
    err = [x for x in recs if x["message"].startswith("cgi stderr error")]
    eq(len(err), 1)
    eq(err[0]["level"], "ERROR")
    eq(err[0]["handler"], "cgi")
    eq(byline["cgi stderr plain line"]["level"], "INFO")
    ok("no newline at the end" in byline, "a last line without newline")


def test_nph_status_line_becomes_the_status(c):
    r = c.get("/cgi-bin/nph-created.sh")
    eq(r.status, 201)
    eq(r.reason, "Created")
    eq(r.header("X-Nph"), "yes")
    eq(r.body, b"made by nph\n")
    # Not buffered by warmcgi: no Content-Length, the body as written.
    eq(r.header("Content-Length"), None)
    eq(r.header("X-Accel-Buffering"), None)


def test_local_redirect_is_served_internally(c):
    r = c.post("/cgi-bin/redirect.sh", b"ignored body")
    eq(r.status, 200)
    e = r.env()
    eq(e["PATH_INFO"], "/redirected")
    eq(e["QUERY_STRING"], "from=redirect")
    eq(e["REQUEST_METHOD"], "GET")
    ok("CONTENT_LENGTH" not in e, "the redirect has no body")


# -- deadlines and cancellation --------------------------------------------

def gone(pid):
    """True once pid is neither running nor a zombie."""
    return not os.path.exists("/proc/%d" % pid)


def sleeper(c, mode):
    t0 = time.monotonic()
    r = c.get("/slow/sleeper.sh?" + mode)
    took = time.monotonic() - t0
    pids = c.path("cgi-bin", "pids")
    files = [f for f in os.listdir(pids) if not f.endswith(".tmp")]
    ok(files, "the script recorded its pids")
    rid = max(files)
    with open(os.path.join(pids, rid)) as f:
        parent, child = map(int, f.read().split())
    os.unlink(os.path.join(pids, rid))
    return r, rid, parent, child, took


def test_deadline_sigterm_ends_script_and_child(c):
    r, rid, parent, child, took = sleeper(c, "die")
    eq(r.status, 500)
    wait_for(lambda: gone(parent) and gone(child), 10, "both processes gone")
    recs = c.wait_app(lambda x: x.get("request_id") == rid and
                      "SIGTERM" in x["message"], what="SIGTERM record")
    ok("soft deadline" in recs[0]["message"], recs[0]["message"])
    ok(not [x for x in c.app_records() if x.get("request_id") == rid and
            "SIGKILL" in x["message"]], "no SIGKILL needed")


def test_deadline_sigkill_when_sigterm_is_ignored(c):
    r, rid, parent, child, took = sleeper(c, "ignore")
    eq(r.status, 500)
    ok(took >= 1.5, "held until the hard deadline (%.2fs)" % took)
    wait_for(lambda: gone(parent) and gone(child), 10, "both processes gone")
    msgs = [x["message"] for x in c.app_records()
            if x.get("request_id") == rid]
    ok(any("SIGTERM" in m for m in msgs), msgs)
    ok(any("SIGKILL" in m and "hard deadline" in m for m in msgs), msgs)
    eq(c.wait_access(lambda x: x["request_id"] == rid)[0]["status"], 500)


def test_deadline_script_may_answer_itself(c):
    r, rid, parent, child, took = sleeper(c, "answer")
    eq(r.status, 503)
    eq(r.body, b"stopped cleanly\n")
    wait_for(lambda: gone(parent) and gone(child), 10, "both processes gone")


def test_client_gone_ends_script(c):
    s = socket.socket(socket.AF_UNIX)
    s.connect(c.http_sock)
    s.sendall(b"GET /slow/sleeper.sh?ignore HTTP/1.1\r\nHost: x\r\n\r\n")
    pids = c.path("cgi-bin", "pids")
    files = wait_for(lambda: [f for f in os.listdir(pids)
                              if not f.endswith(".tmp")], 10, "script start")
    with open(os.path.join(pids, files[0])) as f:
        parent, child = map(int, f.read().split())
    os.unlink(os.path.join(pids, files[0]))
    s.close()
    wait_for(lambda: gone(parent) and gone(child), 10, "both processes gone")
    eq(c.wait_access(lambda x: x["request_id"] == files[0])[0]["status"],
       499)


def test_no_zombies_left(c):
    for w in c.workers():
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ok(not (int(fields[1]) in (w, c.proc.pid) and fields[0] == "Z"),
               "zombie %s under %d" % (d, w))


# -- what must never run ---------------------------------------------------

def test_traversal_through_nginx_never_runs(c):
    paths = [
        "/cgi-bin/../evil.sh",
        "/cgi-bin/%2e%2e/evil.sh",
        "/cgi-bin/%2E%2E/evil.sh",
        "/cgi-bin/.%2e/evil.sh",
        "/cgi-bin/%2e%2e%2fevil.sh",
        "/cgi-bin/..%2Fevil.sh",
        "/cgi-bin/..%252fevil.sh",
        "/cgi-bin/%252e%252e/evil.sh",
        "/cgi-bin/..\\evil.sh",
        "/cgi-bin/..%5cevil.sh",
        "/cgi-bin/subdir/..%2f..%2f..%2fevil.sh",
        "/cgi-bin/link-out",
        "/cgi-bin/link-out/extra",
        "/cgi-bin/linkdir/evil.sh",
        "/cgi-bin/.hidden.sh",
        "/cgi-bin/%2ehidden.sh",
        "/cgi-bin/noexec.sh",
        "/cgi-bin/fifo",
        "/cgi-bin/subdir",
        "/cgi-bin/subdir/ok.sh",
        "/cgi-bin/null",
        "/cgi-bin//evil.sh",
        "/cgi-bin/",
    ]
    bad = []
    for p in paths:
        r = c.get(p)
        if r.status not in (400, 403, 404):
            bad.append((p, r.status))
    eq((bad, markers(c)), ([], []), "(accepted, ran)")


def test_traversal_straight_to_warmcgi_never_runs(c):
    """nginx normalises paths; another front end (or a bug) might not."""
    attempts = [
        {"SCRIPT_NAME": "/cgi-bin/../evil.sh"},
        {"SCRIPT_NAME": "/cgi-bin/..", "PATH_INFO": "/evil.sh"},
        {"SCRIPT_NAME": "/cgi-bin", "PATH_INFO": "/../evil.sh"},
        {"SCRIPT_NAME": "/cgi-bin/./../outside/evil.sh"},
        {"SCRIPT_NAME": "/cgi-bin/linkdir/evil.sh"},
        {"SCRIPT_NAME": "/cgi-bin/link-out"},
        {"SCRIPT_NAME": "/cgi-bin/.hidden.sh"},
        {"SCRIPT_NAME": "/cgi-bin/subdir/../../evil.sh"},
        {"SCRIPT_NAME": "", "REQUEST_URI": "/cgi-bin/%2e%2e/evil.sh"},
        {"SCRIPT_NAME": "", "REQUEST_URI": "/cgi-bin/..%2fevil.sh"},
        {"SCRIPT_NAME": "/cgi-bin/..\\evil.sh"},
        {"SCRIPT_NAME": "/cgi-bin/noexec.sh"},
        {"SCRIPT_NAME": "/cgi-bin/fifo"},
        {"SCRIPT_NAME": "/cgi-bin/null"},
    ]
    bad = []
    for params in attempts:
        status, out = fcgi(c, params)
        if status not in (403, 404):
            bad.append((params, status))
    eq((bad, markers(c)), ([], []), "(accepted, ran)")


def test_non_executable_is_403_and_symlink_inside_runs(c):
    eq(c.get("/cgi-bin/noexec.sh").status, 403)
    eq(c.get("/cgi-bin/link-out").status, 403)
    eq(c.get("/cgi-bin/fifo").status, 403)
    eq(c.get("/cgi-bin/missing.sh").status, 404)
    r = c.get("/cgi-bin/link-in/x")
    eq(r.status, 200)
    eq(r.env()["PATH_INFO"], "/x")
    eq(markers(c), [])


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
