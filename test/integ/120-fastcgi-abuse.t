#!/usr/bin/env python3
"""A FastCGI peer that talks straight to the socket, well or badly:
crafted parameter lengths (CVE-2025-23016), management records
(FCGI_GET_VALUES, unknown types), records of unknown types, truncated
records, huge parameter counts, FCGI_ABORT_REQUEST, a body arriving in
pieces, junk after a request, libfcgi's own cgi-fcgi, and thousands of
connections opened and dropped.  No worker dies, memory and descriptors
stay bounded, and every worker answers the next good request.
"""
import os
import shutil
import socket
import struct
import subprocess
import time

import fcgi
from warmtest import (Cluster, eq, fd_count, main, ok, parallel, rss_kb,
                      wait_for, zombies)

INI = """
[app]
workers = 2
io_timeout = 2s
max_request_size = 4M

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    c = Cluster(INI, "abuse", nginx=False).start()
    c.pids = c.wait_workers(2)
    # The baseline of descriptors once each worker has set up and closed
    # the connection of its first request (read to its end here).
    outs = parallel([lambda: to_eof(c, "/t/global?ms=300")] * 2)
    eq(set(int(o.split(b"pid=")[1]) for o in outs), set(c.pids))
    c.fds = {p: fd_count(p) for p in c.pids}
    return c


def to_eof(c, path):
    """One request; returns its stdout once the worker closed the
    connection."""
    s = fcgi.connect(c.sock)
    try:
        s.sendall(fcgi.request_bytes(path))
        out = fcgi.read_records(s)[0]
        while s.recv(4096):
            pass
        return out
    finally:
        s.close()


def teardown(c):
    c.stop()


def exchange(c, data, timeout=5):
    """Sends data on a new connection; returns the records answered."""
    s = fcgi.connect(c.sock, timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass        # refused before it was all sent
        return fcgi.read_records(s, reset_ok=True)
    finally:
        s.close()


def healthy(c):
    """Both original workers alive and each answers a good request (two
    at once, so that each worker takes one)."""
    eq(c.workers(), c.pids, "same workers")
    outs = parallel([lambda: fcgi.call(c.sock, "/t/global?ms=300")] * 2)
    for out in outs:
        ok(b"hits=" in out, out)
    eq(set(int(o.split(b"pid=")[1]) for o in outs), set(c.pids),
       "every worker answered")
    eq(zombies(c.proc.pid), [], "zombies")


def refused(c, why):
    c.wait_app(lambda x: x["message"].startswith("fastcgi: ") and
               why in x["message"] and x not in refused.seen,
               what="refusal: " + why)
    refused.seen.extend(c.app_records())


refused.seen = []


def test_crafted_param_lengths_do_not_kill_a_worker(c):
    # 0x40000000 + 0x3fffffff: libfcgi's int sum goes negative and its
    # malloc assertion aborts the worker; 0x7ffffffe twice likewise.
    for lens in (b"\xc0\x00\x00\x00\xbf\xff\xff\xff",
                 b"\xff\xff\xff\xfe\xff\xff\xff\xfe"):
        out, _, recs = exchange(c, fcgi.begin(1) + fcgi.record(
            fcgi.PARAMS, 1, lens + b"x" * 16))
        eq(recs, [], "no answer, connection closed")
        refused(c, "parameters larger than 128 KiB")
    healthy(c)


def test_get_values_answered_by_the_host(c):
    # libfcgi overruns its 64-byte buffer past three known names.
    names = fcgi.pairs([("FCGI_MAX_CONNS", ""), ("FCGI_MPXS_CONNS", "")] *
                       6 + [("FCGI_MAX_REQS", ""), ("OTHER", "")])
    s = fcgi.connect(c.sock)
    try:
        s.sendall(fcgi.record(fcgi.GET_VALUES, 0, names))
        head = s.recv(8)
        rtype, clen, plen = head[1], struct.unpack(">H", head[4:6])[0], \
            head[6]
        eq(rtype, fcgi.GET_VALUES_RESULT)
        body = b""
        while len(body) < clen + plen:
            body += s.recv(clen + plen - len(body))
        body = body[:clen]
        for name, value in ((b"FCGI_MAX_CONNS", b"1"),
                            (b"FCGI_MAX_REQS", b"1"),
                            (b"FCGI_MPXS_CONNS", b"0")):
            eq(body.count(bytes([len(name), 1]) + name + value), 1, name)
        ok(b"OTHER" not in body)
        # The same connection then serves a request.
        s.sendall(fcgi.request_bytes("/t/hello"))
        out = fcgi.read_records(s, reset_ok=True)[0]
        ok(out.endswith(b"hello from testmod\n"), out)
    finally:
        s.close()
    healthy(c)


def test_unknown_management_type_answered(c):
    out, _, recs = exchange(c, fcgi.record(77, 0, b"12345678") * 100 +
                            fcgi.request_bytes("/t/hello"))
    unknown = [r for r in recs if r[0] == fcgi.UNKNOWN_TYPE]
    eq(len(unknown), 64, "answered up to the limit, then refused")
    eq(unknown[0][2][0], 77)
    refused(c, "too many management records")
    out, _, recs = exchange(c, fcgi.record(77, 0, b"12345678") +
                            fcgi.request_bytes("/t/hello"))
    eq(recs[0][0], fcgi.UNKNOWN_TYPE)
    ok(out.endswith(b"hello from testmod\n"), out)
    healthy(c)


def test_protocol_violations_close_the_connection(c):
    cases = [
        ("unknown record type", fcgi.begin(1) + fcgi.record(42, 1, b"x"),
         "a record other than FCGI_PARAMS"),
        ("another request id", fcgi.begin(1) + fcgi.params(2, []),
         "another request"),
        ("no begin", fcgi.params(1, [("A", "b")]), "before FCGI_BEGIN"),
        ("bad version", b"\x02" + fcgi.begin(1)[1:], "version"),
        ("authorizer", fcgi.record(fcgi.BEGIN_REQUEST, 1,
                                   struct.pack(">HB5x", 2, 0)), "role"),
        ("second begin", fcgi.begin(1) + fcgi.params(1, []) +
         fcgi.begin(1), "a second FCGI_BEGIN_REQUEST"),
        ("multiplexed", fcgi.begin(1) + fcgi.params(1, []) +
         fcgi.begin(2), "another request"),
        ("pair cut short", fcgi.begin(1) + fcgi.record(
            fcgi.PARAMS, 1, b"\x05\x05abc") + fcgi.record(fcgi.PARAMS, 1),
         "inside a name-value pair"),
    ]
    for name, data, why in cases:
        out, _, recs = exchange(c, data)
        eq(out, b"", name)
        refused(c, why)
    healthy(c)


def test_truncated_records(c):
    full = fcgi.request_bytes("/t/echo", "POST", b"z" * 3000)
    for cut in (3, 8, 12, 30, 100, len(full) - 20, len(full) - 1):
        s = fcgi.connect(c.sock)
        s.sendall(full[:cut])
        s.close()
    healthy(c)


def test_huge_parameter_counts(c):
    many = [("HTTP_X_%d" % i, "v") for i in range(8000)]   # 112 KiB
    out = fcgi.call(c.sock, "/t/env", extra=many)
    ok(b"HTTP_X_7999=v" in out, out[-200:])
    # Past 128 KiB of parameters: refused, nothing allocated for it.
    more = [("HTTP_Y_%d" % i, "v" * 10) for i in range(12000)]
    out, _, recs = exchange(c, fcgi.request_bytes("/t/env", extra=more))
    eq(recs, [])
    refused(c, "parameters larger than 128 KiB")
    for p in c.pids:
        ok(rss_kb(p) < 64 * 1024, "worker %d RSS %d KiB" % (p, rss_kb(p)))
    healthy(c)


def test_abort_request_mid_body(c):
    s = fcgi.connect(c.sock)
    try:
        s.sendall(fcgi.begin(5) + fcgi.params(5, [
            ("REQUEST_METHOD", "POST"), ("SCRIPT_NAME", "/t/echo"),
            ("CONTENT_LENGTH", "100000"), ("QUERY_STRING", "abort=1")]) +
            fcgi.record(fcgi.STDIN, 5, b"a" * 1000))
        time.sleep(0.05)
        s.sendall(fcgi.record(fcgi.ABORT_REQUEST, 5))
        eq(fcgi.read_records(s, reset_ok=True)[0], b"")
    finally:
        s.close()
    rec = c.wait_access(lambda x: x["query"] == "abort=1")[0]
    eq(rec["status"], 499)
    healthy(c)


def test_body_in_pieces_and_keep_conn(c):
    body = os.urandom(300000)
    data = fcgi.request_bytes("/t/echo", "POST", body, rid=3,
                              flags=fcgi.KEEP_CONN)
    s = fcgi.connect(c.sock)
    try:
        for i in range(0, len(data), 7000):     # the host reads it
            s.sendall(data[i:i + 7000])
            time.sleep(0.001)
        out = fcgi.read_records(s, reset_ok=True)[0]
        ok(out.endswith(b"\r\n\r\n" + body), "echoed %d bytes" % len(out))
        # Kept: the next request on the same connection (peeked whole).
        s.sendall(fcgi.request_bytes("/t/hello", rid=4,
                                     flags=fcgi.KEEP_CONN))
        out = fcgi.read_records(s, reset_ok=True)[0]
        ok(out.endswith(b"hello from testmod\n"), out)
    finally:
        s.close()
    healthy(c)


def test_junk_after_the_request_is_not_kept(c):
    s = fcgi.connect(c.sock)
    try:
        s.sendall(fcgi.request_bytes("/t/hello", flags=fcgi.KEEP_CONN) +
                  b"\x01\x05junk junk junk")
        out = fcgi.read_records(s, reset_ok=True)[0]
        ok(out.endswith(b"hello from testmod\n"), out)
        eq(s.recv(100), b"", "closed after the response")
    finally:
        s.close()
    healthy(c)


def test_cgi_fcgi_client(c):
    cgi_fcgi = shutil.which("cgi-fcgi")
    ok(cgi_fcgi, "cgi-fcgi (Debian package libfcgi-bin) is installed")
    env = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/t/echo",
           "CONTENT_LENGTH": "11", "CONTENT_TYPE": "text/x-check",
           "QUERY_STRING": "", "PATH": os.environ.get("PATH", "")}
    p = subprocess.run([cgi_fcgi, "-bind", "-connect", c.sock],
                       input=b"hello world", env=env, timeout=30,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 0, p.stderr)
    ok(p.stdout.startswith(b"Status: 200 OK\r\n"), p.stdout)
    ok(b"Content-Type: text/x-check\r\n" in p.stdout, p.stdout)
    ok(p.stdout.endswith(b"\r\n\r\nhello world"), p.stdout)


def test_thousands_of_connections_opened_and_dropped(c):
    rss = {p: rss_kb(p) for p in c.pids}
    for i in range(3000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(c.sock)
        if i % 3 == 1:
            s.sendall(fcgi.begin(1))
        elif i % 3 == 2:
            s.sendall(fcgi.request_bytes("/t/hello")[:40])
        s.close()
    healthy(c)
    if not os.environ.get("WARMCGI_VALGRIND"):   # valgrind opens its own
        wait_for(lambda: all(fd_count(p) == c.fds[p] for p in c.pids), 10,
                 "descriptors back to %r" % c.fds)
    for p in c.pids:
        ok(rss_kb(p) < rss[p] + 8 * 1024, "worker %d RSS %d -> %d KiB" %
           (p, rss[p], rss_kb(p)))


main(setup=setup, teardown=teardown)
