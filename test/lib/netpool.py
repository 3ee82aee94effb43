"""netpool: several warmcgi hosts on this machine behind one nginx, for
the tests of a pool (test/integ/18x-pool-*.t).

Each host is a network namespace made here (`ip netns add`) with its own
warmcgi, joined to a front namespace, where nginx runs, by a veth pair
with the addresses this module assigns: 10.77.N.1 on the front side,
10.77.N.2 on host N, and fd77:N::1 and fd77:N::2 for IPv6. Nothing is added
to the machine's own namespace (no interface, no route, no address), so
nothing here can reach another machine, and nginx is reached through a
unix socket. Names carry the test's pid; the namespaces of runs whose
process is gone are removed at start, those of this run at the end, by
name, each `ip` call with a time limit.

Where namespaces cannot be made (no CAP_SYS_ADMIN, no iproute2, or
WARMCGI_TEST_NETNS=0), the hosts listen on distinct loopback addresses,
127.0.0.11, 127.0.0.12, ..., in the machine's namespace, and nginx runs
there too; Net.why says why.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from warmtest import (FASTCGI_PARAMS, NGINX, WARMCGI, UnixHTTPConnection,
                      children, free_port, pid_alive, wait_for)

PREFIX = "wcpool-"
IP = shutil.which("ip") or "/usr/sbin/ip"
PORT = 9000             # every host's port, in its own namespace


def ip(*args, check=True):
    """Runs `ip ARGS` with a time limit; returns its output."""
    p = subprocess.run([IP] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20,
                       universal_newlines=True)
    if check and p.returncode != 0:
        raise OSError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def remove_stale():
    """Removes the namespaces of earlier runs whose process is gone."""
    try:
        names = ip("netns", "list", check=False)
    except (OSError, subprocess.TimeoutExpired):
        return
    for line in names.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"^%s(\d+)-" % re.escape(PREFIX), name)
        if m and not pid_alive(int(m.group(1))):
            ip("netns", "del", name, check=False)


class Net:
    """The hosts' network: namespaces and veth pairs, or loopback."""

    def __init__(self, nhosts, v6_hosts=()):
        self.n = nhosts
        self.v6_hosts = set(v6_hosts)   # hosts that listen on [::]
        self.tag = "%s%d-" % (PREFIX, os.getpid())
        self.netns = False
        self.why = None
        self.made = []

    def start(self):
        remove_stale()
        if os.environ.get("WARMCGI_TEST_NETNS") == "0":
            self.why = "WARMCGI_TEST_NETNS=0"
        else:
            try:
                self._make()
                self.netns = True
            except (OSError, subprocess.TimeoutExpired) as e:
                self.why = str(e)
                self.remove()
        self.port = PORT if self.netns else self._free_loopback_port()
        return self

    def _free_loopback_port(self):
        """A port free on every 127.0.0.1x address of the hosts."""
        for _ in range(50):
            port = free_port()
            try:
                for i in range(1, self.n + 1):
                    s = socket.socket()
                    try:
                        s.bind(("127.0.0.%d" % (10 + i), port))
                    finally:
                        s.close()
                return port
            except OSError:
                continue
        raise AssertionError("no free port on 127.0.0.11..")

    def ns(self, i):
        """The namespace of host i (1..n), or of the front (0)."""
        return self.tag + ("front" if i == 0 else "h%d" % i)

    def _make(self):
        front = self.ns(0)
        ip("netns", "add", front)
        self.made.append(front)
        ip("-n", front, "link", "set", "lo", "up")
        for i in range(1, self.n + 1):
            h = self.ns(i)
            ip("netns", "add", h)
            self.made.append(h)
            ip("link", "add", "h%d" % i, "netns", front, "type", "veth",
               "peer", "name", "eth0", "netns", h)
            ip("-n", h, "link", "set", "lo", "up")
            ip("-n", front, "addr", "add", "10.77.%d.1/24" % i, "dev",
               "h%d" % i)
            ip("-n", h, "addr", "add", "10.77.%d.2/24" % i, "dev", "eth0")
            # nodad: usable at once, without duplicate address detection.
            ip("-n", front, "addr", "add", "fd77:%d::1/64" % i, "dev",
               "h%d" % i, "nodad")
            ip("-n", h, "addr", "add", "fd77:%d::2/64" % i, "dev", "eth0",
               "nodad")
            ip("-n", front, "link", "set", "h%d" % i, "up")
            ip("-n", h, "link", "set", "eth0", "up")

    def remove(self):
        for name in reversed(self.made):
            ip("netns", "del", name, check=False)
        self.made = []

    def wrap(self, i, argv):
        """argv run in host i's namespace (0: the front's)."""
        if not self.netns:
            return list(argv)
        return [IP, "netns", "exec", self.ns(i)] + list(argv)

    def listen(self, i, port):
        """What host i's config says in listen."""
        if not self.netns:
            return "127.0.0.%d:%d" % (10 + i, port)
        return "[::]:%d" % port if i in self.v6_hosts else \
            "0.0.0.0:%d" % port

    def address(self, i, port):
        """Where nginx reaches host i."""
        if not self.netns:
            return "127.0.0.%d:%d" % (10 + i, port)
        return "[fd77:%d::2]:%d" % (i, port) if i in self.v6_hosts else \
            "10.77.%d.2:%d" % (i, port)

    def front_addresses(self):
        """listen_allow for the hosts: the front's addresses (CIDRs)."""
        if not self.netns:
            return "127.0.0.1/32"
        return " ".join(["10.77.%d.0/29" % i for i in range(1, self.n + 1)] +
                        ["fd77:%d::1/128" % i for i in range(1, self.n + 1)])

    def describe(self):
        if self.netns:
            return "%d network namespaces %sh1..h%d" % (self.n, self.tag,
                                                       self.n)
        return "loopback addresses 127.0.0.11..%d (%s)" % (10 + self.n,
                                                           self.why)


def records(path):
    """JSON lines of a log file; a last line still being written is left
    out."""
    out = []
    try:
        with open(path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break
                if line.strip():
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


class Host:
    """One warmcgi host of the pool, in its own directory."""

    def __init__(self, net, i, root, ini):
        self.net = net
        self.i = i
        self.name = "h%d" % i
        self.port = port = net.port
        self.dir = os.path.join(root, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.ini = os.path.join(self.dir, "warmcgi.ini")
        self.app_log = os.path.join(self.dir, "app.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.pid_file = os.path.join(self.dir, "warmcgi.pid")
        self.listen = net.listen(i, port)
        self.address = net.address(i, port)
        self.proc = None
        self.write(ini)

    def write(self, ini):
        head = ("[app]\nlisten = %s\nlog = %s\naccess_log = %s\n"
                "pid_file = %s\nhost_name = %s\nlisten_allow = %s\n"
                % (self.listen, self.app_log, self.access_log,
                   self.pid_file, self.name, self.net.front_addresses()))
        if os.geteuid() == 0 and "allow_root" not in ini:
            head += "allow_root = yes\n"
        text = ini.strip()
        if text.startswith("[app]"):
            text = text[len("[app]"):]
        text = head + text + "\n\n[env_variables]\nWC_TEST_HOST = %s\n" % \
            self.name
        with open(self.ini, "w") as f:
            f.write(text)

    def start(self, workers):
        """Starts warmcgi and waits until `workers` workers accept."""
        before = len(self.started_workers())
        self.stderr = open(os.path.join(self.dir, "stderr"), "ab")
        self.proc = subprocess.Popen(
            self.net.wrap(self.i, [WARMCGI, "-c", self.ini]),
            stdout=self.stderr, stderr=self.stderr, cwd=self.dir,
            start_new_session=True)
        wait_for(lambda: len(self.started_workers()) >= before + workers
                 or self.proc.poll() is not None, 20,
                 "%s: %d workers" % (self.name, workers))
        if self.proc.poll() is not None:
            raise AssertionError("%s exited: %s" % (self.name, open(
                os.path.join(self.dir, "stderr")).read()))
        return self

    def started_workers(self):
        return [r for r in self.app() if r["message"] == "worker started"]

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def kill9(self):
        """Kills the master and every worker at once (a host dies)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def command(self, *args, timeout=60):
        """Runs `warmcgi ARGS -c INI` in this host's namespace."""
        p = subprocess.run(self.net.wrap(self.i, [WARMCGI] + list(args) +
                                         ["-c", self.ini]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, universal_newlines=True)
        return p.returncode, p.stdout + p.stderr

    def ss_listen(self):
        """`ss -ltn` rows of this host's listening socket (Recv-Q is the
        backlog's length, Send-Q its size)."""
        where = ["sport = :%d" % self.port] if self.net.netns else \
            ["src", self.listen]
        out = subprocess.run(self.net.wrap(self.i, ["ss", "-ltnH"] + where),
                             stdout=subprocess.PIPE, universal_newlines=True,
                             timeout=10).stdout
        return [line.split() for line in out.splitlines() if line.strip()]

    def backlog(self):
        """Connections waiting in the kernel for a worker."""
        rows = self.ss_listen()
        return int(rows[0][1]) if rows and rows[0][0] == "LISTEN" else 0

    def app(self):
        return records(self.app_log)

    def access(self):
        return records(self.access_log)


def work_marks(host, kind, full=False):
    """Test ids of the "work start"/"work end" records of a host, with the
    time of each: {(method, id): time}, or the record with full."""
    out = {}
    for r in host.app():
        m = r.get("message", "").split()
        if len(m) == 4 and m[0] == "work" and m[1] == kind:
            out[(m[2], m[3])] = r if full else r["time"]
    return out


class Front:
    """nginx in the front namespace, with the config `warmcgi --nginx`
    writes for the pool, and an access log that names the upstreams each
    request went to."""

    LOG = ("log_format pool '$msec $http_x_test_id $request_method $status "
           "\"$upstream_addr\" \"$upstream_status\"';\n")

    def __init__(self, net, root, hosts, tcp_port=None):
        self.net = net
        self.prefix = os.path.join(root, "nginx")
        os.makedirs(self.prefix, exist_ok=True)
        shutil.copy(FASTCGI_PARAMS, self.prefix)
        self.http_sock = os.path.join(root, "nginx.sock")
        self.tcp_port = tcp_port
        self.hosts = hosts
        self.proc = None

    def generate(self):
        """`warmcgi --nginx --upstream ...` for the pool, as a user runs
        it with the config of one host."""
        args = [WARMCGI, "--nginx", "-c", self.hosts[0].ini,
                "--nginx-listen", "unix:" + self.http_sock]
        for h in self.hosts:
            args += ["--upstream", h.address]
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30,
                           universal_newlines=True)
        if p.returncode != 0:
            raise AssertionError("warmcgi --nginx: " + p.stderr)
        return p.stdout

    def conf(self, generated):
        server = generated
        if self.tcp_port:
            server = server.replace(
                "    listen unix:%s;\n" % self.http_sock,
                "    listen unix:%s;\n    listen 127.0.0.1:%d;\n"
                % (self.http_sock, self.tcp_port), 1)
        return """daemon off;
master_process on;
worker_processes 1;
user root;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log info;
events { worker_connections 1024; }
http {
    %(log)s
    access_log %(p)s/access.log pool;
    client_body_temp_path %(p)s/body;
    fastcgi_temp_path %(p)s/fastcgi;
    proxy_temp_path %(p)s/proxy;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
%(server)s}
""" % {"p": self.prefix, "log": self.LOG, "server": server}

    def start(self, generated):
        path = os.path.join(self.prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(self.conf(generated))
        t = subprocess.run(self.net.wrap(0, [NGINX, "-t", "-p", self.prefix,
                                             "-c", path]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30, universal_newlines=True)
        if t.returncode != 0:
            raise AssertionError("nginx -t: " + t.stdout)
        self.stderr = open(os.path.join(self.prefix, "stderr"), "ab")
        self.proc = subprocess.Popen(self.net.wrap(0, [NGINX, "-p",
                                                       self.prefix, "-c",
                                                       path]),
                                     stdout=self.stderr, stderr=self.stderr)
        wait_for(lambda: os.path.exists(self.http_sock)
                 or self.proc.poll() is not None, 10, "nginx socket")
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited")
        return t.stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        """nginx's records: {test id: (method, status, upstreams,
        upstream statuses)}."""
        out = {}
        try:
            with open(os.path.join(self.prefix, "access.log")) as f:
                for line in f:
                    m = re.match(r'^(\S+) (\S+) (\S+) (\d+) "([^"]*)" '
                                 r'"([^"]*)"$', line.strip())
                    if m:
                        out[m.group(2)] = (m.group(3), int(m.group(4)),
                                           m.group(5), m.group(6))
        except FileNotFoundError:
            pass
        return out


def teardown(c):
    """Stops what a pool test's setup started (c.front when it has one,
    c.hosts, c.net) and removes c.dir unless WARMCGI_KEEP is set."""
    if getattr(c, "front", None):
        c.front.stop()
    for h in c.hosts:
        h.stop()
    c.net.remove()
    if os.environ.get("WARMCGI_KEEP") is None:
        shutil.rmtree(c.dir, ignore_errors=True)


class Load:
    """Continuous load through nginx: `threads` clients each send GET and
    POST /t/work?ms=MS in turn (POST with a small body; GET only without
    post), every request with its own X-Test-Id, until stop() or `limit`
    requests or `seconds`. results: one dict per request."""

    runs = 0

    def __init__(self, http_sock, threads=6, ms=20, limit=100000,
                 seconds=120, post=True):
        Load.runs += 1
        self.tag = "L%d-" % Load.runs   # ids unique across the file
        self.sock = http_sock
        self.threads = threads
        self.ms = ms
        self.post = post
        self.limit = limit
        self.deadline = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.next = 0
        self.results = []
        self.stopping = threading.Event()
        self.workers = []

    def _take(self):
        with self.lock:
            if self.next >= self.limit:
                return None
            self.next += 1
            return self.next

    def _run(self):
        while not self.stopping.is_set() and \
                time.monotonic() < self.deadline:
            n = self._take()
            if n is None:
                return
            method = "POST" if self.post and n % 2 == 0 else "GET"
            rec = {"id": self.tag + str(n), "method": method,
                   "t0": time.time()}
            try:
                c = UnixHTTPConnection(self.sock, timeout=60)
                c.request(method, "/t/work?ms=%d" % self.ms,
                          body=b"x" * 200 if method == "POST" else None,
                          headers={"X-Test-Id": rec["id"]})
                r = c.getresponse()
                rec["status"] = r.status
                rec["body"] = r.read().decode("utf-8", "replace")
                c.close()
            except (OSError, http_error()) as e:
                rec["status"] = 0
                rec["body"] = repr(e)
            rec["t1"] = time.time()
            with self.lock:
                self.results.append(rec)

    def start(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.workers.append(t)
        return self

    def count(self):
        with self.lock:
            return len(self.results)

    def wait_count(self, n, timeout=60, what="requests"):
        """Waits until n more requests have completed."""
        target = self.count() + n
        wait_for(lambda: self.count() >= target, timeout,
                 "%d %s" % (n, what))

    def stop(self):
        self.stopping.set()
        for t in self.workers:
            t.join(90)
        return list(self.results)


def http_error():
    import http.client
    return http.client.HTTPException


def served_by(rec):
    """The host that answered a /t/work request, from its body."""
    m = re.search(r"host=(\S+)", rec.get("body", ""))
    return m.group(1) if m else None


def failed(results):
    return [r for r in results if r["status"] != 200]


def run_in(net, i, code, timeout=30):
    """Runs Python code in host i's namespace; returns its stdout."""
    p = subprocess.run(net.wrap(i, ["python3", "-c", code]),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, universal_newlines=True)
    if p.returncode != 0:
        raise AssertionError("python in %s: %s" % (net.ns(i), p.stderr))
    return p.stdout


FCGI_CLIENT = r'''
import json, socket, sys
import fcgi
addr, port, path, source, rst_probe = json.loads(sys.argv[1])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(20)
res = {}
try:
    if source:
        s.bind((source, 0))
    s.connect((addr, port))
    script, _, query = path.partition("?")
    env = [("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", script),
           ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1"),
           ("REMOTE_ADDR", source or "10.77.0.1")]
    s.sendall(fcgi.begin(1) + fcgi.params(1, env) + fcgi.stdin(1, b""))
    out, err, recs = fcgi.read_records(s)
    res["out"] = out.decode("latin-1")
    res["end"] = any(r[0] == fcgi.END_REQUEST for r in recs)
except OSError as e:
    res["error"] = type(e).__name__
print(json.dumps(res))
'''


def fcgi_from(net, i, addr, port, path, source=None):
    """One FastCGI request from namespace i (0: the front) to addr:port,
    optionally from the source address given. Returns {"out": CGI
    response, "end": END_REQUEST seen} or {"error": exception name}."""
    p = subprocess.run(net.wrap(i, ["python3", "-c", FCGI_CLIENT,
                                    json.dumps([addr, port, path, source,
                                                False])]),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, universal_newlines=True)
    if p.returncode != 0:
        raise AssertionError("fcgi client: " + p.stderr)
    return json.loads(p.stdout)
