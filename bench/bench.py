#!/usr/bin/env python3
"""bench.py: warmcgi against its peers, behind one private nginx.

Run through bench/run, which installs the packages and builds warmcgi
first. This script compiles the benchmark's own programs (bench/*.c),
starts every backend on a unix socket in a temp directory, puts one nginx
(worker_processes 1, 127.0.0.1, an ephemeral port) in front of all of
them, checks that each row answers what it should, then runs wrk against
the rows interleaved (a b c ... a b c ...) for some rounds and prints a
table of medians. Timings never decide anything here except the target
lines it prints; the test suite only runs it in --smoke mode.

Rows (see bench/RESULTS.md for what each means):
  a        warmcgi, examples/hello as a module
  b        raw libfcgi FCGX_Accept_r loop (bench/rawfcgi.c), the baseline
  c        PHP-FPM (pm = static), bench/hello.php
  d        fcgiwrap running examples/hello built as a CGI executable
  e        warmcgi running that executable as classic CGI (cgi =)
  f        nginx's own return 200
  g        warmcgi, 64 KiB of JSON, gzipped (Accept-Encoding: gzip)
  g0       the same JSON without gzip (g - g0 = the cost of gzip)
  h        warmcgi, a 1 MiB POST echoed back
  a-keep   (a) with fastcgi_keep_conn on + upstream keepalive
  b-keep   (b) with keep-alive: stock libfcgi pins a worker per connection
  b-epoll  (b) with keep-alive done as shared/notes/keepalive.md measured
           best: each process epolls its idle connections (rawfcgi epoll)
  mix      warmcgi, every 50th request sleeps 10 ms, no keep-alive
  mix-keep the same mix with keep-alive
  mix4, mix4-keep  the same two with 4 connections instead of 16
"""
import argparse
import datetime
import gzip
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HELLO = b"Hello, World!\n"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# warmcgi refuses to run handlers as root unless told to.
ROOT_OK = "allow_root = yes\n" if os.getuid() == 0 else ""
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

ROWS = [
    # id, description, backend, path, options
    # The rows compared with (b) most are next to it in every round.
    ("a", "warmcgi, module (examples/hello)", "warm", "/a/hello", {}),
    ("b", "raw libfcgi loop (bench/rawfcgi.c)", "raw", "/b/hello", {}),
    ("a-keep", "warmcgi, module, keep-alive", "warmkeep", "/ak/hello", {}),
    ("b-epoll", "raw loop, own epoll, keep-alive", "rawepoll", "/be/hello",
     {}),
    ("c", "PHP-FPM, pm = static", "php", "/c/hello.php", {}),
    ("d", "fcgiwrap, C CGI binary", "fcgiwrap", "/d/hello",
     {"cpu_note": "fcgiwrap ignores SIGCHLD, so the CPU of its CGI "
      "processes is not added to it: (d)'s backend CPU leaves out the "
      "fork/exec'd programs that (e)'s includes"}),
    ("e", "warmcgi, same binary as classic CGI", "warmx", "/e/hello", {}),
    ("f", "nginx return 200", "nginx", "/f", {}),
    ("g", "warmcgi, 64 KiB JSON, gzip", "warmx", "/g/json",
     {"gzip": True}),
    ("g0", "warmcgi, 64 KiB JSON, no gzip", "warmx", "/g/json", {}),
    ("h", "warmcgi, 1 MiB POST echoed", "warmx", "/h/echo",
     {"post": 1 << 20}),
    ("b-keep", "raw loop, keep-alive", "rawkeep", "/bk/hello", {}),
    ("mix", "warmcgi, 1 in 50 sleeps 10 ms", "warmmix", "/m/mix",
     {"slow": 50}),
    ("mix-keep", "warmcgi, same mix, keep-alive", "warmkeep", "/mk/mix",
     {"slow": 50}),
    ("mix4", "warmcgi, same mix, 4 connections", "warmmix", "/m/mix",
     {"slow": 50, "connections": 4}),
    ("mix4-keep", "warmcgi, same mix, 4 conns, keep-alive", "warmkeep",
     "/mk/mix", {"slow": 50, "connections": 4}),
]

# What each system call of a request is for, by backend (bench/RESULTS.md).
SYSCALLS = {
    "warm": {
        "accept4": "takes the next connection (non-blocking, close-on-exec). "
                   "Under load the worker accepts again as soon as it has "
                   "answered, without epoll_wait; one request at a time, "
                   "that second accept4 fails with EAGAIN (the errors "
                   "column) and the worker goes back to epoll_wait",
        "read": "one read() gets the whole request: nginx writes "
                "BEGIN_REQUEST, the PARAMS and the empty STDIN record "
                "together; every record is checked and the parameters "
                "decoded in that buffer (host/fcgiconn.c)",
        "write": "one write() sends the response: the STDOUT records, the "
                 "end of the stream and END_REQUEST, gathered until the "
                 "request ends. The access records go out "
                 "in batches of up to 4 KiB while requests keep coming "
                 "(one more write() per 11 or so requests), else 5 ms "
                 "after the last one (one per request, one at a time)",
        "close": "closes a connection nginx does not keep, at once: the "
                 "request was read to its end, so a lingering close "
                 "(shutdown, poll, read) is not needed",
        "fcntl": "finding the lowest free descriptors again (two "
                 "F_DUPFD_CLOEXEC) after a count found one taken; without "
                 "inotify, the probe below is an F_GETFD instead",
        "newfstatat": "counts the descriptors (the size of /proc/self/fd, "
                      "an open directory, not read) when the probe found "
                      "one taken, and after every 16th call anyway, for "
                      "what the probe cannot see (a descriptor moved to a "
                      "chosen number)",
        "lseek": "reads back what a handler wrote to file descriptors 1 "
                 "and 2 directly, only when inotify said it did (without "
                 "inotify: twice per call); rewinds fd 0 holding a body",
        "epoll_wait": "waits for work: a new connection, a request on an "
                      "idle kept connection, a signal or the master's "
                      "control pipe; with access records gathered, for at "
                      "most 5 ms before writing them",
        "epoll_ctl": "registers a connection nginx keeps, once per "
                     "connection (nginx reuses one for up to 1000 "
                     "requests)",
        "poll": "one per module call, what the handler left behind: "
                "did it write to file descriptors 1 and 2 directly "
                "(inotify watches their in-memory files; C stdio goes "
                "through memory streams and costs nothing) and is the "
                "lowest descriptor free before the call still free "
                "(POLLNVAL; whatever the handler opened and kept would "
                "take it)? The worker follows the two lowest free "
                "descriptors across the connections it accepts and "
                "closes, so none is probed before the call; threads are "
                "counted by the interposed pthread_create(). Plus the "
                "watchdog thread's timer, every 5 to 50 ms while requests "
                "come",
        "restart_syscall": "the watchdog's sleep, resumed after strace "
                           "attached (an artefact of tracing)",
        "futex": "waking the watchdog thread",
    },
    "raw": {
        "accept": "a blocking accept() for the next connection",
        "poll": "twice: libfcgi waits up to 2 s for the first byte after "
                "accept (is_af_unix_keeper), then for nginx's EOF in its "
                "lingering close (OS_Close)",
        "read": "twice: the request (BEGIN_REQUEST, PARAMS, STDIN), then "
                "nginx's EOF in the lingering close",
        "write": "the response: STDOUT records, end of stream and "
                 "END_REQUEST in one write()",
        "shutdown": "libfcgi's lingering close: SHUT_WR first",
        "close": "closes the connection after nginx's EOF",
    },
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def cmd_output(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        return p.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


# -- /proc ---------------------------------------------------------------

def proc_stat(pid):
    """(ppid, cpu ticks incl. reaped children) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # rest[0] = state (field 3); utime..cstime are fields 14-17.
    return int(rest[1]), sum(int(x) for x in rest[11:15])


def all_ppids():
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None:
                out[int(d)] = st[0]
    return out


def tree(root):
    """root and its descendants, from /proc."""
    ppids = all_ppids()
    pids, todo = [], [root]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(c for c, pp in ppids.items() if pp == p)
    return pids


def children(root):
    return sorted(c for c, pp in all_ppids().items() if pp == root)


def cpu_ticks(pids):
    out = {}
    for p in pids:
        st = proc_stat(p)
        if st is not None:
            out[p] = st[1]
    return out


def ctx_switches(pids):
    """Context switches (voluntary and not) of pids and their threads."""
    n = 0
    for p in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/status" % (p, t)) as f:
                    for line in f:
                        if "ctxt_switches:" in line:
                            n += int(line.split()[1])
            except (OSError, ValueError):
                pass
    return n


def rss_kib(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError):
        return 0


# -- processes -----------------------------------------------------------

class Proc:
    """A process the benchmark started, stopped by PID with its tree."""

    def __init__(self, name, argv, cwd, env=None, workers_are="children"):
        self.name = name
        self.log = open(os.path.join(cwd, name + ".out"), "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.p = subprocess.Popen(argv, cwd=cwd, stdout=self.log,
                                  stderr=self.log, env=e,
                                  stdin=subprocess.DEVNULL)
        self.pid = self.p.pid
        self.workers_are = workers_are

    def workers(self):
        if self.workers_are == "self":
            return [self.pid]
        return children(self.pid)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        pids = tree(self.pid) if self.alive() else []
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for p in pids[1:]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def wait_socket(path, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise SystemExit("%s exited at start; see %s.out"
                             % (proc.name, proc.name))
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise SystemExit("%s: no socket %s after %ds" % (proc.name, path,
                                                      timeout))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- the setup -----------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.builddir)
        self.bin = os.path.join(self.build, "bench")
        # Under the build directory (other jobs may sweep /tmp), unless
        # the socket paths would get too long for sockaddr_un.
        os.makedirs(self.bin, exist_ok=True)
        where = self.bin if len(self.bin) < 60 else None
        self.dir = tempfile.mkdtemp(prefix="run-", dir=where)
        os.chmod(self.dir, 0o755)
        self.procs = {}
        self.port = free_port()
        self.warmcgi = os.path.join(self.build, "host", "warmcgi")

    def p(self, *x):
        return os.path.join(self.dir, *x)

    def compile(self):
        os.makedirs(self.bin, exist_ok=True)
        cc = os.environ.get("CC", "cc")
        flags = ["-O2", "-Wall", "-Wextra"]
        src = os.path.join(os.path.dirname(HERE), "examples", "hello",
                           "hello.c")
        jobs = [
            [cc] + flags + ["-o", os.path.join(self.bin, "rawfcgi"),
                            os.path.join(HERE, "rawfcgi.c"), "-lfcgi"],
            [cc] + flags + ["-o", os.path.join(self.bin, "hello"), src],
            [cc] + flags + ["-shared", "-fPIC", "-o",
                            os.path.join(self.bin, "benchmod.so"),
                            os.path.join(HERE, "benchmod.c")],
        ]
        for j in jobs:
            sh(j)
        os.makedirs(self.p("cgi"), exist_ok=True)
        shutil.copy(os.path.join(self.bin, "hello"), self.p("cgi", "hello"))
        shutil.copy(os.path.join(HERE, "hello.php"), self.p("hello.php"))

    def warm_ini(self, name, handlers):
        w = self.a.workers
        text = ("[app]\nlisten = %s\nworkers = %d\nlog = %s\n"
                "access_log = %s\n%s\n" % (
                    self.p(name + ".sock"), w, self.p(name + ".log"),
                    self.p(name + ".access"), ROOT_OK))
        for hname, url, key, target in handlers:
            text += ("[handler %s]\nurl = %s\n%s = %s\n\n"
                     % (hname, url, key, target))
        path = self.p(name + ".ini")
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_warm(self, name, handlers):
        ini = self.warm_ini(name, handlers)
        proc = Proc(name, [self.warmcgi, "-c", ini], self.dir)
        self.procs[name] = proc
        return proc

    def start(self):
        hello_so = os.path.join(self.build, "examples", "hello", "hello.so")
        bmod = os.path.join(self.bin, "benchmod.so")
        self.start_warm("warm", [("hello", "/a/hello", "module", hello_so)])
        self.start_warm("warmkeep", [
            ("hello", "/ak/hello", "module", hello_so),
            ("mix", "/mk/", "module", bmod)])
        self.start_warm("warmmix", [("mix", "/m/", "module", bmod)])
        self.start_warm("warmx", [
            ("cgi", "/e/", "cgi", self.p("cgi")),
            ("json", "/g/", "module", bmod),
            ("echo", "/h/", "module", bmod)])
        # b-keep gets its own processes: its idle kept connections pin
        # them (the stall it shows), which would starve row b.
        for name, mode in (("raw", []), ("rawkeep", []),
                           ("rawepoll", ["epoll"])):
            self.procs[name] = Proc(name, [
                os.path.join(self.bin, "rawfcgi"), self.p(name + ".sock"),
                str(self.a.workers)] + mode, self.dir)
        self.start_php()
        self.procs["fcgiwrap"] = Proc(
            "fcgiwrap", [shutil.which("fcgiwrap") or "/usr/sbin/fcgiwrap",
                         "-c", str(self.a.workers),
                         "-s", "unix:" + self.p("fcgiwrap.sock")],
            self.dir)
        for name in ("warm", "warmkeep", "warmmix", "warmx", "raw",
                     "rawkeep", "rawepoll", "php", "fcgiwrap"):
            wait_socket(self.p(name + ".sock"), self.procs[name])
        self.start_nginx()

    def start_php(self):
        fpm = php_fpm()
        conf = self.p("php-fpm.conf")
        with open(conf, "w") as f:
            f.write("[global]\npid = %s\nerror_log = %s\ndaemonize = no\n\n"
                    "[bench]\nlisten = %s\nlisten.mode = 0666\n"
                    "pm = static\npm.max_children = %d\n"
                    "pm.max_requests = 0\n"
                    % (self.p("php-fpm.pid"), self.p("php-fpm.log"),
                       self.p("php.sock"), self.a.workers))
            if os.getuid() == 0:
                f.write("user = root\ngroup = root\n")
        argv = [fpm, "-F", "-y", conf, "-d", "expose_php=0"]
        if os.getuid() == 0:
            argv.insert(1, "-R")
        self.procs["php"] = Proc("php", argv, self.dir)

    def nginx_conf(self):
        k = self.a.keepalive
        params = ("include fastcgi_params;\n"
                  "            fastcgi_param REQUEST_START $msec;\n"
                  "            fastcgi_param HTTP_PROXY \"\";")
        sock = lambda n: "unix:" + self.p(n + ".sock")  # noqa: E731
        loc = []

        def fcgi(prefix, upstream, extra=""):
            loc.append("        location %s {\n            %s\n"
                       "            fastcgi_pass %s;\n%s        }\n"
                       % (prefix, params, upstream, extra))

        keep = "            fastcgi_keep_conn on;\n"
        fcgi("/a/", sock("warm"))
        fcgi("/ak/", "warmkeep", keep)
        fcgi("/mk/", "warmkeep", keep)
        fcgi("/m/", sock("warmmix"))
        fcgi("/b/", sock("raw"))
        fcgi("/bk/", "rawkeep", keep)
        fcgi("/be/", "rawepoll", keep)
        fcgi("/c/", sock("php"),
             "            fastcgi_param SCRIPT_FILENAME %s;\n"
             % self.p("hello.php"))
        fcgi("/d/", sock("fcgiwrap"),
             "            fastcgi_param SCRIPT_FILENAME %s;\n"
             % self.p("cgi", "hello"))
        fcgi("/e/", sock("warmx"))
        fcgi("/g/", sock("warmx"))
        fcgi("/cgw/", sock("cgwarm"))
        fcgi("/cgr/", sock("cgraw"))
        fcgi("/h/", sock("warmx"),
             "            fastcgi_buffers 16 64k;\n"
             "            fastcgi_max_temp_file_size 0;\n")
        user = "user root;\n" if os.getuid() == 0 else ""
        temps = "".join("    %s_temp_path %s;\n" % (t, self.p("ngx", t))
                        for t in ("client_body", "fastcgi", "proxy",
                                  "uwsgi", "scgi"))
        return ("daemon off;\n%sworker_processes %d;\npid %s;\n"
                "error_log %s;\nevents { worker_connections 4096; }\n"
                "http {\n    access_log off;\n%s"
                "    client_max_body_size 2m;\n"
                "    client_body_buffer_size 2m;\n"
                "    fastcgi_buffer_size 12k;\n"
                "    fastcgi_buffers 8 12k;\n"
                "    upstream warmkeep {\n        server %s;\n"
                "        keepalive %d;\n    }\n"
                "    upstream rawkeep {\n        server %s;\n"
                "        keepalive %d;\n    }\n"
                "    upstream rawepoll {\n        server %s;\n"
                "        keepalive %d;\n    }\n"
                "    server {\n        listen 127.0.0.1:%d;\n"
                "        location = /f {\n"
                "            default_type \"text/plain; charset=utf-8\";\n"
                "            return 200 \"Hello, World!\\n\";\n        }\n"
                "%s    }\n}\n"
                % (user, self.a.nginx_workers, self.p("ngx", "nginx.pid"),
                   self.p("ngx", "error.log"), temps, sock("warmkeep"), k,
                   sock("rawkeep"), k, sock("rawepoll"), k, self.port,
                   "".join(loc)))

    def start_nginx(self):
        os.makedirs(self.p("ngx"), exist_ok=True)
        shutil.copy("/etc/nginx/fastcgi_params", self.p("ngx"))
        conf = self.p("ngx", "nginx.conf")
        with open(conf, "w") as f:
            f.write(self.nginx_conf())
        self.procs["nginx"] = Proc(
            "nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-p",
                      self.p("ngx"), "-c", conf], self.dir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not self.procs["nginx"].alive():
                raise SystemExit("nginx exited: see %s"
                                 % self.p("ngx", "error.log"))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nginx did not listen")

    def stop(self):
        for name in list(self.procs)[::-1]:
            self.procs[name].stop()
        if not self.a.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- checks ------------------------------------------------------------

    def http(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def check(self, row):
        rid, _, _, path, opt = row
        if opt.get("post"):
            body = bytes(range(256)) * (opt["post"] // 256)
            r, data = self.http("POST", path, body,
                                {"Content-Type": "application/octet-stream"})
            ok = r.status == 200 and data == body
        elif path.endswith("/json"):
            h = {"Accept-Encoding": "gzip"} if opt.get("gzip") else {}
            r, data = self.http("GET", path, headers=h)
            if opt.get("gzip"):
                ok = (r.getheader("Content-Encoding") == "gzip" and
                      len(gzip.decompress(data)) == 65536)
            else:
                ok = r.getheader("Content-Encoding") is None and \
                    len(data) == 65536
            if ok:
                json.loads(gzip.decompress(data) if opt.get("gzip")
                           else data)
        else:
            r, data = self.http("GET", path)
            ok = (r.status == 200 and data == HELLO and
                  r.getheader("Content-Type", "").startswith("text/plain"))
            if opt.get("slow"):
                t = time.monotonic()
                r2, d2 = self.http("GET", path + "?sleep=20")
                ok = ok and d2 == HELLO and time.monotonic() - t >= 0.02
        if not ok:
            raise SystemExit("row %s (%s): unexpected response %d %r"
                             % (rid, path, r.status, data[:200]))
        return r

    # -- measuring ---------------------------------------------------------

    def wrk(self, row, duration):
        rid, _, _, path, opt = row
        env = dict(os.environ, BENCH_PATH=path)
        if opt.get("gzip"):
            env["BENCH_GZIP"] = "1"
        if opt.get("post"):
            env["BENCH_POST"] = str(opt["post"])
        if opt.get("slow"):
            env["BENCH_SLOW"] = str(opt["slow"])
            env["BENCH_SLOW_MS"] = "10"
        argv = wrk_argv(self.a, duration, opt.get("connections")) + [
            "-s", os.path.join(HERE, "wrk.lua"),
            "http://127.0.0.1:%d%s" % (self.port, path)]
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT,
                           timeout=duration + 60)
        out = p.stdout.decode(errors="replace")
        m = re.search(r"^BENCH (\{.*\})$", out, re.M)
        if p.returncode != 0 or not m:
            raise SystemExit("wrk failed for %s:\n%s" % (rid, out))
        return json.loads(m.group(1))

    def backend_pids(self, row):
        name = row[2]
        return tree(self.procs[name].pid)

    def workers(self, row):
        name = row[2]
        if name == "nginx":
            return children(self.procs["nginx"].pid)
        return self.procs[name].workers()

    def truncate_logs(self):
        for n in ("warm", "warmkeep", "warmmix", "warmx"):
            for ext in (".access", ".log"):
                try:
                    os.truncate(self.p(n + ext), 0)
                except OSError:
                    pass

    def check_alive(self):
        """Fails if a backend died or its socket went away."""
        for name, proc in self.procs.items():
            if name.startswith("cg"):
                continue
            if not proc.alive():
                raise SystemExit("%s exited (see %s)" % (
                    name, self.p(name + ".out")))
            sock = self.p(name + ".sock")
            if name != "nginx" and not os.path.exists(sock):
                raise SystemExit("%s: %s was removed" % (name, sock))

    def measure(self, row, duration):
        nginx_pids = tree(self.procs["nginx"].pid)
        bpids = [] if row[2] == "nginx" else self.backend_pids(row)
        b0, n0 = cpu_ticks(bpids), cpu_ticks(nginx_pids)
        s0 = ctx_switches(bpids)
        res = self.wrk(row, duration)
        b1 = cpu_ticks(self.backend_pids(row) if bpids else [])
        s1 = ctx_switches(bpids)
        n1 = cpu_ticks(nginx_pids)
        reqs = max(res["requests"], 1)
        us = 1e6 / CLK_TCK
        res["backend_us"] = (sum(v - b0.get(p, 0) for p, v in b1.items())
                             * us / reqs) if bpids else None
        res["nginx_us"] = sum(v - n0.get(p, 0) for p, v in n1.items()) \
            * us / reqs
        res["switches"] = (s1 - s0) / reqs if bpids else None
        res["rss_kib"] = [rss_kib(p) for p in self.workers(row)]
        res["rps"] = res["requests"] * 1e6 / max(res["duration_us"], 1)
        res["errors"] = sum(res[k] for k in ("connect", "read", "write",
                                             "status", "timeout"))
        self.truncate_logs()
        self.check_alive()
        return res

    # -- system calls per request --------------------------------------------

    def syscalls(self, row, n=0, duration=0):
        """strace -c -f on every worker of row's backend: over n
        sequential requests, or over wrk for duration seconds. Returns
        (counts, requests)."""
        name, path = row[2], row[3]
        pids = self.procs[name].workers()
        out = self.p("strace-%s.txt" % name)
        argv = ["strace", "-c", "-f", "-o", out]
        for p in pids:
            argv += ["-p", str(p)]
        st = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
        time.sleep(1.0)     # strace prints nothing when attached
        if duration:
            n = self.wrk(row, duration)["requests"]
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port,
                                           timeout=30)
            for _ in range(n):
                c.request("GET", path)
                r = c.getresponse()
                if r.read() != HELLO:
                    raise SystemExit("strace run: bad response")
            c.close()
        time.sleep(0.5)
        st.send_signal(signal.SIGINT)
        st.wait(30)
        counts = {}
        with open(out) as f:
            for line in f:
                m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+"
                             r"(?:(\d+)\s+)?([a-z_0-9]+)\s*$", line)
                if m and m.group(3) != "total":
                    counts[m.group(3)] = (int(m.group(1)),
                                          int(m.group(2) or 0))
        self.truncate_logs()
        return counts, n


    def callgrind(self, kind, n):
        """Instructions of the serving process over n sequential requests
        (warmcgi with 1 worker, or the raw loop with 1 process), under
        valgrind --tool=callgrind. Returns (instructions, profile file)."""
        name = "cg" + kind
        d = self.p(name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
              os.path.join(d, "callgrind.out.%p")]
        if kind == "warm":
            ini = self.p(name + ".ini")
            with open(ini, "w") as f:
                f.write("[app]\nlisten = %s\nworkers = 1\nlog = %s\n"
                        "access_log = %s\n%s[handler hello]\n"
                        "url = /cgw/hello\nmodule = %s\n" % (
                            self.p(name + ".sock"), self.p(name + ".log"),
                            self.p(name + ".access"), ROOT_OK,
                            os.path.join(self.build, "examples", "hello",
                                         "hello.so")))
            argv = vg + [self.warmcgi, "-c", ini]
            path = "/cgw/hello"
        else:
            argv = vg + [os.path.join(self.bin, "rawfcgi"),
                         self.p(name + ".sock"), "1"]
            path = "/cgr/hello"
        proc = Proc(name, argv, self.dir)
        try:
            wait_socket(self.p(name + ".sock"), proc, 60)
            time.sleep(1)
            c = http.client.HTTPConnection("127.0.0.1", self.port,
                                           timeout=60)
            for _ in range(n):
                c.request("GET", path)
                if c.getresponse().read() != HELLO:
                    raise SystemExit("callgrind run: bad response")
            c.close()
        finally:
            proc.stop()
        best, best_file = 0, None
        for f in os.listdir(d):
            with open(os.path.join(d, f)) as fh:
                for line in fh:
                    if line.startswith("summary:"):
                        v = int(line.split()[1])
                        if v > best:
                            best, best_file = v, os.path.join(d, f)
        return best, best_file

    def instructions(self, n):
        """Instructions per request: runs of n/6 and n requests, the
        difference divided by the difference (start-up cancels out).
        Returns {kind: (per request, [(per request, function), ...])}."""
        out = {}
        for kind in ("warm", "raw"):
            small, fsmall = self.callgrind(kind, n // 6)
            big, fbig = self.callgrind(kind, n)
            k = n - n // 6
            a, b = self_costs(fsmall), self_costs(fbig)
            top = sorted(((b.get(f, 0) - a.get(f, 0)) / k, f)
                         for f in set(a) | set(b))[::-1][:20]
            out[kind] = ((big - small) / k, top)
        return out


def self_costs(path):
    """Instructions spent in each function itself, from a callgrind file."""
    out = {}
    if path is None:
        return out
    p = subprocess.run(["callgrind_annotate", "--inclusive=no",
                        "--auto=no", "--threshold=100", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for line in p.stdout.decode(errors="replace").splitlines():
        # "1,234 (0.5%)  file:function [object]" -> "function (object)"
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(?:.*?:)?"
                     r"([^:\[\s]+) \[(.*)\]$", line)
        if not m:
            continue
        name = "%s (%s)" % (m.group(2), os.path.basename(m.group(3)))
        out[name] = out.get(name, 0) + int(m.group(1).replace(",", ""))
    return out


def php_fpm():
    for name in ("php-fpm", "php-fpm8.2"):
        p = shutil.which(name)
        if p:
            return p
    for d in ("/usr/sbin", "/usr/local/sbin"):
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if f.startswith("php-fpm"):
                return os.path.join(d, f)
    raise SystemExit("php-fpm not found")


def wrk_argv(a, duration, connections=None):
    return ["wrk", "-t%d" % a.threads, "-c%d" % (connections or
                                                  a.connections),
            "-d%ds" % duration, "--timeout", "5s"]


# -- the report ------------------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def paired(runs, base, key):
    """Median over the rounds of run[key] / base[key] in the same round:
    rows measured a few seconds apart share the machine's load of the
    moment, so their ratio moves less than the ratio of medians."""
    return med(r[key] / b[key] for r, b in zip(runs, base)
               if r.get(key) is not None and b.get(key))


def summarize(results):
    s = {}
    base = results.get("b")
    for rid, runs in results.items():
        s[rid] = {
            "vs_rps": paired(runs, base, "rps") if base else None,
            "vs_p99": paired(runs, base, "p99_us") if base else None,
            "vs_cpu": paired(runs, base, "backend_us") if base else None,
            "rps": med(r["rps"] for r in runs),
            "rps_min": min(r["rps"] for r in runs),
            "rps_max": max(r["rps"] for r in runs),
            "p50": med(r["p50_us"] for r in runs) / 1000,
            "p99": med(r["p99_us"] for r in runs) / 1000,
            "errors": sum(r["errors"] for r in runs),
            "requests": sum(r["requests"] for r in runs),
            "backend_us": med(r["backend_us"] for r in runs),
            "nginx_us": med(r["nginx_us"] for r in runs),
            "rss": runs[-1]["rss_kib"],
        }
    return s


def fmt(v, f):
    return "-" if v is None else f % v


def table_notes(rows):
    """The footnotes of table(), one line each."""
    return ["\\* %s" % opt["cpu_note"] for _, _, _, _, opt in rows
            if "cpu_note" in opt]


def table(s, rows, idle_rss):
    b = s.get("b")
    head = ("| row | backend | req/s median (min-max) | vs b | p50 ms | "
            "p99 ms | p99 vs b | errors | backend us/req | vs b | "
            "nginx us/req | RSS KiB/worker idle, after load |")
    lines = [head, "|" + "---|" * 12]
    # Ratios: the median of the per-round ratios (see paired()).
    for rid, desc, _, _, opt in rows:
        if rid not in s:
            continue
        star = "*" if "cpu_note" in opt else ""
        x = s[rid]
        rr, pr, cr = x["vs_rps"], x["vs_p99"], x["vs_cpu"]
        rss = x["rss"]
        lines.append(
            "| %s | %s | %.0f (%.0f-%.0f) | %s | %.3f | %.3f | %s | %d | %s "
            "| %s | %.1f | %s, %s |"
            % (rid, desc, x["rps"], x["rps_min"], x["rps_max"],
               fmt(rr, "%.2f"), x["p50"], x["p99"], fmt(pr, "%.2f"),
               x["errors"], fmt(x["backend_us"], "%.1f") + star,
               fmt(cr, "%.2f"),
               x["nginx_us"],
               "/".join(str(v) for v in idle_rss.get(rid, [])) or "-",
               "/".join(str(v) for v in rss) or "-"))
    return "\n".join(lines)


def targets(s, idle_rss, results):
    out = []

    def t(name, cond, detail):
        out.append(("met" if cond else "MISSED", name, detail))

    def have(*ids):
        return all(i in s for i in ids)

    if have("a", "b"):
        a, b = s["a"], s["b"]
        t("(a)/(b) req/s >= 0.95", a["vs_rps"] >= 0.95,
          "%.2f" % a["vs_rps"])
        if a["vs_cpu"] is not None:
            t("backend CPU/req (a) <= 1.3x (b)", a["vs_cpu"] <= 1.3,
              "%.1f vs %.1f us, %.2fx" % (a["backend_us"],
                                          b["backend_us"], a["vs_cpu"]))
        t("p99 (a) <= 1.1x (b)", a["vs_p99"] <= 1.1,
          "%.3f vs %.3f ms, %.2fx" % (a["p99"], b["p99"], a["vs_p99"]))
        ia, ib = idle_rss.get("a"), idle_rss.get("b")
        if ia and ib:
            t("idle worker RSS (a) <= (b) + 1 MiB", max(ia) <= max(ib) + 1024,
              "%d vs %d KiB" % (max(ia), max(ib)))
    if have("a", "c"):
        t("(a) beats (c)", s["a"]["rps"] > s["c"]["rps"],
          "%.0f vs %.0f req/s" % (s["a"]["rps"], s["c"]["rps"]))
    if have("e", "d"):
        r = s["e"]["rps"] / s["d"]["rps"]
        t("(e)/(d) >= 1.1", r >= 1.1, "%.2f" % r)
    if have("a-keep", "b"):
        k, b = s["a-keep"], s["b"]
        t("(a-keep) >= 2.0x (b)", k["vs_rps"] >= 2.0, "%.2f" % k["vs_rps"])
        t("(a-keep) no stall: 0 errors, p99 <= (b)'s",
          k["errors"] == 0 and k["vs_p99"] <= 1.0,
          "%d errors, p99 %.3f vs %.3f ms, %.2fx" % (
              k["errors"], k["p99"], b["p99"], k["vs_p99"]))
    if have("a-keep", "b-epoll"):
        k, e = s["a-keep"], s["b-epoll"]
        out.append(("info", "(a-keep) against the bare epoll loop (b-epoll)",
                    "%.0f vs %.0f req/s, %.2fx; backend %.1f vs %.1f us "
                    "per request" % (
                        k["rps"], e["rps"], paired(results["a-keep"],
                                                   results["b-epoll"],
                                                   "rps"),
                        k["backend_us"] or 0, e["backend_us"] or 0)))
    for m, c in (("mix", 16), ("mix4", 4)):
        if have(m, m + "-keep"):
            r = paired(results[m + "-keep"], results[m], "rps")
            t("slow/fast mix, %d connections: keep-alive not worse "
              "(>= 0.98x, noise)" % c, r >= 0.98,
              "%.0f vs %.0f req/s = %.2fx" % (s[m + "-keep"]["rps"],
                                              s[m]["rps"], r))
    if have("g", "g0") and s["g"]["backend_us"] and s["g0"]["backend_us"]:
        out.append(("info", "gzip cost per 64 KiB of JSON (g - g0)",
                    "%.1f us of backend CPU per response"
                    % (s["g"]["backend_us"] - s["g0"]["backend_us"])))
    return out


def versions(b):
    def first(cmd, pat=None):
        out = cmd_output(cmd)
        if pat:
            m = re.search(pat, out)
            return m.group(0) if m else out.splitlines()[0] if out else "?"
        return out.splitlines()[0] if out else "?"

    def deb(pkg):
        return cmd_output(["dpkg-query", "-W", "-f=${Version}", pkg])

    return [
        first([b.warmcgi, "-V"]) + " (" + first(
            ["git", "-C", os.path.dirname(HERE), "rev-parse", "--short",
             "HEAD"]) + ")",
        first(["nginx", "-v"], r"nginx/\S+"),
        "wrk " + deb("wrk"),
        first([php_fpm(), "-v"], r"PHP \S+ \(fpm-fcgi\)"),
        "fcgiwrap " + deb("fcgiwrap"),
        "libfcgi " + deb("libfcgi0ldbl"),
        "gcc " + deb("gcc-12"),
        "Linux " + platform.release(),
    ]


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%d cores, %s, %d MiB RAM" % (
        os.cpu_count(), model,
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20)


def syscall_table(counts, n, kind="warm"):
    lines = ["| system call | per request | errors | what for |",
             "|---|---|---|---|"]
    why = SYSCALLS.get(kind, {})
    total = 0.0
    for name, (calls, errs) in sorted(counts.items(),
                                      key=lambda kv: -kv[1][0]):
        per = calls / n
        if per < 0.005:
            continue
        total += per
        lines.append("| %s | %.2f | %s | %s |"
                     % (name, per, "%.2f" % (errs / n) if errs else "",
                        why.get(name, "?")))
    lines.append("| total | %.2f | | |" % total)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds")
    ap.add_argument("--warmup", type=int, default=1, help="seconds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--keepalive", type=int,
                    help="nginx keepalive (default: 16 x workers, at least "
                    "32, as warmcgi --nginx writes)")
    ap.add_argument("--only", help="comma-separated row ids")
    ap.add_argument("--syscalls", type=int, default=2000,
                    help="sequential requests traced with strace (0: skip)")
    ap.add_argument("--syscall-load", type=int, default=3,
                    help="seconds of wrk traced with strace")
    ap.add_argument("--callgrind", type=int, default=1200,
                    help="requests for the instruction counts under "
                    "valgrind (0: skip)")
    ap.add_argument("--results", help="write a RESULTS.md here")
    ap.add_argument("--smoke", action="store_true",
                    help="check every row's answer, then one 1 s round of "
                    "a, b and a-keep (a functional test of the harness)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp directory")
    ap.add_argument("--json", help="write the raw measurements here")
    a = ap.parse_args()
    if a.keepalive is None:
        a.keepalive = max(32, 16 * a.workers)
    rows = ROWS
    if a.only:
        want = a.only.split(",")
        rows = [r for r in ROWS if r[0] in want]
        if "b" not in want:
            log("note: ratios need row b")
    if a.smoke:
        a.rounds, a.duration, a.warmup, a.syscalls = 1, 1, 0, 50
        a.syscall_load, a.callgrind = 0, 0

    b = Bench(a)

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    load0 = open("/proc/loadavg").read().split()[:3]
    try:
        out = run_all(a, b, rows)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except SystemExit:
        a.keep = True
        log("kept %s for a look" % b.dir)
        raise
    finally:
        b.stop()
    out["load0"] = load0
    report(a, b, out)
    return 0


def run_all(a, b, rows):
    """Starts everything, checks every row, measures. Returns (results,
    idle_rss, sysc, rows)."""
    b.compile()
    b.start()
    log("workdir %s, nginx on 127.0.0.1:%d" % (b.dir, b.port))
    for row in ROWS if a.smoke else rows:
        b.check(row)
    log("every row answered as expected")
    if a.smoke:
        rows = [r for r in ROWS if r[0] in ("a", "b", "a-keep")]
    for row in rows:
        if a.warmup:
            b.wrk(row, a.warmup)
    idle_rss = {r[0]: [rss_kib(p) for p in b.workers(r)] for r in rows}
    b.truncate_logs()
    results = {r[0]: [] for r in rows}
    cmd = " ".join(wrk_argv(a, a.duration))
    log("%d rounds of %d rows, each: %s" % (a.rounds, len(rows), cmd))
    for i in range(a.rounds):
        for row in rows:
            res = b.measure(row, a.duration)
            results[row[0]].append(res)
            log("round %d %-8s %8.0f req/s p99 %7.3f ms err %d "
                "backend %s us/req, %s switches/req"
                % (i + 1, row[0], res["rps"], res["p99_us"] / 1000,
                   res["errors"], fmt(res["backend_us"], "%.1f"),
                   fmt(res["switches"], "%.2f")))
    sysc = []
    for row in rows if shutil.which("strace") else []:
        if row[0] not in ("a", "a-keep", "b"):
            continue
        if a.syscalls:
            sysc.append((row[0], "one request at a time, %d requests"
                         % a.syscalls) + b.syscalls(row, n=a.syscalls))
        if a.syscall_load:
            sysc.append((row[0], "under load (wrk -c%d, %d s)"
                         % (a.connections, a.syscall_load)) +
                        b.syscalls(row, duration=a.syscall_load))
    instr = {}
    if a.callgrind and shutil.which("valgrind"):
        log("callgrind: %d requests each" % a.callgrind)
        instr = b.instructions(a.callgrind)
    return {"results": results, "idle_rss": idle_rss, "sysc": sysc,
            "rows": rows, "instr": instr,
            "load": open("/proc/loadavg").read().split()[:3]}


def report(a, b, out):
    rows, results, idle_rss, sysc = (out["rows"], out["results"],
                                     out["idle_rss"], out["sysc"])
    s = summarize(results)
    tab = table(s, rows, idle_rss)
    tg = targets(s, idle_rss, results)
    print(tab)
    print("\n".join(table_notes(rows)))
    print()
    for status, name, detail in tg:
        print("%-6s %s: %s" % (status, name, detail))
    for rid, how, counts, n in sysc:
        print("\nsystem calls per request, row %s, %s (strace -c -f on "
              "every worker):" % (rid, how))
        print(syscall_table(counts, n, "raw" if rid == "b" else "warm"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    for kind, (per, top) in out["instr"].items():
        print("\n%s: %.0f instructions per request" % (kind, per))
    if a.results:
        write_results(a, b, out, tab, tg)


ROW_NOTES = """\
Rows: (a) warmcgi serving `examples/hello` as a module; (b) the raw
libfcgi responder `bench/rawfcgi.c`, the stock `FCGX_Accept_r` loop
writing the same bytes (the ceiling of nginx + libfcgi); (c) PHP-FPM,
`bench/hello.php`; (d) fcgiwrap running `examples/hello/hello.c` built as
an executable; (e) warmcgi running that executable through its classic
CGI fallback (`cgi =`); (f) nginx's own `return 200`; (g) warmcgi, 64 KiB
of JSON gzipped (`Accept-Encoding: gzip`) and (g0) the same without gzip;
(h) warmcgi echoing a 1 MiB POST; (a-keep) (a) with `fastcgi_keep_conn on`
and an upstream `keepalive`; (b-epoll) the raw loop with keep-alive
done as `shared/notes/keepalive.md` measured best (`rawfcgi ... epoll`:
each process epolls the listening socket and its idle kept connections,
nothing else), the ceiling for (a-keep); (b-keep) (b) with keep-alive,
where stock libfcgi pins a process per idle connection; (mix, mix-keep)
warmcgi (`bench/benchmod.c`) where every 50th request sleeps 10 ms,
without and with keep-alive, with 16 connections and (mix4) with 4. The
hello rows answer byte-identical responses (`Status`, `Content-Type`,
`Content-Length`, `Hello, World!`); bench.py checks every row's answer
before it measures.
"""


def write_results(a, b, out, tab, tg):
    rows = out["rows"]
    now = datetime.datetime.now(datetime.timezone.utc)
    argv, skip = ["bench/run"], False
    for x in sys.argv[1:]:
        if skip or x.startswith("--builddir"):
            skip = x == "--builddir"
            continue
        argv.append(x)
    lines = [
        "# Benchmark results",
        "",
        "Generated by `%s` on %s (load average %s before, %s after)."
        % (" ".join(argv), now.strftime("%Y-%m-%d %H:%M UTC"),
           " ".join(out["load0"]), " ".join(out["load"])),
        "The machine is shared: other jobs ran during the rounds, so "
        "compare rows with each other (ratios), not with other runs.",
        "",
        "- Machine: %s." % machine(),
        "- Versions: " + ", ".join(versions(b)) + ".",
        "- Setup: one nginx (`worker_processes %d`, `access_log off`) on "
        "127.0.0.1, every backend on a unix socket, %d processes per "
        "backend (warmcgi `workers = %d`, PHP-FPM `pm = static`, "
        "`pm.max_children = %d`, fcgiwrap `-c %d`, raw loop %d processes); "
        "keep-alive rows: `fastcgi_keep_conn on` and `upstream { keepalive "
        "%d; }`. warmcgi writes its access log to a file."
        % (a.nginx_workers, a.workers, a.workers, a.workers, a.workers,
           a.workers, a.keepalive),
        "- Load: `%s -s bench/wrk.lua URL` per row (wrk 4 corrects "
        "latencies for coordinated omission), rows interleaved (a b c ... "
        "a b c ...), %d rounds, medians; req/s shows min-max over the "
        "rounds; a %d s warm-up per row first. Each \"vs b\" is the "
        "median of the per-round ratios: rows measured seconds apart share "
        "the machine's load of the moment."
        % (" ".join(wrk_argv(a, a.duration)), a.rounds, a.warmup),
        "- Backend CPU: utime+stime (and reaped children: CGI processes) "
        "of the backend's processes, from /proc, over the run, per request; "
        "nginx's the same way. RSS: each worker process, idle after the "
        "warm-up, then after the last round.",
        "",
        ROW_NOTES,
        tab,
        "",
    ] + table_notes(rows) + [
        "",
        "## Targets",
        "",
        "Ratios within this run (issue 3).",
        "",
    ]
    for status, name, detail in tg:
        lines.append("- %s: %s (%s)" % (status, name, detail))
    if out["instr"]:
        w, r = out["instr"]["warm"][0], out["instr"]["raw"][0]
        lines += ["", "## Instructions per request", "",
                  "`valgrind --tool=callgrind`, one worker, sequential "
                  "requests through nginx: %d minus %d requests, so that "
                  "start-up cancels out. Repeatable to a few instructions, "
                  "unlike timings." % (a.callgrind, a.callgrind // 6), "",
                  "| backend | instructions per request |", "|---|---|",
                  "| (a) warmcgi, hello module | %.0f |" % w,
                  "| (b) raw libfcgi loop | %.0f |" % r, "",
                  "Where (a)'s go (self cost per request, top 20):", "",
                  "| instructions | function (object) |", "|---|---|"]
        for v, f in out["instr"]["warm"][1]:
            lines.append("| %.0f | %s |" % (v, f.replace("|", "\\|")))
    for rid, how, counts, n in out["sysc"]:
        lines += ["", "## System calls per request: row %s, %s" % (rid, how),
                  "", "`strace -c -f` attached to every worker (all "
                  "threads) of the backend; counts divided by the %d "
                  "requests served meanwhile." % n, "",
                  syscall_table(counts, n, "raw" if rid == "b" else
                                "warm")]
    with open(a.results, "w") as f:
        f.write("\n".join(lines) + "\n")
    log("wrote %s" % a.results)


if __name__ == "__main__":
    sys.exit(main())
