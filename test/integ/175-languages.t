#!/usr/bin/env python3
"""Modules in other languages, served through nginx: examples/cpp (C++,
the standard library, exceptions contained in main()) and examples/rust
(a cdylib exporting main, std only; built here with cargo, or rustc, and
skipped visibly when there is no Rust compiler). With preload = on, so
that libstdc++ starts before the host captures stdio: nothing of one
request's output or body may reach the next one.
"""
import os
import re
import shutil
import subprocess
import tempfile

from warmtest import BUILD, SRC, Cluster, Skip, eq, main, ok

CPP = os.path.join(BUILD, "examples", "cpp", "wordfreq.so")


def find_tool(name):
    return shutil.which(name) or next(
        (p for p in (os.path.expanduser("~/.cargo/bin/" + name),)
         if os.access(p, os.X_OK)), None)


def build_rust(tmp):
    """Builds examples/rust; returns the .so, or None without Rust."""
    crate = os.path.join(SRC, "examples", "rust")
    cargo, rustc = find_tool("cargo"), find_tool("rustc")
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(tmp, "target"))
    if cargo:
        env["PATH"] = os.path.dirname(cargo) + os.pathsep + env["PATH"]
        subprocess.run([cargo, "build", "--release", "--offline", "--quiet",
                        "--manifest-path", os.path.join(crate, "Cargo.toml")],
                       env=env, check=True, timeout=600)
        return os.path.join(tmp, "target", "release", "libgreet.so")
    if rustc:
        out = os.path.join(tmp, "libgreet.so")
        subprocess.run([rustc, "--edition", "2021", "--crate-type", "cdylib",
                        "-O", "-C", "panic=unwind", "-o", out,
                        os.path.join(crate, "src", "lib.rs")],
                       env=env, check=True, timeout=600)
        return out
    return None


def setup():
    tmp = tempfile.mkdtemp(prefix="warmcgi-lang-")
    rust = build_rust(tmp)
    ini = "[app]\nworkers = 1\npreload = on\nrequest_timeout = 30s\n"
    if os.path.exists(CPP):
        ini += "[handler cpp]\nurl = /wordfreq\nmodule = %s\n" % CPP
    if rust:
        ini += "[handler rust]\nurl = /greet/\nmodule = %s\n" % rust
    if "[handler" not in ini:
        ini += "[handler none]\nurl = /none\nstatic_dir = %s\n" % tmp
    c = Cluster(ini, "lang").start()
    c.tmp = tmp
    c.has_cpp = os.path.exists(CPP)
    c.has_rust = rust is not None
    return c


def teardown(c):
    c.stop()
    shutil.rmtree(c.tmp, ignore_errors=True)


def need_cpp(c):
    if not c.has_cpp:
        raise Skip("no C++ compiler found by configure")


def need_rust(c):
    if not c.has_rust:
        raise Skip("no Rust compiler (cargo or rustc)")


def test_cpp_counts_words(c):
    need_cpp(c)
    r = c.post("/wordfreq?top=2", b"the cat and the dog. A cat, a CAT!")
    eq(r.status, 200)
    lines = r.text.splitlines()
    eq(lines[:2], ["3 cat", "1 dog"])
    ok(re.match(r"-- 2 distinct words; request \d+ of this worker$",
                lines[2]), lines)


def test_cpp_requests_do_not_leak_into_each_other(c):
    need_cpp(c)
    seen = []
    for word in ("alpha", "beta", "gamma"):
        r = c.post("/wordfreq", word.encode() * 1)
        eq(r.status, 200, r.text)
        ok(r.text.startswith("1 %s\n" % word), r.text)
        n = int(re.search(r"request (\d+) of this worker", r.text).group(1))
        seen.append(n)
    eq(seen, [seen[0], seen[0] + 1, seen[0] + 2])


def test_cpp_exceptions_stay_inside(c):
    need_cpp(c)
    before = c.workers()
    r = c.post("/wordfreq?top=x", b"some words")
    eq((r.status, r.text), (400, "top must be a positive number\n"))
    r = c.post("/wordfreq?top=99999999999999", b"some words")
    eq(r.status, 400)
    eq(c.get("/wordfreq").status, 400)
    eq(c.post("/wordfreq", b"still fine").status, 200)
    eq(c.workers(), before, "no worker was replaced")


def test_rust_hello(c):
    need_rust(c)
    r = c.get("/greet/hello?name=Ada")
    eq(r.status, 200)
    m = re.match(r"Hello, Ada! \((\d+) ms left; request (\d+) of this "
                 r"worker\)\n$", r.text)
    ok(m, r.text)
    ok(0 < int(m.group(1)) <= 30000, m.group(1))
    n = int(re.search(r"request (\d+)", c.get("/greet/hello").text).group(1))
    eq(n, int(m.group(2)) + 1, "the static counter persists")


def test_rust_echo_raw_descriptors(c):
    need_rust(c)
    body = os.urandom(200 * 1024)
    r = c.post("/greet/echo", body)
    eq(r.status, 200)
    ok(r.body == body, "echoed %d bytes" % len(r.body))
    eq(c.post("/greet/echo", b"short").body, b"short")


def test_rust_panic_is_a_500_from_the_module(c):
    need_rust(c)
    before = c.workers()
    r = c.get("/greet/panic")
    eq((r.status, r.text), (500, "internal error\n"))
    rec = c.wait_app(lambda x: x["message"].startswith("panic: "))[0]
    eq(rec["level"], "ERROR")
    ok("asked to panic" in rec["message"], rec)
    eq(c.get("/greet/hello").status, 200)
    eq(c.workers(), before, "no worker was replaced")
    r = c.get("/greet/nothing")
    eq(r.status, 404)
    c.wait_app(lambda x: x["message"] == "greet: no such page /nothing" and
               x["level"] == "WARNING")


main(setup=setup, teardown=teardown)
