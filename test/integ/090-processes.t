#!/usr/bin/env python3
"""The master: workers replaced when they die (with a backoff when they
die in a loop), workers gone when the master is killed, graceful stop
with a request in flight, SIGHUP reload (version minor grows; a broken
config keeps the old one serving), SIGUSR1 reopening the logs.
"""
import os
import re
import signal
import threading

from warmtest import Cluster, eq, main, ok, pid_alive, wait_for

INI = """
[app]
workers = 2
request_timeout = 20s

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so

[handler rid]
url = /rid
module = {build}/examples/request_id/request_id.so
"""


def fresh(name):
    return Cluster(INI, name).start()


def version(c):
    return re.search(r"CURRENT_VERSION_ID=(\S+)", c.get("/rid").text).group(1)


def test_killed_worker_is_replaced():
    c = fresh("respawn")
    try:
        w = c.wait_workers(2)
        os.kill(w[0], signal.SIGKILL)
        wait_for(lambda: w[0] not in c.workers() and
                 len(c.workers()) == 2, 10, "replacement")
        for _ in range(10):
            eq(c.get("/t/hello").status, 200)
    finally:
        c.stop()


def test_workers_exit_when_the_master_is_killed():
    c = fresh("orphans")
    try:
        w = c.wait_workers(2)
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait(10)
        wait_for(lambda: not any(pid_alive(p) for p in w), 10,
                 "workers gone")
    finally:
        c.stop()


def test_graceful_stop_finishes_the_request_in_flight():
    c = fresh("graceful")
    try:
        out = {}

        def run():
            out["r"] = c.get("/t/sleep?ms=700")
        t = threading.Thread(target=run)
        t.start()
        c.wait_app(lambda x: x["message"].startswith("sleep started"))
        w = c.workers()
        c.signal(signal.SIGTERM)
        t.join(30)
        eq(out["r"].status, 200)
        ok("slept" in out["r"].text)
        eq(c.proc.wait(30), 0)
        ok(not any(pid_alive(p) for p in w), "no worker left")
        ok(not os.path.exists(c.sock), "socket removed")
    finally:
        c.stop()


def test_reload_bumps_the_minor_and_replaces_workers():
    c = fresh("reload")
    try:
        v1 = version(c)
        old = set(c.wait_workers(2))
        c.signal(signal.SIGHUP)
        wait_for(lambda: version(c) != v1, 10, "new version")
        v2 = version(c)
        eq(v2.split(".")[0], v1.split(".")[0])
        ok(int(v2.split(".")[1]) > int(v1.split(".")[1]), (v1, v2))
        wait_for(lambda: not old & set(c.workers()) and
                 len(c.workers()) == 2, 10, "old workers gone")
        c.wait_app(lambda x: x["message"].startswith("reloaded"))
    finally:
        c.stop()


def test_broken_config_on_reload_keeps_serving():
    c = fresh("badreload")
    try:
        v1 = version(c)
        with open(c.ini, "a") as f:
            f.write("\n[handler x]\nurl = /x\nnonsense = 1\n")
        c.signal(signal.SIGHUP)
        rec = c.wait_app(lambda x: x["message"].startswith("reload failed"))
        ok("warmcgi.ini:" in rec[0]["message"] and
           'unknown key "nonsense"' in rec[0]["message"], rec[0]["message"])
        eq(version(c), v1)
        eq(c.get("/t/hello").status, 200)
    finally:
        c.stop()


def test_usr1_reopens_logs():
    c = fresh("reopen")
    try:
        c.get("/t/hello?before=1")
        c.wait_access(lambda x: x["query"] == "before=1")
        os.rename(c.access_log, c.access_log + ".1")
        os.rename(c.app_log, c.app_log + ".1")
        c.signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(c.app_log), 10, "new app log")

        def fresh_log():
            c.get("/t/hello?after=1")
            return [x for x in c.access_records() if x["query"] == "after=1"]
        wait_for(fresh_log, 10, "records in the new access log")
    finally:
        c.stop()


def test_crash_loop_backs_off_then_recovers():
    c = fresh("backoff")
    try:
        c.wait_workers(2)
        for _ in range(6):
            eq(c.get("/t/crash").status, 500)
        c.wait_app(lambda x: "dying young" in x["message"])
        eq(c.get("/t/hello", timeout=30).status, 200)
        c.wait_workers(2, timeout=20)
    finally:
        c.stop()


main()
