#!/usr/bin/env python3
"""systemd: the shipped units and the example config, run the way systemd
would run them. The test plays systemd: it creates the socket of
warmcgi.socket (ListenStream, SocketMode), starts ExecStart with it as
descriptor 3 (LISTEN_FDS, LISTEN_PID), owns the NOTIFY_SOCKET datagram
socket and reads READY=1, RELOADING=1 and STOPPING=1 from it (and checks
the master sent them), runs ExecReload, then stops with KillSignal.
"""
import configparser
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile

from warmtest import (BUILD, WARMCGI, Cluster, Skip, eq, main, ok,
                      public_build,
                      src, wait_for)

UNITS = os.path.join(BUILD, "systemd")


def unit(name):
    p = configparser.ConfigParser(strict=False, interpolation=None)
    p.optionxform = str
    p.read(os.path.join(UNITS, name))
    return p


class Notify:
    """The NOTIFY_SOCKET end systemd would own."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.s.settimeout(20)

    def next(self):
        """(message dict, sender pid)."""
        size = socket.CMSG_SPACE(12)
        data, anc, _, _ = self.s.recvmsg(4096, size)
        pid = None
        for level, typ, d in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = int.from_bytes(d[0:4], "little")
        msg = dict(line.split("=", 1) for line in data.decode().split("\n")
                   if "=" in line)
        return msg, pid

    def wait(self, key):
        while True:
            msg, pid = self.next()
            if key in msg:
                return msg, pid


def example_ini(d):
    """The example config with its paths moved into the test's dir."""
    with open(src("examples/systemd/warmcgi.ini")) as f:
        text = f.read()
    text = text.replace("/run/warmcgi/", d + "/run/")
    text = text.replace("/var/log/warmcgi/", d + "/")
    # The example drops to a user: it must reach the modules.
    text = text.replace("/usr/local/lib/warmcgi/hello.so",
                        os.path.join(public_build(),
                                     "examples/hello/hello.so"))
    text += ("\n[handler t]\nurl = /t/\nmodule = %s\n"
             % os.path.join(public_build(), "test/handlers/testmod.so"))
    if os.geteuid() != 0:
        text = re.sub(r"(?m)^(user|group|listen_group) = .*\n", "", text)
    return text


def test_units_and_example_config_agree():
    svc, sock = unit("warmcgi.service"), unit("warmcgi.socket")
    eq(svc["Service"]["Type"], "notify")
    eq(svc["Service"]["NotifyAccess"], "main")
    eq(svc["Service"]["KillSignal"], "SIGTERM")
    ok("warmcgi.socket" in svc["Unit"]["Requires"])
    start = shlex.split(svc["Service"]["ExecStart"])
    eq(start[1:3], ["-c", start[2]])
    ok(start[2].endswith("/warmcgi/warmcgi.ini"), start)
    ok(svc["Service"]["ExecStartPre"].startswith(start[0] + " -t -c "))
    with open(src("examples/systemd/warmcgi.ini")) as f:
        ini = f.read()
    listen = re.search(r"(?m)^listen = (\S+)", ini).group(1)
    eq(sock["Socket"]["ListenStream"], listen)
    eq(sock["Socket"]["SocketMode"],
       re.search(r"(?m)^listen_mode = (\S+)", ini).group(1))
    eq(sock["Socket"]["SocketGroup"],
       re.search(r"(?m)^listen_group = (\S+)", ini).group(1))
    timeout = int(svc["Service"]["TimeoutStopSec"])
    rt = re.search(r"(?m)^request_timeout = (\d+)s", ini).group(1)
    ok(timeout > int(rt) + 1, "TimeoutStopSec leaves time to drain")


def test_units_verify():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        raise Skip("systemd-analyze is not installed")
    d = tempfile.mkdtemp(prefix="warmcgi-units-")
    try:
        # The installed paths do not exist here: point them at the build.
        for name in ("warmcgi.service", "warmcgi.socket"):
            with open(os.path.join(UNITS, name)) as f:
                text = f.read()
            text = re.sub(r"=\S+/sbin/warmcgi", "=" + WARMCGI, text)
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        p = subprocess.run([analyze, "verify", "--man=no",
                            os.path.join(d, "warmcgi.service"),
                            os.path.join(d, "warmcgi.socket")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        eq((p.returncode, p.stderr.strip()), (0, ""))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_socket_activation_and_notifications():
    c = Cluster("", "systemd", nginx=True)
    d = c.dir
    os.makedirs(os.path.join(d, "run"))
    with open(c.ini, "w") as f:
        f.write(example_ini(d))
    sock_unit = unit("warmcgi.socket")["Socket"]
    # What systemd does for warmcgi.socket.
    path = os.path.join(d, "run", "warmcgi.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    os.chmod(path, int(sock_unit["SocketMode"], 8))
    ls.listen(int(sock_unit["Backlog"]))
    notify = Notify(os.path.join(d, "notify"))
    svc = unit("warmcgi.service")["Service"]
    argv = [WARMCGI if a.endswith("/sbin/warmcgi") else a
            for a in shlex.split(svc["ExecStart"])]
    argv[argv.index("-c") + 1] = c.ini
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="warmcgi.socket",
               NOTIFY_SOCKET=notify.path)

    def as_fd3():
        os.dup2(ls.fileno(), 3)
    c.stderr = open(c.stderr_path, "ab")
    c.proc = subprocess.Popen(
        ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"',
         "sh"] + argv, env=env, preexec_fn=as_fd3, pass_fds=(3,),
        stdout=c.stderr, stderr=c.stderr, cwd=d)
    ls.close()
    try:
        msg, sender = notify.wait("READY")
        eq(msg["READY"], "1")
        eq(int(msg["MAINPID"]), c.proc.pid)
        eq(sender, c.proc.pid, "sent by the master (NotifyAccess=main)")
        c.sock = path
        c.start_nginx()
        eq(c.get("/hello").text, "Hello, World!\n")
        e = c.get("/t/env").env()
        for k in ("LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET"):
            ok(k not in e, "%s leaked to handlers" % k)
        if os.geteuid() == 0:
            uid = pwd.getpwnam("www-data").pw_uid
            ok(("uid=%d " % uid) in c.get("/t/ids").text,
               "handlers run as the example's user")
        v1 = e["CURRENT_VERSION_ID"]
        # systemctl reload: ExecReload with $MAINPID.
        reload_cmd = svc["ExecReload"].replace("$MAINPID", str(c.proc.pid))
        subprocess.run(shlex.split(reload_cmd), check=True)
        msg, _ = notify.wait("RELOADING")
        ok(int(msg["MONOTONIC_USEC"]) > 0, msg)
        msg, _ = notify.wait("READY")
        wait_for(lambda: c.get("/t/env").env()["CURRENT_VERSION_ID"] != v1,
                 10, "new version")
        # systemctl stop: KillSignal to the master (KillMode=mixed).
        c.proc.send_signal(getattr(signal, svc["KillSignal"]))
        msg, _ = notify.wait("STOPPING")
        eq(msg["STOPPING"], "1")
        eq(c.proc.wait(30), 0)
        ok(os.path.exists(path), "the socket belongs to systemd: kept")
    finally:
        notify.s.close()
        c.stop()


def test_listen_fds_for_another_pid_is_ignored():
    c = Cluster("""
[app]
workers = 1
[handler t]
url = /t/
module = {build}/test/handlers/testmod.so
""", "systemd-other", workers_env={"LISTEN_FDS": "1", "LISTEN_PID": "1"})
    c.start()
    try:
        eq(c.get("/t/hello").status, 200)
    finally:
        c.stop()


main()
