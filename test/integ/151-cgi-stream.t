#!/usr/bin/env python3
"""stream = on: a CGI program's output reaches the client as it is
produced, with no size limit and no gzip, through a real nginx, while the
worker's memory stays flat; a response that cannot be finished is cut
short visibly; malformed headers and local redirects behave as buffered.
"""
import http.client
import os
import shutil
import threading

from warmtest import (Cluster, UnixHTTPConnection, children, eq, main, ok,
                      src, wait_for)

INI = """
[app]
workers = 1
request_timeout = 30s

[handler short]
url = /short/
cgi = {dir}/cgi-bin/
stream = on
timeout = 1s
deadline_grace = 500ms

[handler stream]
url = /stream/
cgi = {dir}/cgi-bin/
stream = on
max_response_size = 1M

[handler buffered]
url = /buffered/
cgi = {dir}/cgi-bin/
"""

MALFORMED = """#!/bin/sh
printf 'this is not a header\\r\\n\\r\\nbody\\n'
"""

REDIRECT = """#!/bin/sh
printf 'Location: /stream/env.sh/after?r=1\\r\\n\\r\\n'
"""


def setup():
    c = Cluster(INI, "stream")
    d = c.path("cgi-bin")
    os.makedirs(d)
    for name in os.listdir(src("test/handlers/cgi")):
        shutil.copy(src("test/handlers/cgi/" + name), d)
    for name, text in (("malformed.sh", MALFORMED),
                       ("redirect.sh", REDIRECT)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o755)
    return c.start()


def teardown(c):
    c.stop()


def open_response(c, path, headers=None, method="GET"):
    conn = UnixHTTPConnection(c.http_sock, timeout=60)
    conn.request(method, path, headers=headers or {})
    return conn, conn.getresponse()


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def test_output_arrives_as_it_is_produced(c):
    go = c.path("go")
    conn, r = open_response(c, "/stream/stream.sh?" + go)
    try:
        eq(r.status, 200)
        eq(r.getheader("Content-Length"), None)
        # The script waits for `go` before its second line: the first
        # must have come through warmcgi and nginx already.
        eq(r.readline(), b"first\n")
        ok(not os.path.exists(go), "go does not exist yet")
        with open(go, "w"):
            pass
        eq(r.read(), b"second\n")
    finally:
        conn.close()


def test_buffered_handler_holds_the_output(c):
    """The contrast: without stream the first line waits for the end."""
    go = c.path("go-buffered")
    conn, r = None, None
    result = {}

    def fetch():
        result["r"] = c.get("/buffered/stream.sh?" + go)
    t = threading.Thread(target=fetch)
    t.start()
    t.join(1.0)
    ok(t.is_alive(), "buffered response arrived before the script ended")
    with open(go, "w"):
        pass
    t.join(30)
    eq(result["r"].body, b"first\nsecond\n")
    eq(result["r"].header("Content-Length"), "13")


def test_100_mib_with_flat_worker_memory(c):
    c.get("/stream/big.sh?1")      # warm the worker up
    (worker,) = c.workers()
    before = status_kib(worker, "VmHWM")
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], status_kib(worker, "VmRSS"))
            except (OSError, AssertionError):
                pass
            stop.wait(0.02)
    t = threading.Thread(target=sample)
    t.start()
    conn, r = open_response(c, "/stream/big.sh?100",
                            headers={"Accept-Encoding": "gzip"})
    total = 0
    try:
        eq(r.status, 200)
        eq(r.getheader("Content-Encoding"), None)
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            ok(chunk.count(0) == len(chunk), "zeros")
            total += len(chunk)
    finally:
        conn.close()
        stop.set()
        t.join()
    eq(total, 100 << 20)
    after = status_kib(worker, "VmHWM")
    eq(c.workers(), [worker])
    print("# worker VmHWM %d KiB before, %d KiB after; RSS peak %d KiB"
          % (before, after, peak[0]))
    # max_response_size = 1M does not apply, and the worker never held
    # more than a few pipe reads of it.
    ok(after - before < 16 << 10,
       "worker peak grew by %d KiB (from %d)" % (after - before, before))
    ok(peak[0] - before < 16 << 10, "worker RSS reached %d KiB" % peak[0])
    rec = c.wait_access(lambda x: x["path"] == "/stream/big.sh" and
                        x["query"] == "100")[0]
    eq(rec["bytes"], 100 << 20)
    eq(rec["status"], 200)


def test_buffered_limit_still_applies_elsewhere(c):
    r = c.get("/buffered/big.sh?40")
    eq(r.status, 500)
    eq(r.body, b"")


def test_head_has_no_body(c):
    r = c.request("HEAD", "/stream/big.sh?1")
    eq(r.status, 200)
    eq(r.body, b"")


def test_malformed_header_is_502(c):
    eq(c.get("/stream/malformed.sh").status, 502)


def test_local_redirect_while_streaming(c):
    r = c.get("/stream/redirect.sh")
    eq(r.status, 200)
    e = r.env()
    eq(e["PATH_INFO"], "/after")
    eq(e["QUERY_STRING"], "r=1")


def test_deadline_after_head_cuts_the_response_short(c):
    conn, r = open_response(c, "/short/stall.sh")
    try:
        eq(r.status, 200)
        eq(r.readline(), b"partial\n")
        try:
            rest = r.read()
            raise AssertionError("clean end after a killed script: %r"
                                 % rest)
        except http.client.IncompleteRead:
            pass
    finally:
        conn.close()
    c.wait_app(lambda x: "cut short" in x["message"], what="cut record")


def test_client_gone_mid_stream_ends_the_script(c):
    (worker,) = c.workers()
    conn, r = open_response(c, "/stream/big.sh?10000")
    eq(r.status, 200)
    eq(len(r.read(1 << 20)), 1 << 20)
    wait_for(lambda: children(worker), 10, "the script runs")
    conn.close()
    wait_for(lambda: not children(worker), 10, "the script is gone")
    rec = c.wait_access(lambda x: x["query"] == "10000")[0]
    eq(rec["status"], 499)


def test_stalled_client_cut_at_the_hard_deadline(c):
    (worker,) = c.workers()
    conn, r = open_response(c, "/short/big.sh?10000")
    try:
        eq(r.status, 200)
        eq(len(r.read(65536)), 65536)
        # Stop reading: buffers fill up, the worker waits for room until
        # the hard deadline, then kills the script and cuts the response.
        c.wait_access(lambda x: x["path"] == "/short/big.sh", 20)
        ok(not children(worker), "the script is gone")
        try:
            while r.read(1 << 20):
                pass
            raise AssertionError("the cut response ended cleanly")
        except http.client.IncompleteRead:
            pass
    finally:
        conn.close()


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
