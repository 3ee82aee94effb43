#!/usr/bin/env python3
"""Privileges and limits: workers drop to user/group (the master stays
root), handlers never run as root without allow_root, the unix socket's
owner/group/mode, listen_allow for TCP clients, and per-worker rlimits
(rlimit_as turns a memory hog into a 500 of its own request).
Dropping privileges needs root; those tests use `nobody` and skip
otherwise.
"""
import grp
import os
import pwd
import stat
import subprocess
import tempfile

from warmtest import (WARMCGI, Cluster, Skip, eq, free_port, main, ok,
                      public_build,
                      wait_for)

MOD = """
[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root to change users")


def nobody():
    return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid


def ids(c):
    r = c.get("/t/ids")
    eq(r.status, 200, r.text)
    return dict(x.split("=") for x in r.text.split() if "=" in x)


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1:]
    return None


def test_refuses_to_run_handlers_as_root():
    need_root()
    d = tempfile.mkdtemp(prefix="warmcgi-root-")
    try:
        for extra, want in (("", "refusing to run handlers as root"),
                            ("user = root\n", "user = root is root")):
            ini = os.path.join(d, "w.ini")
            with open(ini, "w") as f:
                f.write("[app]\nlisten = %s/w.sock\nworkers = 1\n%s"
                        % (d, extra))
            p = subprocess.run([WARMCGI, "-c", ini], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30,
                               universal_newlines=True)
            eq(p.returncode, 1, p.stderr)
            ok(want in p.stderr and "allow_root = yes" in p.stderr, p.stderr)
            ok(not os.path.exists(os.path.join(d, "w.sock")))
            # -t checks the file only.
            p = subprocess.run([WARMCGI, "-t", "-c", ini], timeout=30,
                               stderr=subprocess.PIPE)
            eq(p.returncode, 0)
    finally:
        subprocess.run(["rm", "-rf", d])


def test_allow_root_runs_handlers_as_root():
    need_root()
    c = Cluster("[app]\nworkers = 1\nallow_root = yes\n" + MOD,
                "allowroot").start()
    try:
        eq(ids(c)["uid"], "0")
    finally:
        c.stop()


def test_workers_drop_to_user_and_group():
    need_root()
    uid, gid = nobody()
    c = Cluster("[app]\nworkers = 2\nuser = nobody\ngroup = nogroup\n" + MOD,
                "drop", build_dir=public_build()).start()
    try:
        i = ids(c)
        eq((i["uid"], i["euid"]), (str(uid), str(uid)))
        eq((i["gid"], i["egid"]), (str(gid), str(gid)))
        ok(i["groups"] in ("0", "1"), "no supplementary group of root's: "
           "%r" % i)
        w = c.wait_workers(2)
        for pid in w:
            eq(proc_status(pid, "Uid"), [str(uid)] * 4)
            eq(proc_status(pid, "Gid"), [str(gid)] * 4)
            eq(proc_status(pid, "CapEff"), ["0000000000000000"])
        eq(proc_status(c.proc.pid, "Uid")[0], "0", "the master stays root")
        # The master reopens the logs and hands them to the workers' user.
        c.wait_access(lambda x: x["path"] == "/t/ids")
        os.rename(c.access_log, c.access_log + ".1")
        c.signal(__import__("signal").SIGUSR1)
        wait_for(lambda: os.path.exists(c.access_log) and
                 os.stat(c.access_log).st_uid == uid, 10,
                 "a new log owned by the workers' user")

        def logged():
            c.get("/t/hello?after=rotate")
            return [x for x in c.access_records()
                    if x["query"] == "after=rotate"]
        wait_for(logged, 10, "workers write the reopened access log")
    finally:
        c.stop()


def test_group_defaults_to_the_users_group():
    need_root()
    uid = pwd.getpwnam("nobody").pw_uid
    gid = pwd.getpwnam("nobody").pw_gid
    c = Cluster("[app]\nworkers = 1\nuser = nobody\n" + MOD,
                "drop-user", build_dir=public_build()).start()
    try:
        i = ids(c)
        eq((i["uid"], i["gid"]), (str(uid), str(gid)))
    finally:
        c.stop()


def test_unknown_user_is_a_config_error():
    d = tempfile.mkdtemp(prefix="warmcgi-user-")
    try:
        ini = os.path.join(d, "w.ini")
        with open(ini, "w") as f:
            f.write("[app]\nworkers = 1\nuser = no-such-user-here\n"
                    "listen_owner = nor-this-one\n")
        p = subprocess.run([WARMCGI, "-t", "-c", ini], timeout=30,
                           stderr=subprocess.PIPE, universal_newlines=True)
        eq(p.returncode, 1)
        ok("w.ini:3: user = no-such-user-here: no such user" in p.stderr,
           p.stderr)
        ok("w.ini:4: listen_owner = nor-this-one: no such user" in p.stderr,
           p.stderr)
    finally:
        subprocess.run(["rm", "-rf", d])


def test_unix_socket_owner_group_and_mode():
    need_root()
    uid, gid = nobody()
    c = Cluster("[app]\nworkers = 1\nlisten_owner = nobody\n"
                "listen_group = nogroup\nlisten_mode = 0600\n" + MOD,
                "sockperm").start()
    try:
        st = os.stat(c.sock)
        eq((st.st_uid, st.st_gid), (uid, gid))
        eq(stat.S_IMODE(st.st_mode), 0o600)
        eq(c.get("/t/hello").status, 200)
    finally:
        c.stop()


def test_listen_allow_refuses_other_tcp_clients():
    port = free_port()
    c = Cluster("[app]\nworkers = 1\nlisten_allow = 10.0.0.0/8\n" + MOD,
                "allow-no", listen="127.0.0.1:%d" % port).start()
    try:
        eq(c.get("/t/hello").status, 502)
        rec = c.wait_app(lambda x: "refused a connection" in x["message"])
        ok("from 127.0.0.1 " in rec[0]["message"], rec[0]["message"])
        ok(not c.access_records(), "no request was read")
    finally:
        c.stop()
    port = free_port()
    c = Cluster("[app]\nworkers = 1\n" + MOD, "allow-default",
                listen="127.0.0.1:%d" % port).start()
    try:
        eq(c.get("/t/hello").status, 200, "loopback is allowed by default")
    finally:
        c.stop()


def has_asan():
    p = subprocess.run(["ldd", WARMCGI], stdout=subprocess.PIPE,
                       universal_newlines=True)
    return "libasan" in p.stdout


def limits(pid):
    out = {}
    with open("/proc/%d/limits" % pid) as f:
        for line in f.readlines()[1:]:
            name = line[:26].strip()
            out[name] = line[26:].split()[:2]
    return out


def test_rlimits_apply_to_workers():
    if has_asan():
        raise Skip("AddressSanitizer reserves terabytes of address space")
    c = Cluster("[app]\nworkers = 2\nrlimit_nofile = 200\nrlimit_core = 0\n"
                "rlimit_as = 1G\n" + MOD, "rlimits").start()
    try:
        for pid in c.wait_workers(2):
            lim = limits(pid)
            eq(lim["Max open files"], ["200", "200"])
            eq(lim["Max core file size"], ["0", "0"])
            eq(lim["Max address space"], [str(1 << 30)] * 2)
        ok(limits(c.proc.pid)["Max address space"][0] == "unlimited",
           "the master keeps its own limits")
    finally:
        c.stop()


def test_rlimit_as_makes_a_memory_hog_fail_its_own_request():
    if has_asan():
        raise Skip("AddressSanitizer reserves terabytes of address space")
    c = Cluster("[app]\nworkers = 2\nrlimit_as = 512M\n" + MOD,
                "rlimit-as").start()
    try:
        c.wait_workers(2)
        eq(c.get("/t/eat?mb=64").status, 200, "room for a normal request")
        r = c.get("/t/eat?mb=2048")
        eq(r.status, 500)
        rec = c.wait_app(lambda x: "out of memory" in x["message"])
        eq(rec[0]["level"], "CRITICAL")
        for _ in range(4):
            eq(c.get("/t/hello").status, 200)
        c.wait_workers(2)
    finally:
        c.stop()


main()
