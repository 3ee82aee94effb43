#!/usr/bin/env python3
"""Draining one host, in detail (the pool tests, 181 and 183, show what
nginx makes of it):

- a unix socket: --drain renames it to PATH.drained (a new connection
  finds no file), a connection already waiting in the backlog is still
  served, --undrain puts it back; a stop removes the file at once while
  the request in progress finishes;
- a stopping server has let go of its TCP port: a new one binds it while
  the old one finishes;
- SIGUSR2 sent with kill toggles; the commands' errors;
- a drained TCP host's workers sleep (nothing spins on the socket that no
  longer listens);
- a socket systemd passed is drained and undrained like any, and a stop
  leaves it listening for the next start.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import fcgi
from warmtest import (WARMCGI, Cluster, eq, free_port, main, ok,
                      wait_for)

MOD = """
[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
"""


def cluster(name, workers=1, listen=None, extra=""):
    c = Cluster("[app]\nworkers = %d\npid_file = {dir}/w.pid\n%s\n%s"
                % (workers, extra, MOD), name, nginx=False, listen=listen)
    return c.start()


def command(c, *args):
    p = subprocess.run([WARMCGI] + list(args) + ["-c", c.ini],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=60)
    return p.returncode, p.stdout


def work_request(path_or_addr, ms):
    """A FastCGI request for /t/work?ms=MS, sent; returns the socket."""
    if isinstance(path_or_addr, tuple):
        s = socket.create_connection(path_or_addr, timeout=30)
    else:
        s = fcgi.connect(path_or_addr, 30)
    env = [("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/t/work"),
           ("QUERY_STRING", "ms=%d" % ms), ("SERVER_PROTOCOL", "HTTP/1.1"),
           ("REMOTE_ADDR", "127.0.0.1")]
    s.sendall(fcgi.begin(1) + fcgi.params(1, env) + fcgi.stdin(1, b""))
    return s


def answer(s):
    try:
        out = fcgi.read_records(s)[0]
    finally:
        s.close()
    return out.decode("latin-1")


def started(c, n):
    return len([r for r in c.app_records()
                if r["message"].startswith("work start")]) >= n


def test_unix_socket_drain_and_undrain():
    c = cluster("drain-unix")
    try:
        busy = work_request(c.sock, 700)
        wait_for(lambda: started(c, 1), 10, "the busy request")
        queued = work_request(c.sock, 0)    # waits: the one worker is busy
        rc, out = command(c, "--drain")
        eq(rc, 0, out)
        ok("drained: %s refuses new connections" % c.sock in out, out)
        ok(not os.path.exists(c.sock), "socket file still there")
        ok(os.path.exists(c.sock + ".drained"), "renamed socket")
        try:
            fcgi.connect(c.sock, 5)
            ok(False, "connected to a drained host")
        except FileNotFoundError:
            pass
        ok("id=-" in answer(busy), "the request in progress finished")
        ok("id=-" in answer(queued), "the queued request was served")
        rc, out = command(c, "--undrain")
        eq(rc, 0, out)
        ok("accepts connections again" in out, out)
        ok("id=-" in answer(work_request(c.sock, 0)), "served again")
        msgs = [r["message"] for r in c.app_records()]
        ok(any(m.startswith("drained: %s is renamed" % c.sock)
               for m in msgs), msgs)
    finally:
        c.stop()
    ok(not os.path.exists(c.sock + ".drained"), "drained name left")


def test_stop_removes_the_unix_socket_at_once():
    c = cluster("drain-stop")
    try:
        busy = work_request(c.sock, 800)
        wait_for(lambda: started(c, 1), 10, "the busy request")
        queued = work_request(c.sock, 0)
        c.signal(signal.SIGTERM)
        wait_for(lambda: not os.path.exists(c.sock), 5, "socket removed")
        ok(c.proc.poll() is None, "the request in progress goes on")
        ok("id=-" in answer(busy), "the request in progress finished")
        ok("id=-" in answer(queued), "the queued request was served")
        eq(c.proc.wait(30), 0)
    finally:
        c.stop()


def test_a_new_server_binds_while_the_old_one_finishes():
    port = free_port()
    old = cluster("drain-old", listen="127.0.0.1:%d" % port)
    new = None
    try:
        busy = work_request(("127.0.0.1", port), 1500)
        wait_for(lambda: started(old, 1), 10, "the busy request")
        old.signal(signal.SIGTERM)
        wait_for(lambda: [r for r in old.app_records()
                          if r["message"].startswith("drained:")], 10,
                 "the old server drained")
        new = cluster("drain-new", listen="127.0.0.1:%d" % port)
        ok(old.proc.poll() is None, "the old server still finishes")
        ok("id=-" in answer(work_request(("127.0.0.1", port), 0)),
           "the new server serves")
        ok("id=-" in answer(busy), "the old server's request finished")
        eq(old.proc.wait(30), 0)
    finally:
        old.stop()
        if new:
            new.stop()


def test_sigusr2_toggles_and_command_errors():
    port = free_port()
    c = cluster("drain-toggle", listen="127.0.0.1:%d" % port)
    try:
        c.signal(signal.SIGUSR2)
        wait_for(lambda: not Cluster._socket_ready(c.sock), 10, "drained")
        c.signal(signal.SIGUSR2)
        wait_for(lambda: Cluster._socket_ready(c.sock), 10, "undrained")
        eq(command(c, "--undrain")[0], 0, "undrain when serving")
        rc, out = command(c, "--drain")
        eq(rc, 0, out)
        rc, out = command(c, "--drain")
        eq(rc, 0, "drain when drained: " + out)
        eq(command(c, "--undrain")[0], 0)
    finally:
        c.stop(keep=True)
    try:
        rc, out = command(c, "--drain")
        eq(rc, 1, out)
        ok("no master running" in out, out)
    finally:
        shutil.rmtree(c.dir, ignore_errors=True)
    bare = Cluster("[app]\n" + MOD, "drain-nopid", nginx=False)
    try:
        rc, out = command(bare, "--drain")
        eq(rc, 1, out)
        ok("sets no pid_file" in out, out)
    finally:
        bare.stop()
    rc, out = command(bare, "--drain", "--undrain")
    eq(rc, 2, out)


def test_a_signal_as_soon_as_the_socket_listens_waits_for_the_master():
    # The socket listens before the master has loaded what it preloads
    # (here a module whose loading takes 2 s): SIGUSR2 sent the moment it
    # accepts is handled once the master is up; it does not end it.
    c = Cluster("[app]\nworkers = 1\npreload = on\n" + MOD, "drain-early",
                nginx=False, workers_env={"TESTMOD_LOAD_MS": "2000"})
    try:
        c.start()
        c.signal(signal.SIGUSR2)
        wait_for(lambda: any(x["message"].startswith("drained: ")
                             for x in c.app_records()), 20, "drained")
        ok(c.proc.poll() is None, "the master is alive")
        c.signal(signal.SIGUSR2)
        wait_for(lambda: Cluster._socket_ready(c.sock), 10, "undrained")
        ok(fcgi.call(c.sock, "/t/hello").endswith(b"hello from testmod\n"))
    finally:
        c.stop()


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])   # utime + stime
    return total


def test_drained_workers_sleep():
    port = free_port()
    c = cluster("drain-idle", workers=3, listen="127.0.0.1:%d" % port)
    try:
        eq(command(c, "--drain")[0], 0)
        # A connection attempt wakes the workers' epoll on the socket
        # that no longer listens; none may keep spinning on it.
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            pass
        pids = c.workers()
        eq(len(pids), 3)
        t0, before = time.monotonic(), cpu_ticks(pids)
        time.sleep(1.0)     # a measurement window, not a wait
        used = cpu_ticks(pids) - before
        ok(used < 20, "drained workers used %d ticks in %.1f s" %
           (used, time.monotonic() - t0))
        eq(command(c, "--undrain")[0], 0)
        ok("id=-" in answer(work_request(("127.0.0.1", port), 0)),
           "served after undrain")
    finally:
        c.stop()


def test_systemd_socket_drained_and_left_listening():
    port = free_port()
    c = Cluster("[app]\nworkers = 2\npid_file = {dir}/w.pid\n" + MOD,
                "drain-systemd", nginx=False, listen="127.0.0.1:%d" % port)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)

    def as_fd3():
        os.dup2(ls.fileno(), 3)

    def start():
        c.stderr = open(c.stderr_path, "ab")
        c.proc = subprocess.Popen(
            ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; '
             'exec "$@"', "sh", WARMCGI, "-c", c.ini],
            env=dict(os.environ, LISTEN_FDS="1"), preexec_fn=as_fd3,
            pass_fds=(3,), stdout=c.stderr, stderr=c.stderr, cwd=c.dir)
        wait_for(lambda: len(c.workers()) == 2, 10, "workers")

    try:
        start()
        wait_for(lambda: os.path.exists(c.path("w.pid")), 10, "pid file")
        ok("id=-" in answer(work_request(("127.0.0.1", port), 0)))
        rc, out = command(c, "--drain")
        eq(rc, 0, out)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5)
            ok(False, "connected to a drained host")
        except ConnectionRefusedError:
            pass
        c.signal(signal.SIGTERM)
        eq(c.proc.wait(30), 0)
        # systemd's socket listens again: connections wait for the next
        # start, which serves them.
        waiting = work_request(("127.0.0.1", port), 0)
        start()
        ok("id=-" in answer(waiting), "served by the next start")
        rc, out = command(c, "--drain")
        eq(rc, 0, out)
        rc, out = command(c, "--undrain")
        eq(rc, 0, out)
        ok("id=-" in answer(work_request(("127.0.0.1", port), 0)))
    finally:
        c.stop()
        ls.close()


if __name__ == "__main__":
    main()
