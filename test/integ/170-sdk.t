#!/usr/bin/env python3
"""The SDK as a handler author gets it: `make install` into a temp prefix
(DESTDIR) puts warmcgi, warmcgi.h, libwarmcgi (static and shared),
warmcgi.pc and the manual pages in place; `pkg-config warmcgi` works;
examples/template, copied out of the tree, builds its module against that
SDK and passes its own test (which runs `warmcgi --request`), and its CGI
executable links with the installed libwarmcgi.
"""
import os
import shutil
import subprocess
import tempfile

from warmtest import BUILD, SRC, eq, main, ok

WC_CALLS = ("wc_deadline_ms", "wc_time_left_ms", "wc_set_timeout_ms",
            "wc_done", "wc_err", "wc_done_fd", "wc_value", "wc_set_value",
            "wc_log")


def make_var(name):
    out = subprocess.run(["sed", "-n", "s/^%s = //p" % name,
                          os.path.join(BUILD, "Makefile")],
                         stdout=subprocess.PIPE).stdout.decode()
    return out.strip()


class SDK:
    def __init__(self):
        self.stage = tempfile.mkdtemp(prefix="warmcgi-sdk-")
        subprocess.run(["make", "-s", "-C", BUILD, "install",
                        "DESTDIR=" + self.stage], check=True,
                       stdout=subprocess.DEVNULL)
        self.root = self.stage + make_var("prefix")
        self.env = dict(os.environ,
                        PKG_CONFIG_PATH=self.root + "/lib/pkgconfig",
                        PKG_CONFIG_SYSROOT_DIR=self.stage,
                        LD_LIBRARY_PATH=self.root + "/lib")
        self.env.pop("GATEWAY_INTERFACE", None)

    def path(self, p):
        return os.path.join(self.root, p)

    def stop(self):
        if os.environ.get("WARMCGI_KEEP") is None:
            shutil.rmtree(self.stage, ignore_errors=True)


def setup():
    return SDK()


def teardown(sdk):
    sdk.stop()


def run(cmd, sdk, cwd=None):
    p = subprocess.run(cmd, env=sdk.env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def test_files_are_installed(sdk):
    for p in ("sbin/warmcgi", "include/warmcgi.h", "lib/libwarmcgi.a",
              "lib/libwarmcgi.so", "lib/pkgconfig/warmcgi.pc",
              "share/man/man8/warmcgi.8", "share/man/man5/warmcgi.ini.5",
              "share/man/man3/warmcgi.h.3"):
        ok(os.path.exists(sdk.path(p)), p + " not installed")
    for f in WC_CALLS:
        with open(sdk.path("share/man/man3/%s.3" % f)) as fp:
            eq(fp.read(), ".so man3/warmcgi.h.3\n")


def test_pkg_config(sdk):
    rc, out = run(["pkg-config", "--cflags", "--libs", "warmcgi"], sdk)
    eq(rc, 0, out)
    flags = out.split()
    ok("-I%s/include" % sdk.root in flags, flags)
    ok("-L%s/lib" % sdk.root in flags and "-lwarmcgi" in flags, flags)


def test_manual_pages_render_cleanly(sdk):
    for page in ("man8/warmcgi.8", "man5/warmcgi.ini.5", "man3/warmcgi.h.3"):
        p = subprocess.run(["groff", "-mdoc", "-ww", "-z", "-Tutf8",
                            sdk.path("share/man/" + page)],
                           stderr=subprocess.PIPE, timeout=60)
        eq((p.returncode, p.stderr.decode()), (0, ""), page)
    env = dict(sdk.env, MANPAGER="cat", MANWIDTH="80")
    p = subprocess.run(["man", "-M", sdk.path("share/man"), "3", "wc_log"],
                       env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    text = p.stdout.decode()
    ok("wc_set_timeout_ms" in text and "EXAMPLES" in text, text[:500])


def test_template_builds_and_passes_its_test(sdk):
    d = tempfile.mkdtemp(prefix="warmcgi-template-")
    try:
        proj = os.path.join(d, "myhandler")
        shutil.copytree(os.path.join(SRC, "examples", "template"), proj)
        warmcgi = sdk.path("sbin/warmcgi")
        rc, out = run(["make", "WARMCGI=" + warmcgi], sdk, cwd=proj)
        eq(rc, 0, out)
        ok(os.path.exists(os.path.join(proj, "hello.so")), out)
        rc, out = run(["make", "test", "WARMCGI=" + warmcgi], sdk, cwd=proj)
        eq(rc, 0, out)
        ok("not ok" not in out and out.count("ok - ") >= 5, out)
        # The same source as a CGI executable, with the installed library.
        san = make_var("SAN_CFLAGS")
        rc, out = run(["make", "hello.cgi", "LDFLAGS=" + san], sdk, cwd=proj)
        eq(rc, 0, out)
        p = subprocess.run([os.path.join(proj, "hello.cgi")], env=dict(
            sdk.env, REQUEST_METHOD="GET", QUERY_STRING="name=Cgi",
            REQUEST_DEADLINE="99999999999999"), stdout=subprocess.PIPE,
            timeout=30)
        ok(p.stdout.startswith(b"Content-Type: text/plain\r\n\r\nHello, "
                               b"Cgi!"), p.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_template_test_catches_a_broken_handler(sdk):
    d = tempfile.mkdtemp(prefix="warmcgi-template-")
    try:
        proj = os.path.join(d, "broken")
        shutil.copytree(os.path.join(SRC, "examples", "template"), proj)
        with open(os.path.join(proj, "handler.c")) as f:
            src = f.read()
        with open(os.path.join(proj, "handler.c"), "w") as f:
            f.write(src.replace('"Hello, %s!', '"Goodbye, %s!'))
        rc, out = run(["make", "test", "WARMCGI=" + sdk.path("sbin/warmcgi")],
                      sdk, cwd=proj)
        ok(rc != 0 and "not ok - greets" in out, out)
    finally:
        shutil.rmtree(d, ignore_errors=True)


main(setup=setup, teardown=teardown)
