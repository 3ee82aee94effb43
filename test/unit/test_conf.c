/* test_conf.c: value parsers and config validation with FILE:LINE. */
#include <sys/stat.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

static void
sizes(void)
{
	long long	 v;

	ASSERT(conf_parse_size("512", &v) == NULL);
	ASSERT_EQ(v, 512);
	ASSERT(conf_parse_size("8K", &v) == NULL);
	ASSERT_EQ(v, 8192);
	ASSERT(conf_parse_size("32M", &v) == NULL);
	ASSERT_EQ(v, 32LL << 20);
	ASSERT(conf_parse_size("1g", &v) == NULL);
	ASSERT_EQ(v, 1LL << 30);
	ASSERT(conf_parse_size("2MB", &v) == NULL);
	ASSERT_EQ(v, 2LL << 20);
	ASSERT(conf_parse_size("", &v) != NULL);
	ASSERT(conf_parse_size("-1", &v) != NULL);
	ASSERT(conf_parse_size("1T", &v) != NULL);
	ASSERT(conf_parse_size("12 K", &v) != NULL);
	ASSERT(conf_parse_size("99999999999999999999", &v) != NULL);
	ASSERT(conf_parse_size("9223372036854775807G", &v) != NULL);
}

static void
durations(void)
{
	long long	 v;

	ASSERT(conf_parse_duration_ms("500ms", &v) == NULL);
	ASSERT_EQ(v, 500);
	ASSERT(conf_parse_duration_ms("60s", &v) == NULL);
	ASSERT_EQ(v, 60000);
	ASSERT(conf_parse_duration_ms("10m", &v) == NULL);
	ASSERT_EQ(v, 600000);
	ASSERT(conf_parse_duration_ms("1h30m", &v) == NULL);
	ASSERT_EQ(v, 5400000);
	ASSERT(conf_parse_duration_ms("4d 5h", &v) == NULL);
	ASSERT_EQ(v, 4 * 86400000LL + 5 * 3600000LL);
	ASSERT(conf_parse_duration_ms("7", &v) == NULL);
	ASSERT_EQ(v, 7000);
	ASSERT(conf_parse_duration_ms("7 s", &v) != NULL);
	ASSERT(conf_parse_duration_ms("5x", &v) != NULL);
	ASSERT(conf_parse_duration_ms("", &v) != NULL);
	ASSERT(conf_parse_duration_ms("1s5", &v) != NULL);
	ASSERT(conf_parse_duration_ms("5msec", &v) != NULL);
}

static void
bools(void)
{
	long long	 v;

	ASSERT(conf_parse_bool("on", &v) == NULL);
	ASSERT_EQ(v, 1);
	ASSERT(conf_parse_bool("No", &v) == NULL);
	ASSERT_EQ(v, 0);
	ASSERT(conf_parse_bool("maybe", &v) != NULL);
}

static char	 dir[] = "/tmp/test_conf.XXXXXX";

static struct conf *
load(const char *text, struct buf *errors)
{
	struct conf	*c = NULL;

	buf_reset(errors);
	conf_load_string("t.ini", dir, text, &c, errors);
	return c;
}

static void
defaults_and_merge(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("[app]\nworkers = 3\nrequest_timeout = 2s\n"
	    "max_request_size = 1M\n"
	    "[env_variables]\nFOO = bar baz\n"
	    "[handler a]\nurl = /a\nmodule = m.so\ntimeout = 5s\n"
	    "[handler s]\nurl = /s/\nstatic_dir = .\n", &e);
	ASSERT(c != NULL);
	ASSERT_EQ(c->workers, 3);
	ASSERT_STR(c->version, "1");
	ASSERT_EQ(c->limits.deadline_grace_ms, 500);
	ASSERT_EQ(c->limits.expiration_s, 600);
	ASSERT_EQ(c->nhandlers, 2);
	ASSERT_EQ(c->handlers[0].limits.request_timeout_ms, 5000);
	ASSERT_EQ(c->handlers[0].limits.max_request_bytes, 1 << 20);
	ASSERT_EQ(c->handlers[1].limits.request_timeout_ms, 2000);
	ASSERT_EQ(c->handlers[1].prefix, 1);
	ASSERT_EQ(c->nenv, 1);
	ASSERT_STR(c->env[0].pair, "FOO=bar baz");
	ASSERT(c->listen[0] == '/');
	conf_free(c);
	buf_free(&e);
}

static void
every_error_with_line(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("[app]\n"			/* 1 */
	    "workers = lots\n"			/* 2 */
	    "bogus = 1\n"			/* 3 */
	    "request_timeout = 5 parsecs\n"	/* 4 */
	    "[handler a]\n"			/* 5 */
	    "url = /a\n"			/* 6 */
	    "module = missing.so\n"		/* 7 */
	    "[handler a]\n"			/* 8 */
	    "url = /b\n"			/* 9 */
	    "[handler c]\n"			/* 10 */
	    "module = m.so\n"			/* 11 */
	    "just a line\n"			/* 12 */
	    "[weird]\n"				/* 13 */
	    "workers = 2\n", &e);		/* 14 */
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:2: workers = lots") != NULL);
	ASSERT(strstr(e.data, "t.ini:3: unknown key \"bogus\"") != NULL);
	ASSERT(strstr(e.data, "t.ini:4: request_timeout") != NULL);
	ASSERT(strstr(e.data, "t.ini:7: ") != NULL);
	ASSERT(strstr(e.data, "missing.so") != NULL);
	ASSERT(strstr(e.data, "t.ini:8: duplicate handler name \"a\"") !=
	    NULL);
	ASSERT(strstr(e.data, "t.ini:10: handler c: missing url") != NULL);
	ASSERT(strstr(e.data, "t.ini:12: expected NAME = VALUE") != NULL);
	ASSERT(strstr(e.data, "t.ini:13: unknown section [weird]") != NULL);
	buf_free(&e);
}

static void
more_errors(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("[app]\nworkers = 2\nworkers = 3\nversion = V.1\n"
	    "max_header_size = 1\n"
	    "[handler x]\nurl = x\nmodule = m.so\ndir = .\n"
	    "[handler y]\nurl = /y\ndir = .\n", &e);
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:3: duplicate key \"workers\"") != NULL);
	ASSERT(strstr(e.data, "t.ini:4: version") != NULL);
	ASSERT(strstr(e.data, "t.ini:5: max_header_size = 1: out of range")
	    != NULL);
	ASSERT(strstr(e.data, "t.ini:9: dir: a handler takes one of") !=
	    NULL);
	ASSERT(strstr(e.data, "must start with '/'") != NULL);
	ASSERT(strstr(e.data, "url = /y must end with '/'") != NULL);
	buf_free(&e);
}

static void
expirations(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("[app]\ndefault_expiration = 1d 2h\n"
	    "[handler a]\nurl = /a/\nstatic_dir = .\nexpiration = 4d 5h 6m\n"
	    "[handler b]\nurl = /b/\nstatic_dir = .\nexpiration = 0\n"
	    "[handler c]\nurl = /c/\nstatic_dir = .\nexpiration = 90\n"
	    "[handler d]\nurl = /d/\nstatic_dir = .\n", &e);
	ASSERT(c != NULL);
	ASSERT_EQ(c->limits.expiration_s, 93600);
	ASSERT_EQ(c->handlers[0].limits.expiration_s, 4 * 86400 + 5 * 3600 +
	    360);
	ASSERT_EQ(c->handlers[1].limits.expiration_s, 0);
	ASSERT_EQ(c->handlers[2].limits.expiration_s, 90);
	ASSERT_EQ(c->handlers[3].limits.expiration_s, 93600);
	conf_free(c);
	c = load("[app]\ndefault_expiration = 1500ms\n"
	    "[handler a]\nurl = /a/\nstatic_dir = .\nexpiration = 11y\n"
	    "[handler b]\nurl = /b/\nstatic_dir = .\nexpiration = 3651d\n",
	    &e);
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:2: default_expiration = 1500ms: "
	    "expected whole seconds") != NULL);
	ASSERT(strstr(e.data, "t.ini:6: expiration = 11y") != NULL);
	ASSERT(strstr(e.data, "t.ini:10: expiration = 3651d: out of range")
	    != NULL);
	buf_free(&e);
}

static void
static_files_keys(void)
{
	struct buf	 e;
	struct conf	*c;
	const struct handler *h;

	buf_init(&e);
	c = load("[handler img]\nurl = /img/(.+)\\.(png|gif)\n"
	    "static_files = s/\\1_x.\\2\nupload = s/.+\\.(png|gif)\n"
	    "mime_type = image/x-test\n"
	    "http_header = X-Frame-Options: DENY\n"
	    "http_header = Content-Security-Policy:  default-src 'self' \n"
	    "secure = always\n"
	    "[handler fav]\nurl = /favicon.ico\nstatic_files = m.so\n"
	    "[handler m]\nurl = /m\nmodule = m.so\nsecure = never\n"
	    "http_header = Cache-Control: no-store\n", &e);
	ASSERT(c != NULL);
	if (c == NULL) {
		printf("# %s", e.data);
		return;
	}
	h = &c->handlers[0];
	ASSERT_EQ(h->kind, HANDLER_STATIC_FILES);
	ASSERT_STR(h->static_files, "s/\\1_x.\\2");
	ASSERT_EQ(h->files_root_len, 2);
	ASSERT(strcmp(h->target + strlen(h->target) - 2, "/s") == 0);
	ASSERT(h->url_re != NULL && h->upload_re != NULL);
	ASSERT_EQ(h->prefix, 0);
	ASSERT_STR(h->mime_type, "image/x-test");
	ASSERT_EQ(h->secure, SECURE_ALWAYS);
	ASSERT_EQ(h->nheaders, 2);
	ASSERT_STR(h->headers[0].name, "X-Frame-Options");
	ASSERT_STR(h->headers[0].value, "DENY");
	ASSERT_EQ(h->headers[0].value_len, 4);
	ASSERT_STR(h->headers[1].value, "default-src 'self'");
	ASSERT_EQ(h->headers[1].line, 7);
	h = &c->handlers[1];
	ASSERT_EQ(h->files_root_len, 0);
	ASSERT_STR(h->target, dir);
	ASSERT_EQ(h->secure, SECURE_OPTIONAL);
	h = &c->handlers[2];
	ASSERT_EQ(h->secure, SECURE_NEVER);
	ASSERT_STR(h->headers[0].name, "Cache-Control");
	conf_free(c);
	buf_free(&e);
}

static void
static_files_errors(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	/* Lines: a 1-3, b 4-6, c 7-9, d 10-12, e 13-15, f 16-20, g 21-30. */
	c = load("[handler a]\nurl = /a/(x\nstatic_files = s/\\1\n"
	    "[handler b]\nurl = /b/(x)\nstatic_files = s/\\2\n"
	    "[handler c]\nurl = /c/(x)\nstatic_files = s/\\x\n"
	    "[handler d]\nurl = /d\nstatic_files = s/\n"
	    "[handler e]\nurl = /e/(x)\nstatic_files = nodir/\\1\n"
	    "[handler f]\nurl = /f\nmodule = m.so\nupload = .*\n"
	    "mime_type = text/plain\n"
	    "[handler g]\nurl = /g/\nstatic_dir = .\n"
	    "http_header = Content-Type: text/plain\n"		/* 24 */
	    "http_header = Content-Length: 5\n"
	    "http_header = X-Ok\n"
	    "http_header = Bad Name: x\n"
	    "http_header = X-Empty:\n"
	    "secure = sometimes\n"
	    "mime_type = plain\n"					/* 30 */
	    "[handler h]\nurl = /h/(x)\nstatic_files = s/\\1\n"
	    "upload = s/(\n", &e);
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:1: handler a: url = /a/(x: missing "
	    "closing parenthesis") != NULL);
	ASSERT(strstr(e.data, "t.ini:6: static_files = s/\\2: \\2 but url "
	    "has 1 capture group(s)") != NULL);
	ASSERT(strstr(e.data, "t.ini:9: static_files = s/\\x: a backslash "
	    "takes a digit") != NULL);
	ASSERT(strstr(e.data, "t.ini:12: static_files = s/: expected a file "
	    "path") != NULL);
	ASSERT(strstr(e.data, "t.ini:15: ") != NULL &&
	    strstr(e.data, "/nodir: No such file or directory") != NULL);
	ASSERT(strstr(e.data, "t.ini:16: handler f: upload goes with "
	    "static_files") != NULL);
	ASSERT(strstr(e.data, "t.ini:16: handler f: mime_type applies to "
	    "static_dir and static_files handlers") != NULL);
	ASSERT(strstr(e.data, "t.ini:24: http_header Content-Type: not "
	    "allowed here (use mime_type)") != NULL);
	ASSERT(strstr(e.data, "t.ini:25: http_header Content-Length: not "
	    "allowed here") != NULL);
	ASSERT(strstr(e.data, "t.ini:26: http_header = X-Ok: expected "
	    "Name: value") != NULL);
	ASSERT(strstr(e.data, "t.ini:27: http_header = Bad Name: x: a field "
	    "name takes") != NULL);
	ASSERT(strstr(e.data, "t.ini:28: http_header = X-Empty:: the value "
	    "is empty") != NULL);
	ASSERT(strstr(e.data, "t.ini:29: secure = sometimes: expected one of "
	    "optional|always|never") != NULL);
	ASSERT(strstr(e.data, "t.ini:21: handler g: mime_type = plain: "
	    "expected type/subtype") != NULL);
	ASSERT(strstr(e.data, "t.ini:31: handler h: upload = s/(: missing "
	    "closing parenthesis") != NULL);
	/* A header name the static handler computes is fine elsewhere. */
	c = load("[handler m]\nurl = /m\nmodule = m.so\n"
	    "http_header = Content-Type: text/plain\n"
	    "http_header = ETag: \"x\"\n", &e);
	ASSERT(c != NULL);
	conf_free(c);
	buf_free(&e);
}

static void
long_lines_and_sections(void)
{
	struct buf	 e;
	struct conf	*c;
	char		 text[9000];

	buf_init(&e);
	snprintf(text, sizeof(text), "[app]\nhsts = %05000d\n[handler "
	    "a_really_long_handler_name_that_inih_would_truncate_x]\n"
	    "url = /z\nmodule = m.so\n", 0);
	c = load(text, &e);
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:2: line longer than") != NULL);
	buf_free(&e);
	buf_init(&e);
	c = load("[handler a_really_long_handler_name_that_inih_would_"
	    "truncate_x]\nurl = /z\nmodule = m.so\n", &e);
	ASSERT(c != NULL);
	ASSERT_STR(c->handlers[0].name, "a_really_long_handler_name_that_"
	    "inih_would_truncate_x");
	conf_free(c);
	buf_free(&e);
}

static void
operations(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("[app]\nworkers = 3\n[handler a]\nurl = /a\nmodule = m.so\n",
	    &e);
	ASSERT(c != NULL);
	ASSERT_EQ(c->dynamic, 0);
	ASSERT_EQ(c->workers_min, 3);
	ASSERT_EQ(c->workers_max, 3);
	ASSERT_EQ(c->rlimit_as, CONF_UNSET);
	ASSERT_EQ(c->uid, -1);
	ASSERT(c->status_path == NULL);
	ASSERT_EQ(c->nhandlers, 1);
	conf_free(c);
	c = load("[app]\nworkers_max = 8\nworker_idle_timeout = 2s\n"
	    "max_requests = 500\nmax_worker_memory = 256M\n"
	    "rlimit_core = unlimited\nrlimit_as = 1G\nrlimit_nofile = 4096\n"
	    "status_path = /status\nping_path = /ping\n"
	    "status_allow = 10.0.0.0/8, unix\n"
	    "[handler all]\nurl = /\nmodule = m.so\n", &e);
	ASSERT(c != NULL);
	ASSERT_EQ(c->dynamic, 1);
	ASSERT_EQ(c->workers_min, 1);
	ASSERT_EQ(c->workers_max, 8);
	ASSERT_EQ(c->worker_idle_timeout_ms, 2000);
	ASSERT_EQ(c->max_requests, 500);
	ASSERT_EQ(c->max_worker_bytes, 256LL << 20);
	ASSERT_EQ(c->rlimit_core, LLONG_MAX);
	ASSERT_EQ(c->rlimit_as, 1LL << 30);
	ASSERT_EQ(c->rlimit_nofile, 4096);
	/* Built-in handlers come first, so a prefix never hides them. */
	ASSERT_EQ(c->nhandlers, 3);
	ASSERT_EQ(c->handlers[0].kind, HANDLER_STATUS);
	ASSERT_STR(c->handlers[0].url, "/status");
	ASSERT_EQ(c->handlers[0].line, 9);
	ASSERT_EQ(c->handlers[1].kind, HANDLER_PING);
	ASSERT_STR(c->handlers[2].name, "all");
	ASSERT_EQ(c->handlers[2].index, 2);
	ASSERT_EQ(c->handlers[0].limits.request_timeout_ms, 60000);
	conf_free(c);
	c = load("[app]\n"				/* 1 */
	    "workers = 2\n"				/* 2 */
	    "workers_min = 4\n"			/* 3 */
	    "workers_max = 3\n"			/* 4 */
	    "status_path = status\n"			/* 5 */
	    "status_allow = 10.0.0.0/40\n"		/* 6 */
	    "listen_allow = nowhere\n"			/* 7 */
	    "rlimit_as = 1K\n"				/* 8 */
	    "ping_path = /p\n"				/* 9 */
	    "group = nogroup\n", &e);			/* 10 */
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:2: workers = 2 is a fixed pool") != NULL);
	ASSERT(strstr(e.data, "t.ini:3: workers_min = 4 is larger than "
	    "workers_max = 3") != NULL);
	ASSERT(strstr(e.data, "t.ini:5: status_path = status: expected a "
	    "path") != NULL);
	ASSERT(strstr(e.data, "t.ini:6: status_allow = 10.0.0.0/40: prefix "
	    "length too large") != NULL);
	ASSERT(strstr(e.data, "t.ini:7: listen_allow = nowhere:") != NULL);
	ASSERT(strstr(e.data, "t.ini:8: rlimit_as = 1K: out of range") != NULL);
	ASSERT(strstr(e.data, "t.ini:10: group = nogroup needs user") != NULL);
	c = load("[app]\nworkers_min = 2\nstatus_path = /s\nping_path = /s\n",
	    &e);
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:2: workers_min needs workers_max") !=
	    NULL);
	ASSERT(strstr(e.data, "t.ini:4: ping_path = /s: the same as "
	    "status_path") != NULL);
	buf_free(&e);
}

/* CGI mode: the config is the script; its first line names the host. */
static void
shebang_line(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("#!/usr/sbin/warmcgi -c\n[app]\nversion = 3\n"
	    "[handler h]\nurl = /h\nmodule = m.so\n", &e);
	ASSERT(c != NULL);
	ASSERT_STR(c->version, "3");
	ASSERT_EQ(c->handlers[0].line, 4);
	conf_free(c);
	buf_free(&e);
}

static void
cgi_file_and_stream(void)
{
	struct buf	 e;
	struct conf	*c;

	buf_init(&e);
	c = load("[handler git]\nurl = /git/\ncgi = prog\nstream = on\n"
	    "[handler one]\nurl = /one\ncgi = prog\n"
	    "[handler bin]\nurl = /cgi-bin/\ncgi = .\n", &e);
	ASSERT(c != NULL);
	ASSERT_EQ(c->handlers[0].kind, HANDLER_CGI);
	ASSERT_EQ(c->handlers[0].cgi_file, 1);
	ASSERT_EQ(c->handlers[0].stream, 1);
	ASSERT(strstr(c->handlers[0].target, "/prog") != NULL);
	ASSERT_EQ(c->handlers[1].cgi_file, 1);
	ASSERT_EQ(c->handlers[1].prefix, 0);
	ASSERT_EQ(c->handlers[2].cgi_file, 0);
	conf_free(c);
	c = load("[handler a]\nurl = /a/\ncgi = m.so\n"	/* 1-3 */
	    "[handler b]\nurl = /b\nmodule = m.so\nstream = on\n"
	    "[handler c]\nurl = /c/\ncgi = nothing\n", &e);	/* 8-10 */
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:3: ") != NULL);
	ASSERT(strstr(e.data, "m.so: not an executable file") != NULL);
	ASSERT(strstr(e.data, "t.ini:4: handler b: stream = on applies to "
	    "cgi and dir handlers only") != NULL);
	ASSERT(strstr(e.data, "t.ini:10: ") != NULL);
	buf_free(&e);
}

static void
servers(void)
{
	char	**list;
	size_t	 n;

	ASSERT(conf_parse_server("10.0.0.1:9000") == NULL);
	ASSERT(conf_parse_server("app-1.example.com:9000") == NULL);
	ASSERT(conf_parse_server("[fd00::1]:9000") == NULL);
	ASSERT(conf_parse_server("unix:/run/warmcgi.sock") == NULL);
	ASSERT(conf_parse_server("10.0.0.1") != NULL);
	ASSERT(conf_parse_server("10.0.0.1:0") != NULL);
	ASSERT(conf_parse_server("10.0.0.1:65536") != NULL);
	ASSERT(conf_parse_server(":9000") != NULL);
	ASSERT(strstr(conf_parse_server("fd00::1:9000"), "brackets") != NULL);
	ASSERT(conf_parse_server("[fd00::zz]:9000") != NULL);
	ASSERT(conf_parse_server("[fd00::1:9000") != NULL);
	ASSERT(conf_parse_server("a_b:9000") != NULL);
	ASSERT(conf_parse_server("unix:run/x.sock") != NULL);
	ASSERT(conf_parse_server("unix:/run/x;y") != NULL);
	ASSERT(conf_parse_servers("a:1, b:2\t[::1]:3 ", &list, &n) == NULL);
	ASSERT_EQ(n, 3);
	ASSERT_STR(list[0], "a:1");
	ASSERT_STR(list[1], "b:2");
	ASSERT_STR(list[2], "[::1]:3");
	conf_free_servers(list, n);
	ASSERT(conf_parse_servers(" , ", &list, &n) != NULL);
	ASSERT(strstr(conf_parse_servers("a:1 b a:1", &list, &n), "b: ") !=
	    NULL);
	ASSERT(strstr(conf_parse_servers("a:1 a:1", &list, &n),
	    "a:1: given twice") != NULL);
}

static void
pool_keys(void)
{
	struct buf	 e;
	struct conf	*c;
	char		 host[256], text[512];

	buf_init(&e);
	c = load("[app]\n", &e);
	ASSERT(c != NULL);
	ASSERT(gethostname(host, sizeof(host)) == 0);
	ASSERT_STR(c->host_name, host);
	ASSERT(c->pid_file == NULL);
	ASSERT_EQ(c->nupstreams, 0);
	ASSERT_EQ(c->upstream_max_fails, 1);
	ASSERT_EQ(c->upstream_fail_timeout_s, 10);
	ASSERT_EQ(c->upstream_connect_timeout_ms, 500);
	conf_free(c);
	c = load("[app]\nhost_name = web-2 (eu)\npid_file = w.pid\n"
	    "upstream_servers = 10.0.0.1:9000 10.0.0.2:9000\n"
	    "upstream_max_fails = 3\nupstream_fail_timeout = 30s\n"
	    "upstream_connect_timeout = 500ms\n", &e);
	ASSERT(c != NULL);
	ASSERT_STR(c->host_name, "web-2 (eu)");
	snprintf(text, sizeof(text), "%s/w.pid", dir);
	ASSERT_STR(c->pid_file, text);
	ASSERT_EQ(c->nupstreams, 2);
	ASSERT_STR(c->upstreams[1], "10.0.0.2:9000");
	ASSERT_EQ(c->upstream_max_fails, 3);
	ASSERT_EQ(c->upstream_fail_timeout_s, 30);
	ASSERT_EQ(c->upstream_connect_timeout_ms, 500);
	conf_free(c);
	c = load("[app]\n"				/* 1 */
	    "host_name =\n"				/* 2 */
	    "pid_file = /nonexistent/dir/w.pid\n"	/* 3 */
	    "upstream_servers = 10.0.0.1:9000 10.0.0.2\n"	/* 4 */
	    "upstream_connect_timeout = 76s\n"		/* 5 */
	    "upstream_fail_timeout = 10ms\n", &e);	/* 6 */
	ASSERT(c == NULL);
	ASSERT(strstr(e.data, "t.ini:2: host_name: must not be empty") !=
	    NULL);
	ASSERT(strstr(e.data, "t.ini:3: pid_file: directory /nonexistent/dir "
	    "does not exist") != NULL);
	ASSERT(strstr(e.data, "t.ini:4: upstream_servers: 10.0.0.2: expected "
	    "HOST:PORT") != NULL);
	ASSERT(strstr(e.data, "t.ini:5: upstream_connect_timeout = 76s: out "
	    "of range") != NULL);
	ASSERT(strstr(e.data, "t.ini:6: upstream_fail_timeout = 10ms: "
	    "expected whole seconds") != NULL);
	buf_free(&e);
}

int
main(void)
{
	char	 path[64], prog[64];
	FILE	*fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/m.so", dir);
	if ((fp = fopen(path, "w")) != NULL)
		fclose(fp);
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	if ((fp = fopen(prog, "w")) != NULL)
		fclose(fp);
	chmod(prog, 0755);
	RUN(sizes);
	RUN(durations);
	RUN(bools);
	RUN(defaults_and_merge);
	RUN(every_error_with_line);
	RUN(more_errors);
	RUN(long_lines_and_sections);
	RUN(expirations);
	snprintf(path, sizeof(path), "%s/s", dir);
	mkdir(path, 0755);
	RUN(static_files_keys);
	RUN(static_files_errors);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/m.so", dir);
	RUN(operations);
	RUN(shebang_line);
	RUN(cgi_file_and_stream);
	RUN(servers);
	RUN(pool_keys);
	unlink(path);
	unlink(prog);
	rmdir(dir);
	return unit_done();
}
