#!/usr/bin/env python3
"""Crash storms: more than emergency_restart_threshold workers dying of a
signal within emergency_restart_interval is logged as CRITICAL, shown on
the status page, slows spawning down, and ends by itself once the crashes
stop. Crashed requests count as 5xx of their handler.
"""
import json

from warmtest import Cluster, eq, main, ok, wait_for

INI = """
[app]
workers = 2
emergency_restart_threshold = 3
emergency_restart_interval = 2s
status_path = /status

[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def status(c):
    r = c.get("/status", timeout=60)
    eq(r.status, 200)
    return json.loads(r.text)


def test_crash_storm_backs_off_and_recovers():
    c = Cluster(INI, "storm").start()
    try:
        c.wait_workers(2)
        for _ in range(3):
            eq(c.get("/t/crash", timeout=60).status, 500)
        rec = c.wait_app(lambda x: x["message"].startswith("crash storm:"))
        eq(rec[0]["level"], "CRITICAL")
        s = status(c)
        e = s["emergency"]
        ok(e["active"], e)
        eq((e["threshold"], e["storms"]), (3, 1))
        ok(e["recent_crashes"] >= 3, e)
        ok(s["pool"]["crashed"] >= 3, s["pool"])
        eq(s["handlers"]["t"]["status"]["5xx"], 3,
           "each crashed request counted as a 500")
        # In the storm, workers come back one at a time with a pause.
        slow = c.wait_app(lambda x: x["message"].startswith(
            "crash storm: started one worker"), 20)
        delays = [int(x["message"].split("waits ")[1].split()[0])
                  for x in slow]
        ok(all(d >= 1000 for d in delays), delays)
        # Recovery: no crash for a whole interval ends it by itself.
        wait_for(lambda: not status(c)["emergency"]["active"], 30,
                 "storm over")
        c.wait_app(lambda x: x["message"].startswith("crash storm over"))
        eq(c.get("/t/hello").status, 200)
        c.wait_workers(2, timeout=20)
        s = status(c)
        eq(s["pool"]["workers"], 2)
        eq(s["emergency"]["storms"], 1)
    finally:
        c.stop()


def test_below_threshold_is_no_storm():
    c = Cluster(INI.replace("threshold = 3", "threshold = 10"),
                "nostorm").start()
    try:
        for _ in range(3):
            eq(c.get("/t/crash", timeout=60).status, 500)
        c.wait_workers(2, timeout=20)
        s = status(c)
        eq(s["emergency"]["active"], False)
        eq(s["emergency"]["storms"], 0)
        ok(not any(r["message"].startswith("crash storm")
                   for r in c.app_records()))
    finally:
        c.stop()


main()
