#!/usr/bin/env python3
"""The rolling deploy of README's "Running on several machines", under
continuous load through nginx (GET and POST): for each of three hosts in
turn, `warmcgi --drain`, a new release (its module in a new directory, a
new `version`), a reload (SIGHUP), `warmcgi --undrain`, and on to the next
host once this one serves the new version. No request fails; each host's
access log shows version 1 then version 2, switched once, host after
host; the README's jq queries over the three hosts' logs show every
request of the deploy window with its host and version, and which hosts
run which version. Hosts are network namespaces the test makes, or
127.0.0.11-13 where it cannot.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from netpool import Front, Host, Load, Net, failed, teardown
from warmtest import BUILD, Skip, eq, main, ok, wait_for

INI = """
[app]
version = %(version)s
workers = 3
request_timeout = 20s
upstream_fail_timeout = 1s

[handler t]
url = /t/
module = %(module)s
"""

# The README's queries (section "Running on several machines").
EVERY_REQUEST = r'''
  map(select(.time >= $from and .time <= $to))
  | sort_by(.request_id)[]
  | [.time, .host, .version, .status, .method, .path] | @tsv'''
VERSIONS = r'''
  map(select(.time >= $from and .time <= $to))
  | group_by(.host)[] | group_by(.version)[]
  | [.[0].host, .[0].version, (map(.time) | min), (map(.time) | max),
     length] | @tsv'''


class Ctx:
    pass


def release(c, h, version):
    """A release directory on host h with the module, and the config."""
    d = os.path.join(h.dir, "releases", version)
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(BUILD, "test", "handlers", "testmod.so"),
                os.path.join(d, "app.so"))
    h.write(INI % {"version": version, "module": os.path.join(d, "app.so")})


def setup():
    c = Ctx()
    c.dir = tempfile.mkdtemp(prefix="warmcgi-deploy-")
    c.net = Net(3).start()
    c.hosts = []
    c.front = None
    try:
        for i in (1, 2, 3):
            h = Host(c.net, i, c.dir, "")
            release(c, h, "1")
            c.hosts.append(h.start(3))
        c.front = Front(c.net, c.dir, c.hosts)
        c.front.start(c.front.generate())
    except BaseException:
        teardown(c)
        raise
    return c


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%06dZ" % int(t % 1 * 1e6)


def test_hosts_are_separate_namespaces(c):
    if not c.net.netns:
        raise Skip("cannot make network namespaces (%s): the same test "
                   "runs with hosts on 127.0.0.11-13" % c.net.why)


def test_rolling_deploy_without_a_failed_request(c):
    load = Load(c.front.http_sock, threads=6, ms=20).start()
    c.t_from = time.time()
    try:
        load.wait_count(60)
        for h in c.hosts:
            rc, out = h.command("--drain")
            eq(rc, 0, out)
            release(c, h, "2")
            n = len([r for r in h.app() if r["message"].startswith(
                "reloaded:")])
            with open(h.pid_file) as f:
                os.kill(int(f.read()), signal.SIGHUP)
            wait_for(lambda: len([r for r in h.app() if r["message"]
                                  .startswith("reloaded:")]) > n, 30,
                     "%s reloaded" % h.name)
            rc, out = h.command("--undrain")
            eq(rc, 0, out)
            wait_for(lambda: [r for r in h.access()
                              if r["version"].startswith("2.")], 30,
                     "%s serving version 2" % h.name)
        load.wait_count(60)
    finally:
        res = load.stop()
    c.t_to = time.time()
    eq(failed(res), [], "failed requests")
    versions = set(r["body"].split("version=")[1].split()[0] for r in res)
    ok(any(v.startswith("1.") for v in versions) and
       any(v.startswith("2.") for v in versions), versions)
    # Each host: version 1, then version 2, switched once, in turn.
    switched = []
    for h in c.hosts:
        seq = [r["version"].split(".")[0] for r in
               sorted(h.access(), key=lambda r: r["request_id"])]
        first2 = seq.index("2")
        eq(set(seq[:first2]), {"1"}, "%s before its deploy" % h.name)
        eq(set(seq[first2:]), {"2"}, "%s after its deploy" % h.name)
        switched.append(min(r["request_id"] for r in h.access()
                            if r["version"].startswith("2.")))
    eq(switched, sorted(switched), "hosts switched one after another")
    print("# %d requests during the deploy, none failed" % len(res))


def jq(c, program):
    logs = [h.access_log for h in c.hosts]
    p = subprocess.run(["jq", "-s", "-r", "--arg", "from",
                        rfc3339(c.t_from), "--arg", "to", rfc3339(c.t_to),
                        program] + logs, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=60)
    eq(p.returncode, 0, p.stderr)
    return [line.split("\t") for line in p.stdout.splitlines()]


def test_log_queries_of_the_deploy_window(c):
    if shutil.which("jq") is None:
        raise Skip("jq is not installed")
    rows = jq(c, EVERY_REQUEST)
    want = []
    for h in c.hosts:
        want += [r for r in h.access()
                 if rfc3339(c.t_from) <= r["time"] <= rfc3339(c.t_to)]
    eq(len(rows), len(want), "requests of the window")
    eq([r[1:3] for r in rows],
       [[r["host"], r["version"]] for r in
        sorted(want, key=lambda r: r["request_id"])], "hosts and versions")
    per = jq(c, VERSIONS)
    eq(sorted((r[0], r[1].split(".")[0]) for r in per),
       [(h.name, v) for h in c.hosts for v in ("1", "2")],
       "each host ran version 1, then version 2")
    for name in ("h1", "h2", "h3"):
        v1 = [r for r in per if r[0] == name and r[1].startswith("1.")][0]
        v2 = [r for r in per if r[0] == name and r[1].startswith("2.")][0]
        ok(v1[3] < v2[2] or v1[3] < v2[3], (v1, v2))
    print("# " + json.dumps(per))


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
