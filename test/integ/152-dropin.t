#!/usr/bin/env python3
"""dir = drop-in directories: NAME.so as a cached module and the
executable NAME as classic CGI side by side; a .so dropped in is served
from the next request on; a replaced .so (written, then renamed into
place) serves the very next request with the new code, under continuous
load, with no failed request; nothing outside the directory is loaded.
"""
import os
import shutil
import subprocess
import threading
import time

from warmtest import Cluster, build, eq, main, ok, src, wait_for

INI = """
[app]
workers = 3
request_timeout = 30s

[handler apps]
url = /app/
dir = {dir}/apps
"""

VERSIONED = r"""
#include <stdio.h>
#include <unistd.h>

static int calls;

int
main(void)
{
	printf("Content-Type: text/plain\r\n\r\nversion %d pid %d call %d\n",
	    VERSION, (int)getpid(), ++calls);
	return 0;
}
"""

MARKER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((constructor)) static void
loaded(void)
{
	close(open(MARKER, O_CREAT | O_WRONLY, 0644));
}

int
main(void)
{
	printf("Content-Type: text/plain\r\n\r\nloaded\n");
	return 0;
}
"""

SHELL = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\ncgi %s %s\\n' "$SCRIPT_NAME" \
    "$PATH_INFO"
"""


def cc(c, source, out, defines):
    path = c.path("src.c")
    with open(path, "w") as f:
        f.write(source)
    cmd = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-o", out, path]
    cmd += ["-D%s=%s" % kv for kv in defines.items()]
    subprocess.run(cmd, check=True)


def install(c, tmp, name):
    """Puts tmp in place as apps/name the way deploy tools do: rename."""
    os.rename(tmp, c.path("apps", name))


def setup():
    c = Cluster(INI, "dropin")
    apps = c.path("apps")
    os.makedirs(apps)
    os.makedirs(c.path("outside"))
    os.makedirs(c.path("markers"))
    shutil.copy(build("examples/hello/hello.so"), apps)
    with open(os.path.join(apps, "shell"), "w") as f:
        f.write(SHELL)
    os.chmod(os.path.join(apps, "shell"), 0o755)
    # Both both.so and both: the module wins.
    shutil.copy(build("examples/hello/hello.so"),
                os.path.join(apps, "both.so"))
    shutil.copy(os.path.join(apps, "shell"), os.path.join(apps, "both"))
    for i in (1, 2, 3, 4):
        cc(c, VERSIONED, c.path("v%d.so" % i), {"VERSION": i})
    cc(c, MARKER, c.path("outside", "marker.so"),
       {"MARKER": '"%s"' % c.path("markers", "outside")})
    cc(c, MARKER, c.path("apps", "inside.so"),
       {"MARKER": '"%s"' % c.path("markers", "inside")})
    os.symlink(c.path("outside", "marker.so"),
               os.path.join(apps, "escape.so"))
    os.symlink(c.path("outside"), os.path.join(apps, "linkdir"))
    return c.start()


def teardown(c):
    c.stop()


def test_module_and_executable_side_by_side(c):
    r = c.get("/app/hello")
    eq(r.status, 200)
    eq(r.body, b"Hello, World!\n")
    r = c.get("/app/shell/rest/of/it")
    eq(r.status, 200)
    eq(r.body, b"cgi /app/shell /rest/of/it\n")
    eq(c.get("/app/both").body, b"Hello, World!\n")
    eq(c.get("/app/nothing").status, 404)


def test_so_is_never_run_as_a_program(c):
    eq(c.get("/app/hello.so").status, 404)
    eq(c.get("/app/inside.so").status, 404)
    ok(not os.path.exists(c.path("markers", "inside")), "inside.so ran")


def test_nothing_outside_is_loaded(c):
    eq(c.get("/app/escape").status, 403)
    ok(c.get("/app/linkdir/marker").status in (403, 404), "linkdir")
    eq(os.listdir(c.path("markers")), [])
    eq(c.get("/app/inside").body, b"loaded\n")
    eq(os.listdir(c.path("markers")), ["inside"])


def test_dropped_in_so_served_from_next_request(c):
    eq(c.get("/app/ver").status, 404)
    shutil.copy(c.path("v1.so"), c.path("apps", ".ver.so.tmp"))
    install(c, c.path("apps", ".ver.so.tmp"), "ver.so")
    # Every worker, whichever takes it, serves it at once.
    for _ in range(6):
        r = c.get("/app/ver")
        eq(r.status, 200)
        ok(r.text.startswith("version 1 "), r.text)


def test_replacement_under_load_no_failures(c):
    for w in range(4):      # each worker loads version 1 first
        c.get("/app/ver")
    stop = threading.Event()
    results = []            # (started, status, text)
    installed = []          # (version, time the rename returned)
    lock = threading.Lock()

    def load():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = c.get("/app/ver", timeout=30)
                item = (t0, r.status, r.text)
            except Exception as e:      # noqa: B902
                item = (t0, 0, repr(e))
            with lock:
                results.append(item)
    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for v in (2, 3, 4):
            n = len(results)
            wait_for(lambda: len(results) > n + 30, 30, "load running")
            shutil.copy(c.path("v%d.so" % v), c.path("apps", ".tmp"))
            install(c, c.path("apps", ".tmp"), "ver.so")
            installed.append((v, time.monotonic()))
        n = len(results)
        wait_for(lambda: len(results) > n + 30, 30, "more load")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    bad = [x for x in results if x[1] != 200]
    eq(bad, [], "failed requests")
    # Every request that started after a rename got that code or newer.
    stale = []
    for t0, status, text in results:
        got = int(text.split()[1])
        want = max([v for v, t in installed if t < t0] or [1])
        if got < want:
            stale.append((want, text))
    eq(stale, [], "requests served old code after the rename")
    ok(len(results) > 120, "%d requests under load" % len(results))
    for rec in c.app_records():
        ok("dying young" not in rec["message"], rec["message"])
    c.wait_workers(3)


def test_broken_replacement_is_500_then_fixed(c):
    with open(c.path("apps", ".tmp"), "wb") as f:
        f.write(b"not an ELF file")
    install(c, c.path("apps", ".tmp"), "ver.so")
    r = c.get("/app/ver")
    eq(r.status, 500)
    shutil.copy(c.path("v1.so"), c.path("apps", ".tmp"))
    install(c, c.path("apps", ".tmp"), "ver.so")
    for _ in range(4):
        r = c.get("/app/ver")
        eq(r.status, 200)
        ok(r.text.startswith("version 1 "), r.text)


def test_removed_so_falls_back_to_executable(c):
    shutil.copy(c.path("apps", "shell"), c.path("apps", "ver"))
    os.unlink(c.path("apps", "ver.so"))
    for _ in range(4):
        eq(c.get("/app/ver/x").body, b"cgi /app/ver /x\n")


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
