#!/usr/bin/env python3
"""Real CGI programs, configured as README's "Running existing CGI
programs" shows: git http-backend (cgi = FILE, stream = on) for git push
and git clone of a small repository, with a file large enough that request
and response bodies exceed the pipe buffers; and cgit browsing it.
"""
import os
import shutil
import subprocess
import urllib.error
import urllib.request

from warmtest import Cluster, Skip, eq, free_port, main, ok

BACKEND = "/usr/lib/git-core/git-http-backend"
CGIT = "/usr/lib/cgit/cgit.cgi"

INI = """
[app]
workers = 2
request_timeout = 120s

[env_variables]
GIT_PROJECT_ROOT = {dir}/repos
GIT_HTTP_EXPORT_ALL = 1
CGIT_CONFIG = {dir}/cgitrc

[handler git]
url = /git/
cgi = %s
stream = on
max_request_size = 100M
""" % BACKEND

CGIT_INI = """
[handler cgit-static]
url = /cgit-static/
static_dir = /usr/share/cgit/

[handler cgit]
url = /cgit/
cgi = %s
""" % CGIT

CGITRC = """
virtual-root=/cgit/
css=/cgit-static/cgit.css
logo=/cgit-static/cgit.png
cache-size=0
repo.url=project
repo.path=%s
repo.desc=a test repository
"""

# As in README: pushes (both the ref advertisement and the pack) need a
# user, which nginx checks and passes on as REMOTE_USER.
SERVER = """
    map $request_uri $git_auth {
        ~git-receive-pack  "git push";
        default            off;
    }
    server {
        listen 127.0.0.1:%(port)d;
        server_name localhost;
        client_max_body_size 100m;
        location /git/ {
            auth_basic $git_auth;
            auth_basic_user_file %(htpasswd)s;
            include %(params)s;
            fastcgi_param REQUEST_START $msec;
            fastcgi_param HTTP_PROXY "";
            fastcgi_read_timeout 120s;
            fastcgi_pass unix:%(sock)s;
        }
    }
"""


class Ctx:
    pass


def setup():
    x = Ctx()
    x.missing = not (shutil.which("git") and os.access(BACKEND, os.X_OK))
    if x.missing:
        return x
    x.port = free_port()
    x.cgit = os.access(CGIT, os.X_OK)
    x.c = Cluster(INI + (CGIT_INI if x.cgit else ""), "git")
    x.c.nginx_extra = SERVER % {"port": x.port,
                                "params": "/etc/nginx/fastcgi_params",
                                "sock": x.c.sock,
                                "htpasswd": x.c.path("htpasswd")}
    with open(x.c.path("htpasswd"), "w") as f:
        f.write("alice:{PLAIN}s3cret\n")
    home = x.c.path("home")
    os.makedirs(home)
    x.env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
             "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@example.com", "LC_ALL": "C"}
    x.bare = x.c.path("repos", "project.git")
    os.makedirs(x.bare)
    with open(x.c.path("cgitrc"), "w") as f:
        f.write(CGITRC % x.bare)
    x.url = "http://127.0.0.1:%d/git/project.git" % x.port
    x.push_url = "http://alice:s3cret@127.0.0.1:%d/git/project.git" % x.port
    x.c.start()
    return x


def git(x, args, cwd=None):
    if x.missing:
        raise Skip("git is not installed (scripts/deps.sh installs it)")
    p = subprocess.run(["git"] + args, cwd=cwd, env=x.env, timeout=120,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args),
                                             p.stdout.decode()))
    return p.stdout.decode()


def teardown(x):
    if not x.missing:
        x.c.stop()


def test_push_to_empty_repository(x):
    git(x, ["init", "-q", "--bare", x.bare])
    work = x.c.path("work")
    git(x, ["init", "-q", work])
    with open(os.path.join(work, "README"), "w") as f:
        f.write("hello through warmcgi\n")
    with open(os.path.join(work, "blob.bin"), "wb") as f:
        f.write(os.urandom(3 << 20))     # incompressible: a 3 MiB pack
    git(x, ["add", "README", "blob.bin"], cwd=work)
    git(x, ["commit", "-q", "-m", "first"], cwd=work)
    p = subprocess.run(["git", "push", "-q", x.url, "HEAD:refs/heads/main"],
                       cwd=work, env=x.env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    ok(p.returncode != 0, "an anonymous push is refused: %r" % p.stdout)
    for service, status in (("git-receive-pack", 401),
                            ("git-upload-pack", 200)):
        try:
            code = urllib.request.build_opener(
                urllib.request.ProxyHandler({})).open(
                "%s/info/refs?service=%s" % (x.url, service)).status
        except urllib.error.HTTPError as e:
            code = e.code
        eq(code, status, service)
    git(x, ["push", "-q", x.push_url, "HEAD:refs/heads/main"], cwd=work)
    eq(git(x, ["--git-dir", x.bare, "rev-parse", "refs/heads/main"]),
       git(x, ["rev-parse", "HEAD"], cwd=work))
    recs = x.c.wait_access(lambda r: r["path"].endswith("git-receive-pack")
                           and r["method"] == "POST")
    eq(recs[0]["status"], 200)


def test_clone_and_push_back(x):
    clone = x.c.path("clone")
    git(x, ["clone", "-q", "-b", "main", x.url, clone])
    with open(os.path.join(clone, "README")) as f:
        eq(f.read(), "hello through warmcgi\n")
    with open(os.path.join(x.c.path("work"), "blob.bin"), "rb") as a, \
            open(os.path.join(clone, "blob.bin"), "rb") as b:
        ok(a.read() == b.read(), "blob intact")
    git(x, ["fsck", "--no-progress"], cwd=clone)
    with open(os.path.join(clone, "second"), "w") as f:
        f.write("second commit\n")
    git(x, ["add", "second"], cwd=clone)
    git(x, ["commit", "-q", "-m", "second"], cwd=clone)
    git(x, ["push", "-q", x.push_url, "main"], cwd=clone)
    eq(git(x, ["--git-dir", x.bare, "log", "--format=%s", "main"]),
       "second\nfirst\n")
    out = git(x, ["ls-remote", x.url])
    ok("refs/heads/main" in out, out)


def test_unknown_repository_is_404(x):
    git(x, ["--version"])
    p = subprocess.run(["git", "ls-remote", x.url.replace("project",
                                                          "missing")],
                       env=x.env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    ok(p.returncode != 0, "ls-remote of a missing repository failed")
    recs = x.c.wait_access(lambda r: "missing.git" in r["path"])
    eq(recs[0]["status"], 404)


def test_cgit_browses_the_repository(x):
    if not x.cgit:
        raise Skip("cgit is not installed (scripts/deps.sh installs it)")
    r = x.c.get("/cgit/")
    eq(r.status, 200)
    ok("a test repository" in r.text, r.text[:500])
    r = x.c.get("/cgit/project/log/")
    eq(r.status, 200)
    ok("second" in r.text and "first" in r.text, "log lists both commits")
    r = x.c.get("/cgit/project/plain/README")
    eq(r.status, 200)
    eq(r.body, b"hello through warmcgi\n")
    r = x.c.get("/cgit-static/cgit.css")
    eq(r.status, 200)
    eq(x.c.get("/cgit/nothing/").status, 404)


if __name__ == "__main__":
    main(setup=setup, teardown=teardown)
