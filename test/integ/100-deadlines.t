#!/usr/bin/env python3
"""Deadlines, cancellation and the request context API (issue 4): the soft
deadline wakes a module (it answers by itself), the hard deadline answers
500 and replaces the worker without touching others, a client that goes
away cancels GET and POST (499, "request canceled", the handler sees
WC_CANCELED), wc_set_timeout_ms shortens, wc_done_fd becomes readable, a
module may take the signal for itself, a -lwarmcgi CGI executable honours
REQUEST_DEADLINE and SIGTERM, the slow log takes backtraces.
"""
import os
import re
import shutil
import threading
import time

from warmtest import Cluster, build, eq, main, ok, wait_for

INI = """
[app]
workers = 3
request_timeout = 30s
deadline_grace = 1500ms

[handler fast]
url = /fast/
module = {build}/test/handlers/testmod.so
timeout = 400ms

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler slow]
url = /slow/
module = {build}/test/handlers/testmod.so
slowlog_timeout = 200ms

[handler timer]
url = /timer
module = {build}/examples/timer/timer.so
timeout = 300ms

[handler cancel]
url = /cancel
module = {build}/examples/cancel/cancel.so

[handler cgi]
url = /cgi/
cgi = {dir}/cgi
timeout = 400ms
deadline_grace = 3s
"""


def setup():
    c = Cluster(INI, "deadline")
    os.makedirs(c.path("cgi"))
    shutil.copy(build("test/handlers/cgi_deadline"), c.path("cgi"))
    return c.start()


def teardown(c):
    c.stop()


def rid_of(c, path):
    return c.wait_access(lambda x: x["path"] == path)[-1]["request_id"]


def test_soft_deadline_wakes_the_handler(c):
    t0 = time.monotonic()
    r = c.get("/fast/sleep?ms=20000")
    dt = time.monotonic() - t0
    eq(r.status, 200)
    m = re.search(r"slept (\d+) ms rc=-1 errno=EINTR err=deadline late=(-?\d+)",
                  r.text)
    ok(m, r.text)
    ok(int(m.group(1)) < 20000 and 0 <= int(m.group(2)) < 1500, r.text)
    ok(0.3 < dt < 20, "answered by the handler itself after the deadline")
    rid = rid_of(c, "/fast/sleep")
    bt = c.wait_app(lambda x: x["request_id"] == rid and
                    "soft deadline" in x["message"])[0]
    ok(any("testmod.so" in f for f in bt["backtrace"]), bt)
    ok(any("main" in f for f in bt["backtrace"]), bt)


def test_blocking_read_and_poll_return_early(c):
    for call in ("read", "poll"):
        r = c.get("/fast/block" + call)
        eq(r.text, "%s rc=-1 errno=EINTR err=deadline\n" % call)


def test_timer_example_answers_by_itself(c):
    r = c.get("/timer")
    eq(r.status, 500)
    eq(r.text, "The request did not complete in time.\n")
    rid = rid_of(c, "/timer")
    c.wait_app(lambda x: x["request_id"] == rid and
               x["message"].startswith("deadline exceeded with"))


def test_hard_deadline_500_other_workers_untouched(c):
    c.wait_workers(3)
    before = set(c.workers())
    other = {}

    def run():
        other["r"] = c.get("/t/sleep?ms=2500")
    t = threading.Thread(target=run)
    t.start()
    c.wait_app(lambda x: x["message"].startswith("sleep started") and
               x["handler"] == "t")
    t0 = time.monotonic()
    r = c.get("/fast/spin?ms=60000")
    dt = time.monotonic() - t0
    eq(r.status, 500)
    ok(b"Internal Server Error" in r.body)
    ok(dt < 0.4 + 1.5 + 5, "500 soon after the hard deadline (%.1fs)" % dt)
    rid = rid_of(c, "/fast/spin")
    eq(c.wait_access(lambda x: x["request_id"] == rid)[0]["status"], 500)
    c.wait_app(lambda x: x["request_id"] == rid and
               "hard deadline" in x["message"])
    t.join(30)
    eq(other["r"].status, 200, "a request in another worker")
    ok("err=ok" in other["r"].text)
    eq(c.get("/t/hello").status, 200)
    wait_for(lambda: len(c.workers()) == 3 and set(c.workers()) != before,
             15, "the stuck worker replaced")
    c.wait_app(lambda x: "hard deadline" in x["message"] and
               x["request_id"] is None)


def test_handler_ignoring_the_signal_still_stops(c):
    r = c.get("/fast/ignore")
    eq(r.status, 500)


def cancel_case(c, method, body):
    n0 = len(c.app_records())
    s = c.open_request(method, "/t/sleep?ms=20000&m=" + method, body=body)
    try:
        started = wait_for(lambda: [x for x in c.app_records()[n0:] if
                                    x["message"].startswith("sleep started")],
                           10, "the handler to start")[0]
    finally:
        s.close()
    rid = started["request_id"]
    end = c.wait_app(lambda x: x["request_id"] == rid and
                     x["message"].startswith("sleep ended"))[0]
    eq(end["message"], "sleep ended with canceled")
    c.wait_app(lambda x: x["request_id"] == rid and
               x["message"] == "request canceled")
    eq(c.wait_access(lambda x: x["request_id"] == rid)[0]["status"], 499)


def test_client_gone_cancels_a_get(c):
    cancel_case(c, "GET", b"")


def test_client_gone_cancels_a_post(c):
    cancel_case(c, "POST", b"p" * 100000)


def test_cancel_example(c):
    s = c.open_request("POST", "/cancel", body=b"x" * 5000)
    try:
        c.wait_app(lambda x: x["message"] == "job started (body 5000 bytes)")
    finally:
        s.close()
    c.wait_app(lambda x: x["message"].startswith("request canceled after"))
    rec = c.wait_access(lambda x: x["path"] == "/cancel")[0]
    eq(rec["status"], 499)


def test_set_timeout_shortens(c):
    r = c.get("/t/settimeout?to=200&ms=5000")
    ok("rc=-1 errno=EINTR err=deadline" in r.text, r.text)
    ok("shortened=1" in r.text, r.text)
    ok(int(re.search(r"slept (\d+)", r.text).group(1)) < 900, r.text)


def test_done_fd_becomes_readable(c):
    r = c.get("/t/donefd?ms=300")
    ok(re.search(r"poll=1 revents=1 .* err=deadline", r.text), r.text)


def test_module_may_take_the_signal(c):
    r = c.get("/fast/ownaction")
    eq(r.text, "own action ran=1 err=deadline\n")


def test_cgi_executable_with_libwarmcgi(c):
    r = c.get("/cgi/cgi_deadline?ms=20000")
    eq(r.status, 200)
    m = re.search(r"waited=(\d+) err=(\d) left0_positive=1", r.text)
    ok(m, r.text)
    eq(m.group(2), "2", "WC_DEADLINE_EXCEEDED after SIGTERM")
    ok(int(m.group(1)) < 20000)
    rid = rid_of(c, "/cgi/cgi_deadline")
    c.wait_app(lambda x: x["request_id"] == rid and
               x["message"] == "cgi finished with err=2" and
               x["level"] == "WARNING")
    r = c.get("/cgi/cgi_deadline?ms=100")
    ok("err=0" in r.text, r.text)


def test_cgi_executable_sees_the_client_leave(c):
    n0 = len(c.app_records())
    s = c.open_request("GET", "/cgi/cgi_deadline?ms=300")
    try:
        started = wait_for(lambda: [x for x in c.app_records()[n0:] if
                                    x["message"].startswith("cgi started")],
                           10, "the CGI process to start")[0]
    finally:
        s.close()
    rid = started["request_id"]
    c.wait_app(lambda x: x["request_id"] == rid and
               x["message"] == "cgi finished with err=1")
    eq(c.wait_access(lambda x: x["request_id"] == rid)[0]["status"], 499)


def test_slow_log_backtrace(c):
    r = c.get("/slow/spin?ms=600")
    eq(r.status, 200)
    rid = rid_of(c, "/slow/spin")
    rec = c.wait_app(lambda x: x["request_id"] == rid and
                     x["message"].startswith("slow request"))[0]
    ok(any("testmod.so" in f for f in rec["backtrace"]), rec)


main(setup=setup, teardown=teardown)
