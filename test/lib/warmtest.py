"""warmtest: helpers for warmcgi's integration tests.

Each test file builds a Cluster: a temp directory holding a warmcgi.ini,
a real `warmcgi` (the build's host/warmcgi) on a unix socket, and a real
nginx (its own prefix, no system config touched) listening on a unix
socket too, configured the way `warmcgi --nginx` tells users to.  HTTP
helpers talk to nginx; log readers return parsed JSON records.  Every
wait is bounded; every process is stopped by PID.

A test file is a Python script: it defines functions named test_* and
calls warmtest.main(), which runs them in order and prints TAP.
"""
import gzip as _gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BUILD = os.environ.get("WARMCGI_BUILDDIR", os.getcwd())
SRC = os.environ.get("WARMCGI_SRCDIR", os.getcwd())
WARMCGI = os.path.join(BUILD, "host", "warmcgi")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FASTCGI_PARAMS = "/etc/nginx/fastcgi_params"


def valgrind_prefix():
    """With WARMCGI_VALGRIND=DIR (test/run --valgrind), warmcgi and its
    workers run under valgrind memcheck, one log per process in DIR;
    test/run reads them at the end.  CGI children are traced too, except
    shells and coreutils (not ours)."""
    logdir = os.environ.get("WARMCGI_VALGRIND")
    if not logdir:
        return []
    return ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--track-fds=no", "--trace-children=yes",
            "--trace-children-skip=*/sh,*/bash,*/dash,*/env,*/sleep,*/cat,*.sh",
            "--suppressions=" + os.path.join(SRC, "test", "valgrind.supp"),
            "--log-file=" + os.path.join(logdir, "vg.%p.log")]


def build(path):
    """Absolute path of a build artifact (modules live in the build tree)."""
    return os.path.join(BUILD, path)


def _reachable_by_others(path):
    """True if every directory on the way to path lets others through."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


_public = []


def public_build():
    """The build directory, or, when other users cannot reach it (a clone
    under a private directory), a world-readable copy of its programs and
    modules with the same layout. Tests whose workers drop to another user,
    or whose CGI server runs warmcgi as www-data, use it."""
    if _reachable_by_others(BUILD):
        return BUILD
    if _public:
        return _public[0]
    import atexit
    d = tempfile.mkdtemp(prefix="warmcgi-public-build-")
    os.chmod(d, 0o755)
    for root, dirs, files in os.walk(BUILD):
        rel = os.path.relpath(root, BUILD)
        if rel.startswith(("build-", ".")) or "/.deps" in "/" + rel:
            continue
        for f in files:
            src_path = os.path.join(root, f)
            if not (f.endswith(".so") or os.access(src_path, os.X_OK)) or \
                    f.endswith((".o", ".la", ".lo")) or \
                    not os.path.isfile(src_path):
                continue
            dst = os.path.join(d, rel, f)
            os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
            shutil.copy2(src_path, dst)
            os.chmod(dst, 0o755)
    for root, dirs, files in os.walk(d):
        os.chmod(root, 0o755)
    atexit.register(shutil.rmtree, d, True)
    _public.append(d)
    return d


def src(path):
    return os.path.join(SRC, path)


def wait_for(cond, timeout=10.0, what="condition", interval=0.01):
    """Polls cond() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def free_port():
    """An ephemeral TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def _children(pid, zombie):
    """PIDs whose parent is pid (from /proc): the zombies, or the others."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and (fields[0] == "Z") == zombie:
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return sorted(out)


def children(pid):
    """PIDs whose parent is pid (from /proc), zombies left out."""
    return _children(pid, False)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        body = self.body
        if self.header("Content-Encoding") == "gzip":
            body = _gzip.decompress(body)
        return body.decode("utf-8", "replace")

    def env(self):
        """Parses NAME=value lines (printenv, testmod /env)."""
        out = {}
        for line in self.text.splitlines():
            if "=" in line and not line.startswith("--"):
                k, v = line.split("=", 1)
                out.setdefault(k, v)
        return out

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


class Cluster:
    """A temp dir with warmcgi and nginx in front of it."""

    def __init__(self, ini, name="t", nginx=True, nginx_extra="",
                 location_extra="", workers_env=None, listen=None,
                 build_dir=None, keepalive=0, wrap=None):
        self.dir = tempfile.mkdtemp(prefix="warmcgi-%s-" % name)
        os.chmod(self.dir, 0o755)
        # listen: "127.0.0.1:PORT" for TCP; a unix socket by default.
        self.sock = listen or os.path.join(self.dir, "warmcgi.sock")
        self.http_sock = os.path.join(self.dir, "nginx.sock")
        self.app_log = os.path.join(self.dir, "app.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.ini = os.path.join(self.dir, "warmcgi.ini")
        self.want_nginx = nginx
        self.nginx_extra = nginx_extra
        self.location_extra = location_extra
        self.env = workers_env
        self.keepalive = keepalive      # > 0: kept-alive upstream, as --nginx
        self.wrap = wrap or []          # a command that execs warmcgi
        self.proc = None
        self.nginx = None
        self.stderr_path = os.path.join(self.dir, "warmcgi.stderr")
        self.build_dir = build_dir or BUILD
        self.write_ini(ini)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def write_ini(self, ini):
        text = ini.format(dir=self.dir, build=self.build_dir, src=SRC)
        head = ("[app]\nlisten = %s\nlog = %s\naccess_log = %s\n"
                % (self.sock, self.app_log, self.access_log))
        # Tests run as root in CI: let the handlers run as root unless
        # the test drops privileges itself (user =, allow_root =).
        if (os.geteuid() == 0 and "\nuser =" not in text
                and "allow_root" not in text):
            head += "allow_root = yes\n"
        if text.lstrip().startswith("[app]"):
            text = text.lstrip()[len("[app]"):]
            text = head + text
        else:
            text = head + text
        with open(self.ini, "w") as f:
            f.write(text)

    # -- processes -----------------------------------------------------
    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop(keep=True)
            raise

    def _start(self):
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.wrap + valgrind_prefix() +
                                     [WARMCGI, "-c", self.ini],
                                     stdout=self.stderr, stderr=self.stderr,
                                     env=env, cwd=self.dir)
        wait_for(lambda: self._socket_ready(self.sock) or self._died(),
                 10, "warmcgi socket")
        if self.proc.poll() is not None:
            raise AssertionError("warmcgi exited: %s" % self.read_stderr())
        if self.want_nginx:
            self.start_nginx()
        return self

    def _died(self):
        return self.proc.poll() is not None

    @staticmethod
    def _socket_ready(path):
        if ":" in path and not path.startswith("/"):
            host, port = path.rsplit(":", 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            path = (host, int(port))
        elif not os.path.exists(path):
            return False
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def nginx_conf(self):
        prefix = self.path("nginx")
        keep, upstream = "off", ""
        if self.keepalive:
            keep = "on"
            upstream = ("upstream warmcgi { server %s; keepalive %d; }"
                        % (self.address(), self.keepalive))
        return """
daemon off;
master_process on;
worker_processes 1;
user root;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log info;
events { worker_connections 1024; }
http {
    access_log %(prefix)s/access.log;
    client_body_temp_path %(prefix)s/body;
    fastcgi_temp_path %(prefix)s/fastcgi;
    proxy_temp_path %(prefix)s/proxy;
    uwsgi_temp_path %(prefix)s/uwsgi;
    scgi_temp_path %(prefix)s/scgi;
    %(extra)s
    %(upstream)s
    server {
        listen unix:%(http)s;
        server_name localhost;
        client_max_body_size 100m;
        location / {
            include %(params)s;
            fastcgi_param REQUEST_START $msec;
            fastcgi_param HTTP_PROXY "";
            fastcgi_keep_conn %(keep)s;
            fastcgi_read_timeout 120s;
            fastcgi_buffer_size 32k;
            fastcgi_buffers 8 32k;
            %(location_extra)s
            fastcgi_pass %(pass)s;
        }
    }
}
""" % {"prefix": prefix, "http": self.http_sock, "params": FASTCGI_PARAMS,
       "extra": self.nginx_extra, "location_extra": self.location_extra,
       "keep": keep, "upstream": upstream,
       "pass": "warmcgi" if self.keepalive else self.address()}

    def address(self):
        """The socket as nginx names it."""
        if ":" in self.sock and not self.sock.startswith("/"):
            return self.sock
        return "unix:" + self.sock

    def start_nginx(self, conf=None):
        prefix = self.path("nginx")
        os.makedirs(prefix, exist_ok=True)
        conf_path = os.path.join(prefix, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf if conf is not None else self.nginx_conf())
        self.nginx_stderr = open(os.path.join(prefix, "stderr"), "ab")
        self.nginx = subprocess.Popen([NGINX, "-p", prefix, "-c", conf_path],
                                      stdout=self.nginx_stderr,
                                      stderr=self.nginx_stderr)
        wait_for(lambda: self._socket_ready(self.http_sock)
                 or self.nginx.poll() is not None, 10, "nginx socket")
        if self.nginx.poll() is not None:
            raise AssertionError("nginx exited: %s" % open(
                os.path.join(prefix, "stderr")).read())

    def stop_nginx(self):
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.nginx = None
        if os.path.exists(self.http_sock):
            os.unlink(self.http_sock)

    def stop(self, keep=False):
        self.stop_nginx()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(10)
        if not keep and os.environ.get("WARMCGI_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def workers(self):
        return children(self.proc.pid)

    def wait_workers(self, n, timeout=10):
        return wait_for(lambda: len(self.workers()) == n and self.workers(),
                        timeout, "%d workers" % n)

    def read_stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    # -- HTTP ----------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=60,
                chunked=False):
        c = UnixHTTPConnection(self.http_sock, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {},
                      encode_chunked=chunked)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, r.reason, r.getheaders(), data)
        finally:
            c.close()

    def open_request(self, method, path, body=b"", headers=None):
        """Sends a request on a raw socket and returns the socket without
        reading the answer: the caller closes it to play a client that
        went away."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.http_sock)
        head = "%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, path)
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        if body:
            head += "Content-Length: %d\r\n" % len(body)
        s.sendall(head.encode() + b"\r\n" + body)
        return s

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    # -- logs ----------------------------------------------------------
    @staticmethod
    def _records(path):
        out = []
        try:
            with open(path, "rb") as f:
                for line in f:
                    # A record still being written has no newline yet.
                    if not line.endswith(b"\n"):
                        break
                    line = line.strip()
                    if line:
                        out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return out

    def app_records(self):
        return self._records(self.app_log)

    def access_records(self):
        return self._records(self.access_log)

    def wait_access(self, pred, timeout=10, what="access record"):
        return wait_for(lambda: [r for r in self.access_records() if pred(r)],
                        timeout, what)

    def wait_app(self, pred, timeout=10, what="app record"):
        return wait_for(lambda: [r for r in self.app_records() if pred(r)],
                        timeout, what)


def fd_count(pid):
    """Open descriptors of a process (0 once it is gone)."""
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def connections(pid, sock_path):
    """Connections from the front end a process holds: unix sockets
    connected on warmcgi's socket path (its listening socket and any
    socketpair are not counted)."""
    conns = set()
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                x = line.split()
                # Num RefCount Protocol Flags Type St Inode [Path]
                if len(x) >= 8 and x[5] == "03" and x[7] == sock_path:
                    conns.add(x[6])
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return 0
    n = 0
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in conns:
            n += 1
    return n


def rss_kb(pid):
    """Resident set size of a process in KiB (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def zombies(pid):
    """Zombie children of a process."""
    return _children(pid, True)


def fcgi_request(sock_path, params, body=b"", timeout=30):
    """One FastCGI request straight to warmcgi's socket (fcgi.py), with
    exactly the params given: no front end normalizes the path.  Returns
    a Response parsed from the CGI response warmcgi writes."""
    import fcgi
    s = fcgi.connect(sock_path, timeout)
    try:
        s.sendall(fcgi.begin(1) + fcgi.params(1, params.items()) +
                  fcgi.stdin(1, body))
        out = fcgi.read_records(s)[0]
    finally:
        s.close()
    head, _, resp_body = out.partition(b"\r\n\r\n")
    status, reason, headers = 200, "", []
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "status":
            status = int(v.strip()[:3])
            reason = v.strip()[4:]
        else:
            headers.append((k, v.strip()))
    return Response(status, reason, headers, resp_body)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s%r != %r" % (what + ": " if what else "",
                                             a, b))


def ok(cond, what="assertion"):
    if not cond:
        raise AssertionError(what)


class Skip(Exception):
    pass


def parallel(fns):
    """Runs callables in threads; returns their results (re-raising)."""
    results = [None] * len(fns)
    errors = []

    def run(i, fn):
        try:
            results[i] = fn()
        except BaseException as e:   # noqa: B902
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i, f))
               for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    return results


def main(namespace=None, setup=None, teardown=None):
    """Runs every test_* function of the calling module; prints TAP."""
    ns = namespace or sys.modules["__main__"].__dict__
    tests = [(n, f) for n, f in ns.items()
             if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = os.environ.get("WARMCGI_ONLY")
    n = 0
    failed = 0
    try:
        ctx = setup() if setup else None
    except BaseException:   # noqa: B902
        print("not ok 1 - setup")
        for line in traceback.format_exc().splitlines():
            print("#   " + line)
        print("1..1")
        sys.exit(1)
    try:
        for name, fn in tests:
            if only and only not in name:
                continue
            n += 1
            t0 = time.monotonic()
            try:
                fn(ctx) if setup else fn()
                print("ok %d - %s (%.2fs)" % (n, name, time.monotonic() - t0))
            except Skip as e:
                print("ok %d - %s # SKIP %s" % (n, name, e))
            except BaseException:   # noqa: B902
                failed += 1
                print("not ok %d - %s" % (n, name))
                for line in traceback.format_exc().splitlines():
                    print("#   " + line)
            sys.stdout.flush()
    finally:
        if teardown:
            teardown(ctx)
    print("1..%d" % n)
    sys.exit(1 if failed else 0)
