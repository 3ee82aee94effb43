#!/usr/bin/env python3
"""Identity across hosts: 100,000 requests through nginx to three hosts
(network namespaces the test makes; 127.0.0.11-13 where it cannot), with
workers replaced every few hundred requests so that many processes take
part. Every REQUEST_LOG_ID is unique; its first 16 hex digits are the
request's start time in microseconds (so sorting ids sorts requests by
start across hosts), the next 16 the worker's random bits (one value per
INSTANCE_ID, never shared by two), the last 8 the worker's counter; every
INSTANCE_ID belongs to one host; every record names its host.
"""
import re
import shutil
import subprocess
import tempfile
import time

from netpool import Front, Host, Net, teardown
from warmtest import BUILD, Skip, eq, free_port, main, ok

N = 100000
INI = """
[app]
workers = 2
max_requests = 400

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""".replace("{build}", BUILD)


class Ctx:
    pass


def setup():
    c = Ctx()
    c.dir = tempfile.mkdtemp(prefix="warmcgi-ids-")
    c.net = Net(3).start()
    c.hosts = []
    c.front = None
    try:
        for i in (1, 2, 3):
            c.hosts.append(Host(c.net, i, c.dir, INI).start(2))
        c.port = 8080 if c.net.netns else free_port()
        c.front = Front(c.net, c.dir, c.hosts, tcp_port=c.port)
        c.front.start(c.front.generate())
    except BaseException:
        teardown(c)
        raise
    return c


def test_hosts_are_separate_namespaces(c):
    if not c.net.netns:
        raise Skip("cannot make network namespaces (%s): the same test "
                   "runs with hosts on 127.0.0.11-13" % c.net.why)


def test_ids_unique_across_hosts(c):
    if shutil.which("ab") is None:
        raise Skip("ab (apache2-utils) is not installed")
    t0 = time.time()
    p = subprocess.run(c.net.wrap(0, [
        "ab", "-q", "-k", "-n", str(N), "-c", "16",
        "http://127.0.0.1:%d/t/hello?run=ids" % c.port]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=600)
    t1 = time.time()
    eq(p.returncode, 0, p.stdout)
    ok(re.search(r"Complete requests:\s+%d\b" % N, p.stdout), p.stdout)
    ok(re.search(r"Failed requests:\s+0\b", p.stdout), p.stdout)
    ok("Non-2xx" not in p.stdout, p.stdout)
    rate = re.search(r"Requests per second:\s+([\d.]+)", p.stdout)
    recs = []
    for h in c.hosts:
        mine = [r for r in h.access() if r["query"] == "run=ids"]
        ok(mine, "%s served some" % h.name)
        for r in mine:
            eq(r["host"], h.name, "host field")
        recs += mine
    eq(len(recs), N, "access records")
    ids = [r["request_id"] for r in recs]
    eq(len(set(ids)), N, "distinct REQUEST_LOG_IDs")
    bits_of = {}         # the random part -> its instance
    host_of = {}         # instance -> host
    for r in recs:
        rid = r["request_id"]
        ok(re.match(r"^[0-9a-f]{40}$", rid), rid)
        start_us = int(rid[:16], 16)
        # Written when the request ended: the id's time is its start.
        end_us = int(time.mktime(time.strptime(r["time"][:19],
                                               "%Y-%m-%dT%H:%M:%S")) -
                     time.timezone) * 1000000 + int(r["time"][20:26])
        ok(t0 * 1e6 - 1e6 <= start_us <= end_us, (rid, r["time"]))
        ok(end_us - start_us <= r["duration_ms"] * 1000 + 2000,
           (rid, r["time"], r["duration_ms"]))
        eq(bits_of.setdefault(rid[16:32], r["instance_id"]),
           r["instance_id"], "random bits shared by two instances")
        eq(host_of.setdefault(r["instance_id"], r["host"]), r["host"],
           "an INSTANCE_ID on two hosts")
    # Within one worker the counter follows the start time.
    by_inst = {}
    for rid in ids:
        by_inst.setdefault(rid[16:32], []).append(rid)
    for lst in by_inst.values():
        lst.sort(key=lambda x: int(x[32:], 16))
        starts = [int(x[:16], 16) for x in lst]
        eq(starts, sorted(starts), "start times of one worker's ids")
    ok(len(host_of) >= N // 400, "workers were replaced: %d "
       "instances" % len(host_of))
    print("# %d requests in %.1f s (%s/s) by %d worker processes on %d "
          "hosts" % (N, t1 - t0, rate.group(1) if rate else "?",
                     len(host_of), len(set(host_of.values()))))


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
