#!/usr/bin/env python3
"""Kept-alive FastCGI connections (fastcgi_keep_conn on + upstream
keepalive, as `warmcgi --nginx` writes them): connections are reused, more
clients than workers never stall, a worker keeps at most 64 idle
connections, bodies are read before a connection is kept, a request whose body was not read closes its connection, a long request
does not hold up requests nginx sends on its worker's idle connections, a
client that goes away is still seen (499), and a crash or a reload costs no other
request.
"""
import os
import re
import shutil
import signal
import subprocess
import threading

from warmtest import (Cluster, Skip, connections, eq, main, ok, parallel,
                      wait_for)

INI = """
[app]
workers = 2
max_request_size = 64K

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def setup():
    return Cluster(INI, "keep", keepalive=8).start()


def teardown(c):
    c.stop()


def kept(c):
    """Connections from nginx the workers hold."""
    return sum(connections(pid, c.sock) for pid in c.workers())


def test_connections_are_reused(c):
    for i in range(20):
        r = c.get("/t/hello?i=%d" % i)
        eq(r.status, 200)
    # One request at a time: nginx reuses one idle connection.
    n = wait_for(lambda: kept(c) or None, 5, "a kept connection")
    ok(1 <= n <= 2, "kept connections: %d" % n)


def test_more_clients_than_workers_do_not_stall(c):
    # 16 clients, 2 workers, 8 idle connections per nginx worker: a host
    # that waited on an idle connection would leave requests hanging.
    def client(k):
        def run():
            for i in range(25):
                r = c.get("/t/hello?c=%d&i=%d" % (k, i), timeout=10)
                eq(r.status, 200)
                eq(r.body, b"hello from testmod\n")
            return True
        return run
    eq(parallel([client(k) for k in range(16)]), [True] * 16)


def test_a_worker_keeps_at_most_64_connections(c):
    # nginx may cache more (keepalive 128): the worker closes the rest.
    # 90 requests of 20 ms at once on one worker: 90 connections open.
    one = Cluster(INI.replace("workers = 2", "workers = 1"), "keep1",
                  keepalive=128).start()
    try:
        def client(k):
            def run():
                r = one.get("/t/sleep?ms=20&c=%d" % k, timeout=60)
                return r.status
            return run
        eq(parallel([client(k) for k in range(90)]), [200] * 90)
        n = kept(one)
        ok(1 <= n <= 64, "kept connections: %d" % n)
        for i in range(10):
            eq(one.get("/t/hello").status, 200)
    finally:
        one.stop()


def test_bodies_are_read_before_a_connection_is_kept(c):
    for size in (0, 1, 8191, 8192, 20000, 65536):
        body = bytes((i * 7) % 251 for i in range(size))
        r = c.post("/t/echo", body)
        eq(r.status, 200, size)
        eq(r.body, body, size)
    ok(kept(c) >= 1)


def traced_requests(c):
    """Serves 20 GETs and 3 POSTs with strace on c's workers; returns the
    trace of their reads, descriptor counts and fcntl() calls."""
    strace = shutil.which("strace")
    if strace is None:
        raise Skip("strace: ./check installs it")
    pids = c.workers()
    out = c.path("strace.out")
    cmd = [strace, "-f", "-s", "16", "-e",
           "trace=read,recvfrom,recvmsg,fstat,newfstatat,fcntl,poll,lseek",
           "-o", out]
    for p in pids:
        cmd += ["-p", str(p)]
    tr = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    attached = []
    reader = threading.Thread(target=lambda: attached.extend(
        line for line in tr.stderr if b" attached" in line), daemon=True)
    reader.start()
    try:
        # "Process N attached" (with its threads): one line per worker.
        wait_for(lambda: len(attached) >= len(pids), 10, "strace attached")
        for i in range(20):
            eq(c.get("/t/hello?i=%d" % i).status, 200)
        for size in (1, 100, 5000):
            body = bytes((i * 13) % 251 for i in range(size))
            r = c.post("/t/echo", body)
            eq(r.status, 200, size)
            eq(r.body, body, size)
    finally:
        tr.send_signal(signal.SIGINT)
        tr.wait(timeout=10)
    with open(out) as f:
        return joined(f.read())


def joined(trace):
    """strace -f splits a call another thread interrupted into "<unfinished
    ...>" and "<... resumed>" lines: joins them, one line per call."""
    lines, open_ = [], {}
    for line in trace.splitlines():
        pid, _, rest = line.partition(" ")
        rest = rest.lstrip()    # strace pads the pid column
        if rest.endswith("<unfinished ...>"):
            open_[pid] = (len(lines), rest[:-len("<unfinished ...>")])
            lines.append(None)
            continue
        m = re.match(r"<\.\.\. \w+ resumed>(.*)", rest)
        if m and pid in open_:
            i, head = open_.pop(pid)
            tail = m.group(1).lstrip()
            sep = "" if tail.startswith(")") else " "
            lines[i] = "%s %s%s%s" % (pid, head.rstrip(), sep,
                                      re.sub(r"^\)\s+=", ") =", tail))
            continue
        lines.append(line)
    return "\n".join(x for x in lines if x is not None) + "\n"


def shm_roomy():
    """What host/module.c asks before it puts fds 1 and 2 in /dev/shm
    (this kernel's memfds do not notify inotify): a tmpfs, 256 MiB free."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return False
    tmpfs = any(line.split()[1:3] == ["/dev/shm", "tmpfs"]
                for line in open("/proc/mounts"))
    return tmpfs and st.f_bavail * st.f_frsize >= 256 << 20


def check_residue_probes(trace, calls):
    # Each call ends with one poll(): inotify on fds 1 and 2 (was anything
    # written to them directly?) and the lowest descriptor free before the
    # call (POLLNVAL: still free, nothing left open there); or with a count
    # (fstat of /proc/self/fd): a few (a worker's first call, one in 16),
    # no more. Fds 1 and 2 are not read when nothing reached them, and no
    # fcntl() is needed while the worker's descriptors are known
    # (host/module.c).
    ok(shm_roomy(), "/dev/shm: a tmpfs with 256 MiB free expected here")
    counts = len(re.findall(r"fstat(?:at)?\(\d+, \"\"", trace))
    polls = re.findall(r"poll\(\[\{fd=\d+, events=POLLIN\}, "
                       r"\{fd=(-?\d+), events=0\}\], 2, 0\) +=(.*)", trace)
    probes = len([p for p in polls if "revents=POLLNVAL" in p[1]])
    written = len([p for p in polls if "revents=POLLIN" in p[1]])
    fcntls = len(re.findall(r"fcntl\(", trace))
    ok(counts <= 2 * (1 + 2), "descriptor counts: %d\n%s" % (counts, trace))
    eq(len(polls), calls, trace)
    ok(probes + counts >= calls, "probes %d, counts %d\n%s" % (
        probes, counts, trace))
    eq(written, 0, trace)
    eq(re.findall(r"lseek\([12],.*", trace), [])
    ok(fcntls <= 4 * counts, "fcntl %d, counts %d\n%s" % (
        fcntls, counts, trace))


def test_a_request_is_read_once(c):
    # One read() per request: every record is checked and the parameters
    # decoded in the bytes read (host/fcgiconn.c), no recv(MSG_PEEK) and no
    # second reader; and what the handler left open is probed cheaply.
    trace = traced_requests(c)
    # Each request's first read begins with its BEGIN_REQUEST record.
    begins = re.findall(r'(?:read|recvfrom)\(\d+, "\\1\\1\\0', trace)
    eq(len(begins), 23, trace)
    ok("MSG_PEEK" not in trace, trace)
    check_residue_probes(trace, 23)


def test_without_keep_alive_the_probe_is_still_one_call(c):
    # A connection accepted and closed per request: the worker follows the
    # two lowest free descriptors, so no probe is needed before a call.
    one = Cluster(INI, "nokeep")
    one.start()
    try:
        check_residue_probes(traced_requests(one), 23)
    finally:
        one.stop()


def test_a_leak_is_named_on_kept_connections_and_nothing_else(c):
    # On a kept connection the descriptors open before a call are those
    # after the last one, unless the host opened or closed some between
    # (host/module.c): connections, CGI, static files, log reopening and
    # nginx closing its connections must not be taken for a leak.
    ini = INI.replace("workers = 2", "workers = 1") + """
[handler cgi]
url = /cgi/
cgi = {dir}/cgi

[handler static]
url = /static/
static_dir = {dir}/site
"""
    one = Cluster(ini, "keepfd", keepalive=8)
    os.makedirs(one.path("cgi"))
    os.makedirs(one.path("site"))
    with open(one.path("cgi", "hi.sh"), "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhi\\n'\n")
    os.chmod(one.path("cgi", "hi.sh"), 0o755)
    with open(one.path("site", "a.txt"), "w") as f:
        f.write("static\n")
    one.start()
    try:
        def mixed(tag):
            # Requests at once: nginx opens more connections, the worker
            # accepts them between two calls.
            eq(parallel([lambda k=k: one.get("/t/sleep?ms=30&%s=%d" % (
                tag, k)).status for k in range(4)]), [200] * 4)
            for i in range(3):
                eq(one.get("/t/hello?%s=%d" % (tag, i)).status, 200)
                eq(one.get("/cgi/hi.sh").text, "hi\n")
                eq(one.get("/static/a.txt").text, "static\n")
                eq(one.get("/t/nothing-here").status, 404)
        mixed("a")
        one.signal(signal.SIGUSR1)      # the worker reopens its logs
        mixed("b")
        one.stop_nginx()                # nginx closes its connections
        one.start_nginx()
        # The first call after the worker closed them: they must count.
        eq(one.get("/t/leakfd?n=1").status, 200)
        mixed("c")
        eq(one.get("/t/hello?last=1").status, 200)
        one.wait_access(lambda x: x["query"] == "last=1")
        leak = one.wait_access(lambda x: x["path"] == "/t/leakfd")[0]
        warnings = [x for x in one.app_records()
                    if "file descriptor" in x["message"]]
        eq([(x.get("request_id"), x["message"]) for x in warnings],
           [(leak["request_id"], "the handler left 1 file descriptor open "
             "(1 in this worker)")])
    finally:
        one.stop()


def test_a_leak_the_probe_cannot_see_is_found_by_the_next_count(c):
    # A descriptor moved far above the lowest free one escapes the probe
    # after the call; the count every 16 calls finds it, worded as found
    # late. One at the lowest free is still named on its own request.
    one = Cluster(INI.replace("workers = 2", "workers = 1"), "keepfd2",
                  keepalive=8)
    one.start()
    try:
        eq(one.get("/t/leakfd?n=1&at=300").status, 200)
        for i in range(20):
            eq(one.get("/t/hello?after=%d" % i).status, 200)
        one.wait_access(lambda x: x["query"] == "after=19")
        warnings = [x for x in one.app_records()
                    if "file descriptor" in x["message"]]
        eq(len(warnings), 1, warnings)
        m = re.match(r"1 file descriptor was left open by this call or one "
                     r"of the (\d+) before it \(1 in this worker\)$",
                     warnings[0]["message"])
        ok(m is not None, warnings[0]["message"])
        found = [x for x in one.access_records()
                 if x["request_id"] == warnings[0]["request_id"]]
        eq(len(found), 1, warnings[0])
        ok(found[0]["query"].startswith("after="), found[0])
        # The leaking call is among those the message counts.
        ok(int(found[0]["query"][6:]) + 1 <= int(m.group(1)) < 16,
           (found[0]["query"], m.group(0)))
        eq(one.get("/t/leakfd?n=1").status, 200)
        leak = one.wait_access(lambda x: x["path"] == "/t/leakfd" and
                               x["query"] == "n=1")[0]
        warn = one.wait_app(lambda x: x.get("request_id") ==
                            leak["request_id"])[0]
        eq(warn["message"], "the handler left 1 file descriptor open "
           "(2 in this worker)")
    finally:
        one.stop()


def test_a_long_request_does_not_hold_up_idle_connections(c):
    # nginx may send a request on any idle connection, one of a worker
    # busy with a long request too: after a few ms that worker's watchdog
    # hands such a connection to a free worker (host/worker.c).
    pids = c.workers()

    def both_hold_some():
        return all(connections(p, c.sock) >= 2 for p in pids)
    for i in range(20):
        eq(parallel([lambda k=k: c.get("/t/sleep?ms=20&w=%d.%d" % (
            i, k)).status for k in range(8)]), [200] * 8)
        if both_hold_some():
            break
    ok(both_hold_some(), "both workers hold idle connections")
    marker = [x for x in c.app_records()
              if x["message"].startswith("sleep started")]
    slow = []
    t = threading.Thread(target=lambda: slow.append(
        c.get("/t/sleep?ms=3000&long=1")))
    t.start()
    try:
        wait_for(lambda: len([x for x in c.app_records()
                              if x["message"].startswith("sleep started")])
                 > len(marker), 10, "the long request to start")
        # More at once than the free worker holds connections: nginx
        # uses the busy worker's idle ones too.
        rs = parallel([lambda k=k: c.get("/t/hello?f=%d" % k)
                       for k in range(16)])
        eq([r.status for r in rs], [200] * 16)
        ok(t.is_alive(), "the fast requests ended before the long one")
    finally:
        t.join(30)
    eq(slow[0].status, 200)
    ok(b"slept" in slow[0].body, slow[0].body)


def test_unread_body_closes_the_connection(c):
    r = c.post("/t/echo", b"x" * 70000)
    eq(r.status, 413)
    for i in range(10):
        eq(c.get("/t/hello").status, 200)
    r = c.post("/t/echo", b"after")
    eq(r.body, b"after")


def test_client_going_away_is_seen(c):
    try:
        c.get("/t/sleep?ms=3000", timeout=0.5)
    except OSError:
        pass
    rec = c.wait_access(lambda x: x["path"] == "/t/sleep" and
                        x["status"] == 499)
    rid = rec[-1]["request_id"]
    c.wait_app(lambda x: x["request_id"] == rid and
               x["message"] == "request canceled")
    for i in range(10):
        eq(c.get("/t/hello").status, 200)


def test_crash_costs_only_its_request(c):
    for i in range(10):
        eq(c.get("/t/hello").status, 200)
    eq(c.get("/t/crash").status, 500)
    for i in range(20):
        eq(c.get("/t/hello?after=%d" % i).status, 200)
    c.wait_workers(2)


def test_reload_fails_no_request(c):
    stop = threading.Event()
    bad = []

    def load():
        while not stop.is_set():
            r = c.get("/t/hello", timeout=10)
            if r.status != 200:
                bad.append(r.status)
    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        before = set(c.wait_workers(2))
        c.signal(signal.SIGHUP)
        wait_for(lambda: not before & set(c.workers()) and
                 len(c.workers()) == 2, 20, "new workers")
        for i in range(10):
            eq(c.get("/t/hello").status, 200)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    eq(bad, [])


main(setup=setup, teardown=teardown)
