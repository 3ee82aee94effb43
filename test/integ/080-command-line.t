#!/usr/bin/env python3
"""The command line: -V, -t with FILE:LINE for every problem (the same
checks stop a start), --nginx, usage errors, and a socket in use.
"""
import os
import re
import subprocess
import tempfile

from warmtest import WARMCGI, NGINX, Cluster, build, eq, main, ok


def run(*args, cwd=None):
    p = subprocess.run([WARMCGI] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=cwd, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(text):
    d = tempfile.mkdtemp(prefix="warmcgi-cli-")
    path = os.path.join(d, "app.ini")
    with open(path, "w") as f:
        f.write(text.format(build=build(""), dir=d))
    return path


GOOD = """[app]
listen = {dir}/w.sock
[handler hello]
url = /hello
module = {build}/examples/hello/hello.so
"""

BAD = """[app]
workers = many
colour = blue
request_timeout = 5 fortnights
listen = {dir}/w.sock
[handler a]
url = /a
module = {build}/examples/hello/hello.so
[handler a]
url = /b
module = {build}/examples/hello/hello.so
[handler nomain]
url = /n
module = {build}/test/handlers/nomain.so
[handler gone]
url = /g
module = {dir}/missing.so
"""


def test_version():
    rc, out, _ = run("-V")
    eq(rc, 0)
    eq(out, "warmcgi 0.1.0\n")


def test_check_ok():
    rc, _, err = run("-t", "-c", write(GOOD))
    eq(rc, 0)
    ok("configuration ok" in err)


def test_check_reports_every_error_with_file_and_line():
    path = write(BAD)
    rc, out, err = run("-t", "-c", path)
    eq(rc, 1)
    lines = err.splitlines()
    want = [
        ("%s:2: " % path, "workers = many"),
        ("%s:3: " % path, 'unknown key "colour"'),
        ("%s:4: " % path, "request_timeout = 5 fortnights"),
        ("%s:9: " % path, 'duplicate handler name "a"'),
        ("%s:17: " % path, "missing.so"),
    ]
    for prefix, text in want:
        ok(any(x.startswith(prefix) and text in x for x in lines),
           "%s%s in %r" % (prefix, text, err))


def test_module_without_main_is_an_error():
    path = write(GOOD.replace("examples/hello/hello.so",
                              "test/handlers/nomain.so"))
    rc, _, err = run("-t", "-c", path)
    eq(rc, 1)
    ok(err.startswith("%s:5: " % path) and "main" in err, err)


def test_start_refuses_a_bad_config():
    path = write(BAD)
    rc, _, err = run("-c", path)
    eq(rc, 1)
    ok(":2: workers = many" in err)
    ok(not os.path.exists(os.path.join(os.path.dirname(path), "w.sock")))


def test_default_config_file_name():
    path = write(GOOD)
    os.rename(path, os.path.join(os.path.dirname(path), "warmcgi.ini"))
    rc, _, err = run("-t", cwd=os.path.dirname(path))
    eq(rc, 0, err)


def test_usage_error():
    rc, _, err = run("--bogus")
    eq(rc, 2)
    ok("usage" in err)


def test_nginx_block_passes_nginx_t():
    path = write(GOOD)
    rc, out, err = run("--nginx", "--nginx-listen", "unix:%s.http" % path,
                       "-c", path)
    eq(rc, 0, err)
    ok("server unix:%s/w.sock;" % os.path.dirname(path) in out)
    ok("fastcgi_pass warmcgi;" in out)
    # Kept-alive FastCGI connections.
    ok(re.search(r"upstream warmcgi \{\s+server unix:\S+;\s+"
                 r"keepalive 64;\s+\}", out), out)  # 16 x 4 workers
    ok("fastcgi_keep_conn on;" in out)
    ok("fastcgi_keep_conn off;" not in out)
    ok("fastcgi_param REQUEST_START $msec;" in out)
    ok('fastcgi_param HTTP_PROXY "";' in out)
    d = os.path.dirname(path)
    with open("/etc/nginx/fastcgi_params") as f:
        params = f.read()
    with open(os.path.join(d, "fastcgi_params"), "w") as f:
        f.write(params)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("pid %s/n.pid; error_log %s/e.log; events {} http {\n%s}\n"
                % (d, d, out))
    p = subprocess.run([NGINX, "-t", "-p", d, "-c", conf],
                       stderr=subprocess.PIPE, timeout=30)
    eq(p.returncode, 0, p.stderr.decode())


def test_nginx_keepalive_follows_workers():
    for workers, want in ((1, 32), (2, 32), (6, 96)):
        path = write(GOOD.replace("[handler", "workers = %d\n[handler"
                                  % workers, 1))
        rc, out, err = run("--nginx", "-c", path)
        eq(rc, 0, err)
        eq(re.findall(r"keepalive (\d+);", out), [str(want)], out)


def test_socket_in_use_is_refused():
    c = Cluster(GOOD.replace("listen = {dir}/w.sock\n", ""), "inuse",
                nginx=False).start()
    try:
        rc, _, err = run("-c", c.ini)
        eq(rc, 1)
        ok("in use" in err, err)
        ok(c.proc.poll() is None, "the first server still runs")
    finally:
        c.stop()


main()
