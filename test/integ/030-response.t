#!/usr/bin/env python3
"""What the host does with a handler's output: local redirects served
internally, client redirects, NPH status lines, malformed output (502),
header and body limits, raw write(1), exit() inside a handler.
"""
import os
import re
import shutil

from warmtest import Cluster, Skip, eq, main, ok

INI = """
[app]
workers = 2
max_response_size = 100K
max_response_header_size = 8K

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler big]
url = /big/
module = {build}/test/handlers/testmod.so
max_response_size = 2M
max_response_header_size = 16K
"""


def setup():
    return Cluster(INI, "resp").start()


def teardown(c):
    c.stop()


def test_local_redirect_served_internally(c):
    r = c.get("/t/redirect")
    eq(r.status, 200)
    eq(r.body, b"hello from testmod\n")
    ok(r.header("Location") is None)
    rec = c.wait_access(lambda x: x["path"] == "/t/hello" and
                        x["query"] == "from=redirect")[0]
    eq(rec["status"], 200)


def test_redirect_loop_is_500(c):
    eq(c.get("/t/loop").status, 500)
    c.wait_app(lambda x: "local redirects" in x["message"])


def test_client_redirect_is_302(c):
    r = c.get("/t/clientredirect")
    eq(r.status, 302)
    eq(r.header("Location"), "https://example.com/elsewhere")


def test_nph_status_line(c):
    r = c.get("/t/nph")
    eq(r.status, 201)
    eq(r.reason, "Created Here")
    eq(r.body, b"nph body\n")


def test_malformed_output_is_502(c):
    for p in ("/t/malformed", "/t/noblank", "/t/empty", "/t/injection"):
        r = c.get(p)
        eq(r.status, 502, p)
        ok(b"evil" not in r.body and r.header("Set-Cookie") is None, p)
    c.wait_app(lambda x: x["message"].startswith("malformed CGI response")
               and x["handler"] == "t")


def test_header_block_too_large_is_502(c):
    eq(c.get("/t/bigheader?n=9000").status, 502)
    c.wait_app(lambda x: "max_response_header_size" in x["message"])
    # Per handler: 16K there.
    r = c.get("/big/bigheader?n=9000")
    eq(r.status, 200)
    eq(len(r.header("X-Big")), 9000)


def test_body_too_large_is_500_with_empty_body(c):
    r = c.get("/t/bigbody?n=%d" % (100 * 1024 + 1))
    eq(r.status, 500)
    eq(r.body, b"")
    r = c.get("/t/bigbody?n=%d" % (100 * 1024))
    eq(r.status, 200)
    eq(len(r.body), 100 * 1024)
    r = c.get("/big/bigbody?n=%d" % (1024 * 1024))
    eq(r.status, 200)
    eq(len(r.body), 1024 * 1024)


def test_raw_write_and_ordering(c):
    eq(c.get("/t/raw").body, b"raw write\n")
    eq(c.get("/t/mixed").body, b"ABC\n")


def check_direct_stderr(c):
    # What a handler writes to fd 2 directly is a record of its request.
    eq(c.get("/t/rawerr").body, b"wrote to fd 2\n")
    rid = c.wait_access(lambda x: x["path"] == "/t/rawerr")[-1]["request_id"]
    eq([(x["level"], x["message"]) for x in c.app_records()
        if x.get("request_id") == rid], [("WARNING", "straight to fd 2")])


def test_a_descriptor_the_handler_replaced_is_put_back(c):
    # A handler that points fd 1 or 2 elsewhere (dup2() of /dev/null) does
    # it for its own request: the next one's direct writes are collected
    # again (host/module.c notices that the file it watched there is gone).
    one = Cluster(INI.replace("workers = 2", "workers = 1"), "resp1")
    one.start()
    try:
        for fd in (1, 2):
            eq(one.get("/t/replacefd?fd=%d" % fd).body,
               b"fd %d is /dev/null now\n" % fd)
        eq(one.get("/t/raw").body, b"raw write\n")
        check_direct_stderr(one)
    finally:
        one.stop()


def test_where_writes_to_memfds_go_unreported_they_are_still_read(c):
    # This kernel does not report writes to memfds to inotify, so fds 1
    # and 2 are files in /dev/shm; where /dev/shm is small (here: a 1 MiB
    # tmpfs in a mount namespace of warmcgi's own), they stay memfds and
    # are read back after every call (host/module.c).
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise Skip("needs root and unshare(1) for a small /dev/shm")
    small = Cluster(INI.replace("workers = 2", "workers = 1"), "resp2",
                    wrap=["unshare", "--mount", "--propagation", "private",
                          "sh", "-c", "mount -t tmpfs -o size=1m tmpfs "
                          "/dev/shm && exec \"$@\"", "sh"])
    small.start()
    try:
        eq(small.get("/t/raw").body, b"raw write\n")
        # The worker (and one of c's) has served a request: set up.
        eq(os.readlink("/proc/%d/fd/1" % small.wait_workers(1)[0]),
           "/memfd:warmcgi-stdout (deleted)")
        eq(c.get("/t/raw").body, b"raw write\n")
        ok(any(os.readlink("/proc/%d/fd/1" % p).startswith("/dev/shm/")
               for p in c.workers()), "fd 1 in /dev/shm")
        eq(small.get("/t/mixed").body, b"ABC\n")
        eq(small.get("/t/hello").body, b"hello from testmod\n")
        check_direct_stderr(small)
    finally:
        small.stop()


def test_exit_ends_the_request_not_the_worker(c):
    pids = set(c.workers())
    for path in ("/t/exit?code=3", "/t/_exit?code=4"):
        r = c.get(path)
        eq(r.status, 200, path)
        eq(r.body, b"before exit\n")
    eq(set(c.workers()), pids, "same workers")
    eq(c.get("/t/hello").status, 200)


def test_closed_stdout_and_reading_past_eof(c):
    eq(c.get("/t/closestdout").body, b"closed after this\n")
    eq(c.get("/t/hello").body, b"hello from testmod\n")
    r = c.post("/t/readpast", b"z" * 5000)
    eq(r.text, "read 5000 then 0\n")


def test_content_length_from_host(c):
    r = c.get("/t/bigbody?n=123")
    eq(r.header("Content-Length"), "123")
    ok(r.header("Transfer-Encoding") is None)
    ok(re.match(r"^[a-z]+$", r.text))


main(setup=setup, teardown=teardown)
