#!/usr/bin/env python3
"""The build: the host exports only the wc_* API (and the interposed
exits), so it can never capture a handler's own function of the same
name; `make install DESTDIR=` installs an SDK that builds modules and CGI
executables.
"""
import os
import re
import shutil
import subprocess
import tempfile

from warmtest import BUILD, WARMCGI, Cluster, eq, main, ok

HOST_PREFIXES = ("conf_", "log_", "pipeline_", "worker_", "master_", "req_",
                 "route_", "module_", "capture_", "cgi_", "cgiresp_",
                 "deadline_", "crash_", "gzip_", "static_", "sdk_", "buf_",
                 "arena_", "sb_", "nginxconf_", "mime_", "secure_",
                 "main")


def make_var(name):
    out = subprocess.run(["sed", "-n", "s/^%s = //p" % name,
                          os.path.join(BUILD, "Makefile")],
                         stdout=subprocess.PIPE).stdout.decode()
    return out.strip()


def exported():
    out = subprocess.run(["nm", "-D", "--defined-only", WARMCGI],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def test_only_the_api_is_exported():
    syms = exported()
    # Versioned names are libc's copy-relocated data, ini_* inih's, and
    # __* the sanitizer runtime's in --enable-sanitizers builds.
    ours = [s for s in syms if "@" not in s and
            not s.startswith(("ini_", "__"))]
    for s in ours:
        ok(s.startswith("wc_") or s in ("exit", "_exit", "pthread_create"),
           "exported: " + s)
        ok(not s.startswith(HOST_PREFIXES), "host internal exported: " + s)
    for name in ("wc_deadline_ms", "wc_time_left_ms", "wc_set_timeout_ms",
                 "wc_done", "wc_err", "wc_done_fd", "wc_value",
                 "wc_set_value", "wc_log"):
        ok(name in ours, name + " missing")


def test_a_handler_helper_is_not_captured_by_the_host():
    # A module defining its own log_info() and conf_load() gets its own.
    d = tempfile.mkdtemp(prefix="warmcgi-sym-")
    src = os.path.join(d, "own.c")
    with open(src, "w") as f:
        f.write('#include <stdio.h>\n'
                'const char *log_info(void) { return "mine"; }\n'
                'int conf_load(void) { return 42; }\n'
                'int main(void) { printf("Content-Type: text/plain\\r\\n\\r\\n'
                '%s %d\\n", log_info(), conf_load()); return 0; }\n')
    subprocess.run(["cc", "-shared", "-fPIC", src, "-o",
                    os.path.join(d, "own.so")], check=True)
    c = Cluster("[handler own]\nurl = /own\nmodule = %s/own.so\n" % d,
                "sym").start()
    try:
        eq(c.get("/own").text, "mine 42\n")
    finally:
        c.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_make_install_destdir_gives_a_working_sdk():
    stage = tempfile.mkdtemp(prefix="warmcgi-stage-")
    try:
        subprocess.run(["make", "-s", "-C", BUILD, "install",
                        "DESTDIR=" + stage], check=True,
                       stdout=subprocess.DEVNULL)
        root = stage + make_var("prefix")
        san = make_var("SAN_CFLAGS").split()
        for p in ("sbin/warmcgi", "include/warmcgi.h", "lib/libwarmcgi.a",
                  "lib/libwarmcgi.so", "lib/pkgconfig/warmcgi.pc"):
            ok(os.path.exists(os.path.join(root, p)), p + " not installed")
        env = dict(os.environ, PKG_CONFIG_PATH=root + "/lib/pkgconfig",
                   PKG_CONFIG_SYSROOT_DIR=stage)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "warmcgi"], env=env, stdout=subprocess.PIPE,
                               check=True).stdout.decode().split()
        ok(any(f.startswith("-I") and f.endswith("/include") for f in flags),
           flags)
        src = os.path.join(stage, "h.c")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\n#include <warmcgi.h>\n'
                    'int main(void) { printf("Content-Type: text/plain\\r\\n'
                    '\\r\\nleft=%d\\n", wc_time_left_ms() > 0); return 0; }\n')
        subprocess.run(["cc", "-shared", "-fPIC", src, "-o",
                        os.path.join(stage, "h.so")] +
                       [f for f in flags if f.startswith("-I")], check=True)
        subprocess.run(["cc", src, "-o", os.path.join(stage, "h")] + flags +
                       san + ["-Wl,-rpath," + root + "/lib"], check=True)
        out = subprocess.run([os.path.join(stage, "h")], env=dict(
            os.environ, REQUEST_DEADLINE="99999999999999"),
            stdout=subprocess.PIPE, check=True).stdout.decode()
        ok(re.search(r"left=1", out), out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


main()
