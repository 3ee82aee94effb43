#!/usr/bin/env python3
"""status_path and ping_path, answered by the host through nginx: the JSON
and Prometheus pages checked against the requests sent, deadline and
cancel counts, status_allow (nginx's realip module sets REMOTE_ADDR from
X-Real-IP, so the test can be any client), off by default.
"""
import json
import re
import socket
import time

from warmtest import UnixHTTPConnection, Cluster, eq, main, ok, wait_for

INI = """
[app]
workers = 2
request_timeout = 20s
status_path = /status
ping_path = /ping

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler quick]
url = /quick/
module = {build}/test/handlers/testmod.so
timeout = 300ms
"""

REALIP = "set_real_ip_from unix:; real_ip_header X-Real-IP;"


def start(ini=INI, name="status"):
    return Cluster(ini, name, nginx_extra=REALIP).start()


def status(c, **kw):
    r = c.get("/status", **kw)
    eq(r.status, 200, r.text)
    eq(r.header("Content-Type"), "application/json")
    eq(r.header("Cache-Control"), "no-store")
    return json.loads(r.text)


def prom(c):
    r = c.get("/status?format=prometheus")
    eq(r.status, 200, r.text)
    ok(r.header("Content-Type").startswith("text/plain; version=0.0.4"),
       r.header("Content-Type"))
    return parse_prometheus(r.text)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """Strict reader of the text format: every sample belongs to a family
    declared with # TYPE before it; returns {(name, labels): value}."""
    types = {}
    out = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            ok(name not in types, "family %s declared twice" % name)
            ok(typ in ("gauge", "counter", "histogram"), line)
            types[name] = typ
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = SAMPLE.match(line)
        ok(m, "not a sample line: %r" % line)
        name, labels = m.group(1), m.group(3) or ""
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        ok(name in types or family in types, "undeclared: %r" % line)
        pairs = tuple(LABEL.findall(labels))
        ok(",".join('%s="%s"' % (k, v) for k, v, _ in pairs) == labels,
           "bad labels: %r" % line)
        key = (name, tuple((k, v) for k, v, _ in pairs))
        ok(key not in out, "duplicate sample %r" % line)
        out[key] = float(m.group(4))
    return out


def test_ping_answers_pong():
    c = start(name="ping")
    try:
        r = c.get("/ping")
        eq(r.status, 200)
        eq(r.text, "pong\n")
        eq(r.header("Content-Type"), "text/plain")
        r = c.get("/ping", headers={"X-Real-IP": "203.0.113.5"})
        eq(r.status, 200, "ping is for any health checker")
    finally:
        c.stop()


def test_json_counts_the_requests_sent():
    c = start()
    try:
        for _ in range(5):
            eq(c.get("/t/hello").status, 200)
        for code in (404, 404, 503, 302):
            eq(c.get("/t/status?code=%d" % code).status, code)
        eq(c.get("/nowhere").status, 404)
        eq(c.get("/ping").status, 200)
        s = status(c)
        t = s["handlers"]["t"]
        eq(t["total"], 9)
        eq(t["status"], {"1xx": 0, "2xx": 5, "3xx": 1, "4xx": 2, "5xx": 1})
        eq(s["handlers"]["(none)"]["status"]["4xx"], 1)
        eq(s["handlers"]["(ping)"]["status"]["2xx"], 1)
        eq(s["handlers"]["quick"]["total"], 0)
        eq(s["requests"]["total"], 11)
        b = t["latency_ms"]["buckets"]
        eq(list(b)[-1], "+Inf")
        eq(b["+Inf"], 9)
        counts = list(b.values())
        ok(counts == sorted(counts), "buckets are cumulative: %r" % b)
        ok(t["latency_ms"]["sum"] >= 0)
        pool = s["pool"]
        eq(pool["mode"], "static")
        eq(pool["workers"], 2)
        eq(pool["busy"] + pool["idle"] + pool["starting"], 2)
        ok(pool["busy"] >= 1, "the worker serving this page is busy")
        eq(pool["spawned"], 2)
        eq((pool["recycled"], pool["crashed"]), (0, 0))
        eq(s["emergency"]["active"], False)
        eq(sorted(w["pid"] for w in s["workers"]), c.wait_workers(2))
        ok(re.match(r"^1\.\d+$", s["version"]), s["version"])
        eq(s["master_pid"], c.proc.pid)
        # The status request itself is counted once it is over.
        eq(status(c)["handlers"]["(status)"]["total"], 1)
    finally:
        c.stop()


def test_deadline_and_cancel_counts():
    c = start(name="status-dl")
    try:
        r = c.get("/quick/sleep?ms=3000")
        eq(r.status, 200)
        ok("err=deadline" in r.text, r.text)
        # A client that goes away: nginx closes the FastCGI connection.
        conn = UnixHTTPConnection(c.http_sock, timeout=0.5)
        conn.request("GET", "/t/sleep?ms=2000")
        try:
            conn.getresponse()
        except (socket.timeout, TimeoutError):
            pass
        conn.close()
        c.wait_access(lambda x: x["status"] == 499, 10, "499 record")
        s = status(c)
        eq(s["handlers"]["quick"]["deadline_exceeded"], 1)
        eq(s["handlers"]["quick"]["status"]["2xx"], 1)
        eq(s["handlers"]["t"]["canceled"], 1)
        eq(s["handlers"]["t"]["status"]["4xx"], 1)
        eq(s["requests"]["deadline_exceeded"], 1)
        eq(s["requests"]["canceled"], 1)
        b = s["handlers"]["quick"]["latency_ms"]["buckets"]
        eq(b["250"], 0, "a request past its 300 ms deadline")
        eq(b["+Inf"], 1)
    finally:
        c.stop()


def test_prometheus_matches_json():
    c = start(name="status-prom")
    try:
        for _ in range(3):
            c.get("/t/hello")
        c.get("/t/status?code=500")
        m = prom(c)
        h = (("handler", "t"),)
        eq(m[("warmcgi_requests_total", h + (("code", "2xx"),))], 3)
        eq(m[("warmcgi_requests_total", h + (("code", "5xx"),))], 1)
        eq(m[("warmcgi_deadline_exceeded_total", h)], 0)
        eq(m[("warmcgi_requests_canceled_total", h)], 0)
        eq(m[("warmcgi_request_duration_seconds_count", h)], 4)
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in m.items()
                         if k[0] == "warmcgi_request_duration_seconds_bucket"
                         and dict(k[1])["handler"] == "t")
        eq(buckets[-1], (float("inf"), 4))
        ok([v for _, v in buckets] == sorted(v for _, v in buckets),
           "cumulative buckets")
        ok(m[("warmcgi_request_duration_seconds_sum", h)] >= 0)
        eq(m[("warmcgi_workers_spawned_total", ())], 2)
        eq(sum(m[("warmcgi_workers", (("state", st),))]
               for st in ("idle", "busy", "starting")), 2)
        eq(m[("warmcgi_emergency", ())], 0)
        s = status(c)
        eq(s["handlers"]["t"]["total"], 4)
        eq(s["pool"]["spawned"], 2)
    finally:
        c.stop()


def test_status_only_for_allowed_clients():
    c = start(name="status-allow")
    try:
        r = c.get("/status", headers={"X-Real-IP": "203.0.113.5"})
        eq(r.status, 403)
        rec = c.wait_app(lambda x: "status page refused" in x["message"])
        ok("203.0.113.5" in rec[0]["message"], rec[0]["message"])
        eq(c.get("/status", headers={"X-Real-IP": "127.0.0.1"}).status, 200)
        eq(c.get("/status", headers={"X-Real-IP": "::1"}).status, 200)
        eq(c.get("/status").status, 200, "REMOTE_ADDR unix: is local")
    finally:
        c.stop()
    c = start(INI.replace("ping_path", "status_allow = 10.0.0.0/8\n"
                          "ping_path"), "status-allow2")
    try:
        eq(c.get("/status").status, 403)
        eq(c.get("/status", headers={"X-Real-IP": "10.9.8.7"}).status, 200)
        eq(c.get("/status?format=prometheus",
                 headers={"X-Real-IP": "11.0.0.1"}).status, 403)
    finally:
        c.stop()


def test_status_is_off_by_default():
    c = start("""
[app]
workers = 1

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""", "status-off")
    try:
        eq(c.get("/status").status, 404)
        eq(c.get("/ping").status, 404)
    finally:
        c.stop()


def test_status_wins_over_a_prefix_handler():
    c = start("""
[app]
workers = 1
status_path = /t/status

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""", "status-prefix")
    try:
        r = c.get("/t/status")
        eq(r.status, 200)
        ok(json.loads(r.text)["pool"]["workers"] == 1)
        eq(c.get("/t/hello").status, 200)
    finally:
        c.stop()


main()
