"""cgitest: warmcgi without FastCGI, for the integration tests.

- request(): runs `warmcgi --request` and parses what it prints (the HTTP
  response on stdout, JSON log records on stderr);
- Lighttpd, Apache, Busybox: real CGI-only web servers, each started by
  the test on 127.0.0.1 with an ephemeral port in its own temp directory
  (no system config touched), serving a cgi-bin/ where warmcgi runs in CGI
  mode; get()/request() talk HTTP to them.

Every wait is bounded; every server is stopped by PID.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile

from warmtest import (WARMCGI, Response, Skip, free_port, public_build,
                      wait_for)


def parse_http(raw):
    """Splits a raw HTTP/1.1 response into a warmtest Response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("no blank line after the head: %r" % raw[:300])
    lines = head.decode("latin-1").split("\r\n")
    proto, code, reason = (lines[0].split(" ", 2) + [""])[:3]
    if not proto.startswith("HTTP/1."):
        raise AssertionError("not a status line: %r" % lines[0])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return Response(int(code), reason, headers, body)


def records(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


class Result:
    """What one `warmcgi --request` run gave."""

    def __init__(self, rc, stdout, stderr):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr.decode("utf-8", "replace")
        self.records = records(self.stderr)
        self.response = parse_http(stdout) if rc == 0 else None

    def access(self):
        return [r for r in self.records if "status" in r and
                "method" in r]

    def app(self):
        return [r for r in self.records if "level" in r]


def request(ini, line, headers=(), data=None, stdin=None, timeout=60,
            env=None):
    """Runs warmcgi -c INI --request LINE [-H ...] [--data DATA]."""
    args = [WARMCGI, "-c", ini, "--request", line]
    for h in headers:
        args += ["-H", h]
    if data is not None:
        args += ["--data", data]
    e = dict(os.environ)
    e.pop("GATEWAY_INTERFACE", None)
    if env:
        e.update(env)
    p = subprocess.run(args, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=e)
    return Result(p.returncode, p.stdout, p.stderr)


def port_open(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def app_ini(text, name="app.ini"):
    """Text of an app config that is its own CGI script."""
    # The web server runs it as its own user: a copy it can reach.
    return "#!%s -c\n%s" % (os.path.join(public_build(), "host", "warmcgi"),
                            text)


class CGIServer:
    """A CGI-only web server in a temp dir; cgi-bin/ holds the scripts."""

    name = "server"
    binary = None
    user = None             # the user CGI programs run as, if not ours

    def __init__(self):
        if not self.binary or not os.path.exists(self.binary):
            raise Skip("%s is not installed" % self.name)
        self.dir = tempfile.mkdtemp(prefix="warmcgi-%s-" % self.name)
        os.chmod(self.dir, 0o755)
        self.cgi_bin = os.path.join(self.dir, "cgi-bin")
        self.docroot = os.path.join(self.dir, "www")
        os.makedirs(self.cgi_bin)
        os.makedirs(self.docroot)
        self.port = None
        self.proc = None

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def install(self, name, text, mode=0o755):
        """Writes an executable into cgi-bin/ (an app.ini, a script)."""
        path = os.path.join(self.cgi_bin, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def writable(self, *names):
        """Files the CGI programs write (logs), made writable for them."""
        for n in names:
            p = self.path(n)
            open(p, "a").close()
            os.chmod(p, 0o666)
            yield p

    def command(self):
        raise NotImplementedError

    def start(self):
        self.port = free_port()
        cmd = self.command()
        self.err = open(self.path("server.stderr"), "ab")
        # Its own session: Apache signals its whole process group when
        # it stops, which would include the test.
        self.proc = subprocess.Popen(cmd, stdout=self.err, stderr=self.err,
                                     cwd=self.dir, start_new_session=True)
        try:
            wait_for(lambda: port_open(self.port) or
                     self.proc.poll() is not None, 15,
                     "%s on port %d" % (self.name, self.port))
            if self.proc.poll() is not None:
                raise AssertionError("%s exited: %s" % (
                    self.name, self.log_text()))
        except BaseException:
            self.stop(keep=True)
            raise
        return self

    def log_text(self):
        out = ""
        for n in ("server.stderr", "error.log"):
            try:
                with open(self.path(n), errors="replace") as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def stop(self, keep=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if not keep and os.environ.get("WARMCGI_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    stop_signal = signal.SIGTERM

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return Response(r.status, r.reason, r.getheaders(), data)
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)


class Lighttpd(CGIServer):
    """lighttpd with mod_cgi: cgi-bin/ executes everything in it."""

    name = "lighttpd"
    binary = "/usr/sbin/lighttpd"
    user = "www-data"

    def command(self):
        list(self.writable("error.log"))    # opened as www-data
        conf = self.path("lighttpd.conf")
        with open(conf, "w") as f:
            f.write("""
server.document-root = "%(www)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.pid-file = "%(dir)s/lighttpd.pid"
server.errorlog = "%(dir)s/error.log"
server.username = "www-data"
server.groupname = "www-data"
server.max-request-size = 102400
server.modules = ("mod_alias", "mod_cgi")
alias.url = ("/cgi-bin/" => "%(cgi)s/")
$HTTP["url"] =~ "^/cgi-bin/" {
    cgi.assign = ("" => "")
}
""" % {"www": self.docroot, "port": self.port, "dir": self.dir,
                "cgi": self.cgi_bin})
        return [self.binary, "-D", "-f", conf]


class Apache(CGIServer):
    """Apache httpd (prefork MPM) with mod_cgi and a ScriptAlias."""

    name = "apache"
    binary = "/usr/sbin/apache2"
    user = "www-data"
    modules = "/usr/lib/apache2/modules"
    stop_signal = signal.SIGTERM

    def command(self):
        conf = self.path("httpd.conf")
        with open(conf, "w") as f:
            f.write("""
ServerRoot "%(dir)s"
ServerName localhost
Listen 127.0.0.1:%(port)d
PidFile "%(dir)s/httpd.pid"
DefaultRuntimeDir "%(dir)s"
Mutex file:%(dir)s default
ErrorLog "%(dir)s/error.log"
LogLevel warn
User www-data
Group www-data
LoadModule mpm_prefork_module %(mods)s/mod_mpm_prefork.so
LoadModule authz_core_module %(mods)s/mod_authz_core.so
LoadModule alias_module %(mods)s/mod_alias.so
LoadModule cgi_module %(mods)s/mod_cgi.so
StartServers 2
MinSpareServers 1
MaxSpareServers 4
Timeout 60
DocumentRoot "%(www)s"
ScriptAlias /cgi-bin/ "%(cgi)s/"
<Directory "%(cgi)s">
    Require all granted
</Directory>
""" % {"dir": self.dir, "port": self.port, "mods": self.modules,
                "www": self.docroot, "cgi": self.cgi_bin})
        return [self.binary, "-f", conf, "-DFOREGROUND"]


class Busybox(CGIServer):
    """busybox httpd: runs whatever is in /cgi-bin/ under its home."""

    name = "busybox"
    binary = shutil.which("busybox") or "/bin/busybox"

    def __init__(self):
        super().__init__()
        os.rmdir(self.cgi_bin)
        self.cgi_bin = os.path.join(self.docroot, "cgi-bin")
        os.makedirs(self.cgi_bin)

    def command(self):
        return [self.binary, "httpd", "-f", "-p",
                "127.0.0.1:%d" % self.port, "-h", self.docroot]


SERVERS = (Lighttpd, Apache, Busybox)
