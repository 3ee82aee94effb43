#!/usr/bin/env python3
"""TCP listening across hosts. Two hosts, each a network namespace the
test makes (netpool.py): h1 listens on 0.0.0.0:9000, h2 on [::]:9000, and
the front namespace reaches them over veth pairs, over IPv4 and IPv6:

- each host answers ping_path itself, over IPv4 and IPv6 (and IPv4 to a
  [::] socket);
- listen_allow (CIDRs) lets the front's addresses in and closes a
  connection from any other address right after accept(), before a byte
  of it is read: the kernel answers the unread request with a reset;
- listen_backlog is the backlog the kernel reports;
- a second server on a port in use gets a clear error.

Where namespaces cannot be made, the first test skips and the hosts run
on 127.0.0.11 and .12 (no IPv6 there).
"""
import os
import subprocess
import tempfile
import threading

from netpool import Host, Net, fcgi_from, ip, teardown, work_marks
from warmtest import BUILD, WARMCGI, Skip, eq, main, ok, wait_for

INI = """
[app]
workers = 1
listen_backlog = 7
ping_path = /ping

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""".replace("{build}", BUILD)


class Ctx:
    pass


def setup():
    c = Ctx()
    c.dir = tempfile.mkdtemp(prefix="warmcgi-listen-")
    c.net = Net(2, v6_hosts=(2,)).start()
    c.hosts = []
    try:
        if c.net.netns:
            # Addresses of the front that listen_allow leaves out.
            ip("-n", c.net.ns(0), "addr", "add", "10.77.1.9/24", "dev", "h1")
            ip("-n", c.net.ns(0), "addr", "add", "fd77:2::9/64", "dev", "h2",
               "nodad")
        for i in (1, 2):
            c.hosts.append(Host(c.net, i, c.dir, INI).start(1))
    except BaseException:
        teardown(c)
        raise
    return c


def host_part(address):
    """("10.77.1.2", 9000) from "10.77.1.2:9000" or "[fd77::2]:9000"."""
    h, p = address.rsplit(":", 1)
    return h.strip("[]"), int(p)


def front(c, h, a):
    """The front's own address on h's link, of a's family."""
    if not c.net.netns:
        return "127.0.0.1"
    return "fd77:%d::1" % h.i if ":" in a else "10.77.%d.1" % h.i


def ping(c, h, addr=None, source=None):
    a, port = host_part(addr or h.address)
    return fcgi_from(c.net, 0, a, port, "/ping", source or front(c, h, a))


def test_hosts_are_separate_namespaces(c):
    if not c.net.netns:
        raise Skip("cannot make network namespaces (%s): the same tests "
                   "run with hosts on 127.0.0.11-12" % c.net.why)


def test_each_host_answers_ping_itself(c):
    for h in c.hosts:
        n = len(h.access())
        r = ping(c, h)
        ok(r.get("out", "").endswith("pong\n"), r)
        rec = wait_for(lambda: h.access()[n:], 10, "%s access" % h.name)
        eq(rec[0]["handler"], "(ping)")
        eq(rec[0]["host"], h.name)
    if c.net.netns:
        # IPv4 to h2's [::] socket (IPv4-mapped; listen_allow still
        # matches it as IPv4).
        r = ping(c, c.hosts[1], "10.77.2.2:%d" % c.hosts[1].port)
        ok(r.get("out", "").endswith("pong\n"), r)


def test_listen_addresses_and_backlog(c):
    for h in c.hosts:
        rows = h.ss_listen()
        eq(len(rows), 1, str(rows))
        eq(rows[0][2], "7", "listen_backlog as the kernel reports it")
        if not c.net.netns:
            eq(rows[0][3], h.listen)
        elif h.i == 1:
            ok(rows[0][3] in ("0.0.0.0:9000", "*:9000"), rows)
        else:
            ok(rows[0][3] in ("[::]:9000", "*:9000"), rows)


def refused_source(c, h):
    if not c.net.netns:
        return "127.0.0.9"
    return "10.77.1.9" if h.i == 1 else "fd77:2::9"


def pings(h):
    return len([r for r in h.access() if r["handler"] == "(ping)"])


def test_listen_allow_closes_before_reading(c):
    h = c.hosts[0]
    # Keep h1's one worker busy, so that the refused request waits in
    # the backlog, read by nobody, until the worker accepts it.
    a, port = host_part(h.address)
    busy = threading.Thread(target=fcgi_from, args=(
        c.net, 0, a, port, "/t/work?ms=3000", front(c, h, a)))
    n_refused = len([r for r in h.app() if "refused a connection"
                     in r["message"]])
    n_pings = pings(h)
    busy.start()
    try:
        wait_for(lambda: work_marks(h, "start"), 20, "the busy request")
        r = ping(c, h, source=refused_source(c, h))
    finally:
        busy.join(60)
    # Closed with the request unread: the kernel resets the connection.
    eq(r.get("error"), "ConnectionResetError", repr(r))
    rec = wait_for(lambda: [x for x in h.app() if "refused a connection"
                            in x["message"]][n_refused:], 10, "refusal")
    ok(("from %s " % refused_source(c, h)) in rec[0]["message"], rec)
    eq(pings(h), n_pings, "pings served after the refusal")
    # The front's own address is let in.
    ok(ping(c, h).get("out", "").endswith("pong\n"), "allowed client")
    wait_for(lambda: pings(h) == n_pings + 1, 10, "the allowed ping")


def test_listen_allow_ipv6(c):
    if not c.net.netns:
        raise Skip("no IPv6 between loopback hosts")
    h = c.hosts[1]
    r = ping(c, h, source="fd77:2::9")
    ok("out" not in r or not r["out"], r)
    wait_for(lambda: [x for x in h.app() if "refused a connection from "
                      "fd77:2::9" in x["message"]], 10, "IPv6 refusal")
    ok(ping(c, h, source="fd77:2::1").get("out", "").endswith("pong\n"))


def test_port_in_use_is_a_clear_error(c):
    h = c.hosts[0]
    other = os.path.join(c.dir, "other.ini")
    with open(other, "w") as f:
        f.write("[app]\nlisten = %s\nallow_root = yes\nlog = %s\n"
                "[handler t]\nurl = /t/\nmodule = %s/test/handlers/"
                "testmod.so\n" % (h.listen, os.path.join(c.dir, "o.log"),
                                  BUILD))
    p = subprocess.run(c.net.wrap(h.i, [WARMCGI, "-c", other]),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=30)
    eq(p.returncode, 1, p.stdout)
    ok(("listen = %s: Address already in use (another server has this "
        "port)" % h.listen) in p.stdout, p.stdout)
    # Held by some other program (not listening yet) in that namespace.
    code = ("import socket, subprocess, sys\n"
            "s = socket.socket(socket.AF_INET6 if '[' in sys.argv[1] else "
            "socket.AF_INET)\n"
            "h, p = sys.argv[1].rsplit(':', 1)\n"
            "s.bind((h.strip('[]'), int(p) + 1))\n"
            "r = subprocess.run([sys.argv[2], '-c', sys.argv[3]], "
            "stdout=subprocess.PIPE, stderr=subprocess.STDOUT, "
            "universal_newlines=True, timeout=30)\n"
            "print(r.returncode, r.stdout)\n")
    moved = os.path.join(c.dir, "moved.ini")
    host, port = h.listen.rsplit(":", 1)
    with open(other) as f, open(moved, "w") as g:
        g.write(f.read().replace(h.listen, "%s:%d" % (host, int(port) + 1)))
    p = subprocess.run(c.net.wrap(h.i, ["python3", "-c", code, h.listen,
                                        WARMCGI, moved]),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=60)
    ok(p.stdout.startswith("1 "), p.stdout)
    ok("Address already in use (another server has this port)" in p.stdout,
       p.stdout)


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
