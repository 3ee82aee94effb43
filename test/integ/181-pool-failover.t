#!/usr/bin/env python3
"""A pool of three warmcgi hosts behind one nginx, with the config
`warmcgi --nginx --upstream ...` writes for it, under continuous load
(GET and POST in turn, each request naming itself in X-Test-Id):

- kill -9 of a whole host (master and workers): no GET fails (nginx
  sends it to the next host), and the POSTs that fail are exactly those
  in flight on the dead host (nginx does not send a POST twice); the host
  restarted is used again;
- warmcgi --drain: no request fails, POSTs included, and the drained
  host's access log stops growing; --undrain: it serves again;
- SIGTERM: the same for a stop, and the restarted host is used again;
- with kept-alive FastCGI connections, a drained host closes its idle
  ones and gets no more requests (GETs: none fails).

Each host is a network namespace the test makes (netpool.py); where that
is not possible, the first test skips and the hosts run on 127.0.0.11-13.
"""
import datetime
import os
import subprocess
import tempfile
import time

from netpool import (Front, Host, Load, Net, failed, served_by, teardown,
                     work_marks)
from warmtest import BUILD, NGINX, WARMCGI, Skip, eq, main, ok, wait_for

INI = """
[app]
workers = %d
request_timeout = 20s
upstream_fail_timeout = 2s
ping_path = /ping

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""".replace("{build}", BUILD)

WORKERS = 4
DRAINED_WORKERS = 2     # h1: fewer, so that connections queue for them


def epoch(t):
    """An RFC 3339 time of warmcgi's logs as seconds since the epoch."""
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Pool:
    pass


def setup():
    p = Pool()
    p.dir = tempfile.mkdtemp(prefix="warmcgi-pool-")
    p.net = Net(3, v6_hosts=(3,)).start()
    p.hosts = []
    p.front = None
    try:
        for i in (1, 2, 3):
            n = DRAINED_WORKERS if i == 1 else WORKERS
            p.hosts.append(Host(p.net, i, p.dir, INI % n).start(n))
        p.front = Front(p.net, p.dir, p.hosts)
        p.generated = p.front.generate()
        p.front.start(p.generated)
    except BaseException:
        teardown(p)
        raise
    return p


def in_flight(host, load=None):
    """(method, id) of the /t/work requests a host started and did not
    end (of one load only, with load)."""
    starts = work_marks(host, "start")
    ends = work_marks(host, "end")
    return set(k for k in set(starts) - set(ends)
               if load is None or k[1].startswith(load.tag))


def fresh_post(host, load):
    """A POST of load in flight on host that started within 100 ms."""
    starts = work_marks(host, "start")
    ends = work_marks(host, "end")
    return [k for k in set(starts) - set(ends)
            if k[1].startswith(load.tag) and k[0] == "POST" and
            time.time() - epoch(starts[k]) < 0.1]


def unlogged(host, load):
    """(method, id) of the requests of load a host started and has not
    written an access record for (it does once the response is sent)."""
    logged = set(r["request_id"] for r in host.access())
    return set(k for k, r in work_marks(host, "start", full=True).items()
               if k[1].startswith(load.tag) and
               r["request_id"] not in logged)


def test_hosts_are_separate_namespaces(p):
    if not p.net.netns:
        raise Skip("cannot make network namespaces (%s): the same tests "
                   "run with hosts on 127.0.0.11-13" % p.net.why)
    ok(p.hosts[0].address.startswith("10.77.1.2:"), p.hosts[0].address)
    ok(p.hosts[2].address.startswith("[fd77:3::2]:"), p.hosts[2].address)


def test_generated_pool_config(p):
    g = p.generated
    for h in p.hosts:
        ok("server %s max_fails=1 fail_timeout=2s;" % h.address in g, g)
    ok("fastcgi_next_upstream error timeout;" in g, g)
    ok("non_idempotent" not in g.replace("non_idempotent is left out", ""),
       "POSTs are never sent twice")
    ok("fastcgi_connect_timeout 500ms;" in g, g)


def test_pool_config_from_upstream_servers(p):
    ini = os.path.join(p.dir, "pool.ini")
    os.makedirs(os.path.join(p.dir, "static"), exist_ok=True)
    with open(ini, "w") as f:
        f.write("[app]\nlisten = 0.0.0.0:9000\n"
                "upstream_servers = 10.0.1.1:9000, [fd00::2]:9000\n"
                "upstream_max_fails = 3\nupstream_fail_timeout = 1m\n"
                "upstream_connect_timeout = 1s\n"
                "[handler s]\nurl = /s/\nstatic_dir = static\n")
    g = subprocess.run([WARMCGI, "--nginx", "-c", ini, "--nginx-listen",
                        "unix:" + p.front.http_sock],
                       stdout=subprocess.PIPE, universal_newlines=True,
                       timeout=30).stdout
    ok("upstream warmcgi {\n"
       "    server 10.0.1.1:9000 max_fails=3 fail_timeout=60s;\n"
       "    server [fd00::2]:9000 max_fails=3 fail_timeout=60s;\n}" in g,
       g)
    ok("fastcgi_connect_timeout 1s;" in g, g)
    # The files are on the hosts: nginx passes static handlers on.
    loc = g[g.index("location ^~ /s/"):]
    loc = loc[:loc.index("}")]
    ok("fastcgi_pass warmcgi;" in loc and "alias" not in loc, loc)
    # --upstream replaces the config's list.
    g2 = subprocess.run([WARMCGI, "--nginx", "-c", ini, "--upstream",
                         "10.0.9.9:9000"], stdout=subprocess.PIPE,
                        universal_newlines=True, timeout=30).stdout
    ok("server 10.0.9.9:9000 max_fails" in g2 and "10.0.1.1" not in g2, g2)
    conf = os.path.join(p.front.prefix, "pool-t.conf")
    with open(conf, "w") as f:
        f.write(p.front.conf(g))
    t = subprocess.run([NGINX, "-t", "-p", p.front.prefix, "-c", conf],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=30)
    eq(t.returncode, 0, t.stdout)
    ok("[warn]" not in t.stdout, t.stdout)


def test_every_host_serves(p):
    load = Load(p.front.http_sock, threads=4, ms=1).start()
    try:
        wait_for(lambda: all(h.access() for h in p.hosts), 20,
                 "requests on every host")
    finally:
        res = load.stop()
    eq(failed(res), [], "failed requests")
    seen = set(served_by(r) for r in res)
    eq(seen, {"h1", "h2", "h3"}, "hosts that answered")
    for h in p.hosts:
        r = h.access()[0]
        eq(r["host"], h.name, "host field of the access log")
        ok(all(x["host"] == h.name for x in h.app()), "host of app records")


def test_kill9_host_fails_over(p):
    victim = p.hosts[1]
    load = Load(p.front.http_sock, threads=6, ms=300).start()
    try:
        load.wait_count(20)
        # Kill while a POST that started less than 100 ms ago (of 300) is
        # being served on the victim, so that there is one to lose.
        wait_for(lambda: fresh_post(victim, load), 30,
                 "a POST starting on h2", interval=0.002)
        victim.kill9()
        t_kill = time.time()
        load.wait_count(20)
        victim.start(WORKERS)
        t_back = time.time()
        wait_for(lambda: [r for r in victim.access()
                          if epoch(r["time"]) > t_back], 30,
                 "h2 serving again after its restart")
    finally:
        res = load.stop()
    lost = in_flight(victim, load)
    nginx = p.front.log()
    bad = failed(res)
    eq([r for r in bad if r["method"] != "POST"], [], "failed GETs")
    bad_ids = set(r["id"] for r in bad)
    started_lost = set(i for m, i in lost if m == "POST")
    ok(started_lost, "a POST was in flight on the killed host")
    # Every POST in flight in a handler on the dead host failed...
    eq(started_lost - bad_ids, set(), "in-flight POSTs that did not fail")
    # ... and every failed POST was in flight there: in a handler, or
    # sent to it and not yet taken by a worker.
    for r in bad:
        eq(r["status"], 502, "status of a lost POST")
        method, status, ups, _ = nginx[r["id"]]
        eq(ups, victim.address, "upstream of failed POST %s" % r["id"])
        ok(r["t0"] < t_kill + 0.5, "failed POST sent before the kill")
    # The GETs in flight there were answered by another host.
    by_id = dict((r["id"], r) for r in res)
    for m, i in lost:
        if m == "GET":
            eq(by_id[i]["status"], 200)
            ok(served_by(by_id[i]) != "h2", "GET %s retried" % i)
            ok(victim.address in nginx[i][2], nginx[i])
    print("# %d requests, %d POSTs lost (%d in a handler), %d GETs "
          "retried" % (len(res), len(bad), len(started_lost),
                       len([1 for m, _ in lost if m == "GET"])))


def test_drain_refuses_new_connections_at_once(p):
    h = p.hosts[0]
    # More requests at once than h1 has workers: connections wait in its
    # backlog when it is drained, and are served, not reset.
    load = Load(p.front.http_sock, threads=12, ms=100).start()
    try:
        load.wait_count(60)
        queued = wait_for(h.backlog, 20,
                          "connections waiting for h1's workers",
                          interval=0.002)
        rc, out = h.command("--drain")
        eq(rc, 0, out)
        t_drained = time.time()
        ok("drained" in out, out)
        wait_for(lambda: not unlogged(h, load), 30,
                 "h1's requests to finish")
        n = len(h.access())
        load.wait_count(200, what="requests while h1 is drained")
        eq(len(h.access()), n, "h1's access log grew while drained")
        late = [k for k, t in work_marks(h, "start").items()
                if epoch(t) > t_drained]
        eq(late, [], "requests h1 started after --drain returned")
        rc, out = h.command("--undrain")
        eq(rc, 0, out)
        t_back = time.time()
        wait_for(lambda: [r for r in h.access()
                          if epoch(r["time"]) > t_back], 30,
                 "h1 serving again after --undrain")
    finally:
        res = load.stop()
    eq(failed(res), [], "failed requests")
    print("# %d requests; %d waited in h1's backlog when it was drained"
          % (len(res), queued))
    msgs = [r["message"] for r in h.app()]
    ok(any(m.startswith("drained:") for m in msgs), "drained record")
    ok(any(m.startswith("undrained:") for m in msgs), "undrained record")


def test_sigterm_stops_accepting_at_once(p):
    h = p.hosts[2]
    # Requests long enough that h3's workers are busy for a while after
    # SIGTERM: connections made meanwhile must be refused, not queued.
    load = Load(p.front.http_sock, threads=8, ms=200).start()
    try:
        load.wait_count(60)
        wait_for(lambda: in_flight(h, load), 20,
                 "a request in flight on h3", interval=0.002)
        h.stop()
        load.wait_count(100, what="requests while h3 is stopped")
        h.start(WORKERS)
        t_back = time.time()
        wait_for(lambda: [r for r in h.access()
                          if epoch(r["time"]) > t_back], 30,
                 "h3 serving again after its restart")
    finally:
        res = load.stop()
    eq(failed(res), [], "failed requests")


def test_drain_closes_kept_alive_connections(p):
    # nginx keeping its FastCGI connections open between requests: a
    # drained host closes the idle ones and keeps no more, so that it
    # gets no new request on them either. GETs only: nginx does not send
    # a POST again when a kept connection closes under it.
    conf = p.generated.replace("fastcgi_keep_conn off;",
                               "fastcgi_keep_conn on;")
    conf = conf.replace("upstream warmcgi {\n",
                        "upstream warmcgi {\n    keepalive 16;\n", 1)
    ok(conf != p.generated and "keep_conn on" in conf, "kept-alive config")
    p.front.stop()
    p.front.start(conf)
    h = p.hosts[1]
    load = Load(p.front.http_sock, threads=6, ms=10, post=False).start()
    try:
        load.wait_count(100)
        rc, out = h.command("--drain")
        eq(rc, 0, out)
        t_drained = time.time()
        wait_for(lambda: not unlogged(h, load), 30,
                 "h2's requests to finish")
        n = len(h.access())
        load.wait_count(200, what="requests while h2 is drained")
        eq(len(h.access()), n, "h2's access log grew while drained")
        late = [k for k, t in work_marks(h, "start").items()
                if epoch(t) > t_drained]
        eq(late, [], "requests h2 started after --drain returned")
        rc, out = h.command("--undrain")
        eq(rc, 0, out)
        t_back = time.time()
        wait_for(lambda: [r for r in h.access()
                          if epoch(r["time"]) > t_back], 30,
                 "h2 serving again after --undrain")
    finally:
        res = load.stop()
        p.front.stop()
        p.front.start(p.generated)
    eq(failed(res), [], "failed requests")


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
