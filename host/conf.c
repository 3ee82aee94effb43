/*
 * conf.c: reads warmcgi.ini with inih into a struct conf. One table, opts[],
 * declares every key: where it may appear, how its value is parsed, where it
 * is stored, its range and default. Parsing collects every problem as
 * "FILE:LINE: problem" instead of stopping at the first; conf_load() fails
 * if there was any. Called by main.c at start and for -t, and by master.c on
 * SIGHUP. The value parsers at the top are pure and unit-tested.
 */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <grp.h>
#include <pwd.h>

#include "acl.h"
#include "conf.h"

/*
 * Parses a decimal number at *sp into *out and advances *sp. Returns 0, or
 * -1 when there is no digit or the value overflows.
 */
static int
parse_digits(const char **sp, long long *out)
{
	const char	*s = *sp;
	long long	 v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

/*
 * Parses a size: a number of bytes with an optional K, M or G suffix
 * (powers of 1024). Returns NULL and sets *out, or an error message.
 */
const char *
conf_parse_size(const char *s, long long *out)
{
	long long	 v, mul = 1;

	if (parse_digits(&s, &v) == -1)
		return "expected a size such as 512, 8K, 32M or 1G";
	switch (*s) {
	case 'k': case 'K': mul = 1LL << 10; s++; break;
	case 'm': case 'M': mul = 1LL << 20; s++; break;
	case 'g': case 'G': mul = 1LL << 30; s++; break;
	}
	if (*s == 'b' || *s == 'B')
		s++;
	if (*s != '\0')
		return "expected a size such as 512, 8K, 32M or 1G";
	if (v > LLONG_MAX / mul)
		return "size too large";
	*out = v * mul;
	return NULL;
}

/*
 * Parses a duration into milliseconds: one or more number-unit pairs with
 * units ms, s, m, h, d ("500ms", "60s", "1h30m", "4d 5h"); a bare number is
 * seconds. Returns NULL and sets *out, or an error message.
 */
const char *
conf_parse_duration_ms(const char *s, long long *out)
{
	static const struct {
		const char	*unit;
		long long	 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char	*bad = "expected a duration such as 500ms, 60s, 10m, "
			    "1h or 1d";
	long long	 total = 0, v, mul;
	size_t		 i, n;
	int		 pairs = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		if (parse_digits(&s, &v) == -1)
			return bad;
		mul = -1;
		if (*s == '\0' && pairs == 0)
			mul = 1000;
		for (i = 0; mul == -1 && i < sizeof(units) / sizeof(units[0]);
		    i++) {
			n = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, n) == 0 &&
			    !isalpha((unsigned char)s[n])) {
				mul = units[i].ms;
				s += n;
			}
		}
		if (mul == -1)
			return bad;
		if (v > (LLONG_MAX - total) / mul)
			return "duration too long";
		total += v * mul;
		pairs++;
	}
	if (pairs == 0)
		return bad;
	*out = total;
	return NULL;
}

/*
 * Parses on/off, yes/no, true/false, 1/0. Returns NULL and sets *out to 0
 * or 1, or an error message.
 */
const char *
conf_parse_bool(const char *s, long long *out)
{
	static const char *yes[] = { "on", "yes", "true", "1" };
	static const char *no[] = { "off", "no", "false", "0" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return NULL;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return NULL;
		}
	}
	return "expected on or off";
}

/*
 * Parses a non-negative decimal integer. Returns NULL and sets *out, or an
 * error message.
 */
const char *
conf_parse_int(const char *s, long long *out)
{
	if (parse_digits(&s, out) == -1 || *s != '\0')
		return "expected a whole number";
	return NULL;
}

/* RFC 9110 5.6.2: the characters of a token (a field name). */
static int
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Parses an `http_header` value, "Name: value", into out (name and value
 * malloc'ed; the caller frees them). The name must be a token, the value
 * must not be empty and holds no control character. Returns NULL, or an
 * error message (out is then untouched).
 */
const char *
conf_parse_header(const char *s, struct conf_header *out)
{
	const char	*colon = strchr(s, ':'), *v, *p;
	size_t		 n, vl;

	if (colon == NULL || colon == s)
		return "expected Name: value";
	for (p = s; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return "a field name takes letters, digits and "
			    "!#$%&'*+-.^_`|~";
	n = (size_t)(colon - s);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (vl == 0)
		return "the value is empty";
	for (p = v; p < v + vl; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return "control character in the value";
	if ((out->name = strndup(s, n)) == NULL)
		return "out of memory";
	if ((out->value = strndup(v, vl)) == NULL) {
		free(out->name);
		return "out of memory";
	}
	out->name_len = n;
	out->value_len = vl;
	return NULL;
}

/*
 * Checks one address of a FastCGI server as nginx's upstream takes it:
 * HOST:PORT (an IPv4 address or a DNS name), [IPV6]:PORT, or
 * unix:/absolute/path. Returns NULL, or an error message.
 */
const char *
conf_parse_server(const char *s)
{
	char		 host[256], a6[16];
	const char	*colon, *p;
	long long	 port;
	size_t		 n;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/')
			return "unix: takes an absolute path";
		if (strlen(s + 5) >= 108)
			return "unix socket path longer than 107 bytes";
		for (p = s + 5; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' ||
			    strchr(";{}\"'", *p) != NULL)
				return "unix: path holds a space or one of "
				    ";{}\"'";
		return NULL;
	}
	if ((colon = strrchr(s, ':')) == NULL || colon == s ||
	    conf_parse_int(colon + 1, &port) != NULL || port < 1 ||
	    port > 65535)
		return "expected HOST:PORT, [IPV6]:PORT or unix:/path";
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return "host name too long";
	memcpy(host, s, n);
	host[n] = '\0';
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']')
			return "expected [IPV6]:PORT";
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, a6) != 1)
			return "not an IPv6 address";
		return NULL;
	}
	if (strchr(host, ':') != NULL)
		return "an IPv6 address goes in brackets: [IPV6]:PORT";
	for (p = host; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return "a host is an IPv4 address or a DNS name";
	return NULL;
}

/*
 * Frees a list of n strings, as conf_parse_servers() makes them.
 */
void
conf_free_servers(char **list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * Parses a list of FastCGI servers (upstream_servers) separated by spaces
 * or commas, each as conf_parse_server() takes it, none twice. Returns
 * NULL and sets *out to a malloc'ed array of n malloc'ed strings (release
 * with conf_free_servers()), or an error message (nothing to free).
 */
const char *
conf_parse_servers(const char *text, char ***out, size_t *n)
{
	static char	 msg[400];
	char		**list = NULL, **l, *one;
	const char	*err, *s = text;
	size_t		 len, i, count = 0;

	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		if ((one = strndup(s, len)) == NULL ||
		    (l = reallocarray(list, count + 1, sizeof(*l))) == NULL) {
			free(one);
			conf_free_servers(list, count);
			return "out of memory";
		}
		list = l;
		list[count++] = one;
		s += len;
		err = conf_parse_server(one);
		for (i = 0; err == NULL && i + 1 < count; i++)
			if (strcmp(list[i], one) == 0)
				err = "given twice";
		if (err != NULL) {
			snprintf(msg, sizeof(msg), "%.200s: %s", one, err);
			conf_free_servers(list, count);
			return msg;
		}
	}
	if (count == 0)
		return "expected one or more HOST:PORT";
	*out = list;
	*n = count;
	return NULL;
}

/*
 * Returns 1 for a handler that serves files itself (static_dir or
 * static_files).
 */
int
conf_is_static(const struct handler *h)
{
	return h->kind == HANDLER_STATIC || h->kind == HANDLER_STATIC_FILES;
}

enum opt_type {
	OPT_SIZE,
	OPT_DURATION,
	OPT_SECONDS,
	OPT_BOOL,
	OPT_INT,
	OPT_OCTAL,
	OPT_RLIMIT,		/* a size, or "unlimited" */
	OPT_CHOICE,		/* a word of sdef ("a|b|c"): its index */
	OPT_HEADER,		/* repeatable "Name: value" */
	OPT_STRING,
	OPT_VERSION,
	OPT_LOG,
	OPT_PATH,		/* a file path, made absolute */
	OPT_LISTEN,
	OPT_URL,
	OPT_TARGET
};

enum opt_base {
	BASE_CONF,		/* field of struct conf */
	BASE_LIMITS,		/* field of struct limits, app or handler */
	BASE_HANDLER		/* field of struct handler */
};

struct opt {
	const char	*app_name;	/* key in [app], or NULL */
	const char	*handler_name;	/* key in [handler], or NULL */
	enum opt_type	 type;
	enum opt_base	 base;
	size_t		 off;
	long long	 min, max;	/* range of numbers */
	long long	 def;		/* default number, or handler kind */
	const char	*sdef;		/* default string */
};

#define C(f)	BASE_CONF, offsetof(struct conf, f)
#define L(f)	BASE_LIMITS, offsetof(struct limits, f)
#define H(f)	BASE_HANDLER, offsetof(struct handler, f)
#define MAXLL	LLONG_MAX

static const struct opt opts[] = {
	{ "version", NULL, OPT_VERSION, C(version), 0, 0, 0, "1" },
	{ "auth_domain", NULL, OPT_STRING, C(auth_domain), 0, 0, 0, "" },
	{ "listen", NULL, OPT_LISTEN, C(listen), 0, 0, 0, "warmcgi.sock" },
	{ "listen_mode", NULL, OPT_OCTAL, C(listen_mode), 0, 0777, 0660, NULL },
	{ "listen_group", NULL, OPT_STRING, C(listen_group), 0, 0, 0, NULL },
	{ "listen_backlog", NULL, OPT_INT, C(listen_backlog), 1, 65535, 511,
	    NULL },
	{ "listen_owner", NULL, OPT_STRING, C(listen_owner), 0, 0, 0, NULL },
	{ "listen_allow", NULL, OPT_STRING, C(listen_allow_text), 0, 0, 0,
	    "127.0.0.0/8 ::1" },
	{ "workers", NULL, OPT_INT, C(workers), 1, 1024, 4, NULL },
	{ "workers_min", NULL, OPT_INT, C(workers_min), 1, 1024, 1, NULL },
	{ "workers_max", NULL, OPT_INT, C(workers_max), 1, 1024, 4, NULL },
	{ "worker_idle_timeout", NULL, OPT_DURATION,
	    C(worker_idle_timeout_ms), 100, 86400000, 10000, NULL },
	{ "max_requests", NULL, OPT_INT, C(max_requests), 0, 1LL << 40, 0,
	    NULL },
	{ "max_worker_memory", NULL, OPT_SIZE, C(max_worker_bytes), 0,
	    1LL << 40, 0, NULL },
	{ "emergency_restart_threshold", NULL, OPT_INT,
	    C(emergency_threshold), 0, 1000000, 0, NULL },
	{ "emergency_restart_interval", NULL, OPT_DURATION,
	    C(emergency_interval_ms), 100, 86400000, 60000, NULL },
	{ "status_path", NULL, OPT_STRING, C(status_path), 0, 0, 0, NULL },
	{ "status_allow", NULL, OPT_STRING, C(status_allow_text), 0, 0, 0,
	    "127.0.0.0/8 ::1 unix" },
	{ "ping_path", NULL, OPT_STRING, C(ping_path), 0, 0, 0, NULL },
	{ "user", NULL, OPT_STRING, C(user), 0, 0, 0, NULL },
	{ "group", NULL, OPT_STRING, C(group), 0, 0, 0, NULL },
	{ "allow_root", NULL, OPT_BOOL, C(allow_root), 0, 1, 0, NULL },
	{ "rlimit_nofile", NULL, OPT_INT, C(rlimit_nofile), 16, 1LL << 30,
	    CONF_UNSET, NULL },
	{ "rlimit_core", NULL, OPT_RLIMIT, C(rlimit_core), 0, MAXLL,
	    CONF_UNSET, NULL },
	{ "rlimit_as", NULL, OPT_RLIMIT, C(rlimit_as), 16LL << 20, MAXLL,
	    CONF_UNSET, NULL },
	{ "preload", NULL, OPT_BOOL, C(preload), 0, 1, 0, NULL },
	{ "io_timeout", NULL, OPT_DURATION, C(io_timeout_ms), 100, 3600000,
	    10000, NULL },
	{ "hsts", NULL, OPT_STRING, C(hsts), 0, 0, 0, "" },
	{ "compress_level", NULL, OPT_INT, C(compress_level), 1, 9, 1, NULL },
	{ "host_name", NULL, OPT_STRING, C(host_name), 0, 0, 0, NULL },
	{ "pid_file", NULL, OPT_PATH, C(pid_file), 0, 0, 0, NULL },
	{ "upstream_servers", NULL, OPT_STRING, C(upstream_text), 0, 0, 0,
	    NULL },
	{ "upstream_max_fails", NULL, OPT_INT, C(upstream_max_fails), 0, 1000,
	    1, NULL },
	{ "upstream_fail_timeout", NULL, OPT_SECONDS,
	    C(upstream_fail_timeout_s), 1, 86400, 10, NULL },
	{ "upstream_connect_timeout", NULL, OPT_DURATION,
	    C(upstream_connect_timeout_ms), 1, 75000, 500, NULL },
	{ "log", NULL, OPT_LOG, C(log), 0, 0, 0, "-" },
	{ "access_log", NULL, OPT_LOG, C(access_log), 0, 0, 0, "-" },
	{ "request_timeout", "timeout", OPT_DURATION, L(request_timeout_ms),
	    1, 86400000, 60000, NULL },
	{ "deadline_grace", "deadline_grace", OPT_DURATION,
	    L(deadline_grace_ms), 0, 3600000, 500, NULL },
	{ "pending_timeout", "pending_timeout", OPT_DURATION,
	    L(pending_timeout_ms), 0, 86400000, 10000, NULL },
	{ "max_request_size", "max_request_size", OPT_SIZE,
	    L(max_request_bytes), 0, 1LL << 40, 32LL << 20, NULL },
	{ "max_response_size", "max_response_size", OPT_SIZE,
	    L(max_response_bytes), 0, 1LL << 40, 32LL << 20, NULL },
	{ "max_header_size", "max_header_size", OPT_SIZE,
	    L(max_header_bytes), 16, 1LL << 20, 8LL << 10, NULL },
	{ "max_response_header_size", "max_response_header_size", OPT_SIZE,
	    L(max_response_header_bytes), 64, 1LL << 20, 8LL << 10, NULL },
	{ "compress", "compress", OPT_BOOL, L(compress), 0, 1, 1, NULL },
	{ "compress_min_size", "compress_min_size", OPT_SIZE,
	    L(compress_min_bytes), 0, 1LL << 30, 256, NULL },
	{ "default_expiration", "expiration", OPT_SECONDS, L(expiration_s),
	    0, 3650LL * 86400, 600, NULL },
	{ "slowlog_timeout", "slowlog_timeout", OPT_DURATION,
	    L(slowlog_timeout_ms), 0, 86400000, 0, NULL },
	{ NULL, "url", OPT_URL, H(url), 0, 0, 0, NULL },
	{ NULL, "module", OPT_TARGET, H(target), 0, 0, HANDLER_MODULE, NULL },
	{ NULL, "dir", OPT_TARGET, H(target), 0, 0, HANDLER_DIR, NULL },
	{ NULL, "cgi", OPT_TARGET, H(target), 0, 0, HANDLER_CGI, NULL },
	{ NULL, "static_dir", OPT_TARGET, H(target), 0, 0, HANDLER_STATIC,
	    NULL },
	{ NULL, "static_files", OPT_TARGET, H(target), 0, 0,
	    HANDLER_STATIC_FILES, NULL },
	{ NULL, "upload", OPT_STRING, H(upload), 0, 0, 0, NULL },
	{ NULL, "mime_type", OPT_STRING, H(mime_type), 0, 0, 0, NULL },
	{ NULL, "http_header", OPT_HEADER, H(headers), 0, 0, 0, NULL },
	{ NULL, "secure", OPT_CHOICE, H(secure), 0, 2, SECURE_OPTIONAL,
	    "optional|always|never" },
	{ NULL, "stream", OPT_BOOL, H(stream), 0, 1, 0, NULL },
};

#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

enum section {
	SECTION_NONE,		/* before the first header */
	SECTION_APP,
	SECTION_ENV,
	SECTION_HANDLER,
	SECTION_BAD		/* unknown; its keys are not checked */
};

/* The parser's state, shared by the line reader and the inih callback. */
struct parse {
	struct conf	*c;
	struct buf	*errors;	/* "FILE:LINE: problem\n" lines */
	int		 nerrors;
	const char	*text;		/* remaining input */
	int		 line;		/* number of the line inih has */
	enum section	 section;
	struct handler	*h;		/* current [handler], or NULL */
	unsigned char	 seen_app[NOPTS];	/* key already given */
	int		 app_line[NOPTS];	/* where it was given */
	unsigned char	*seen_h;	/* per handler: NOPTS flags */
};

static void perr(struct parse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parse *p, int line, const char *fmt, ...)
{
	va_list	 ap;

	buf_printf(p->errors, "%s:%d: ", p->c->file, line);
	va_start(ap, fmt);
	buf_vprintf(p->errors, fmt, ap);
	va_end(ap);
	buf_putc(p->errors, '\n');
	p->nerrors++;
}

/*
 * Returns an absolute, malloc'ed path for a path from the config: relative
 * paths are taken from the directory of the config file.
 */
static char *
abs_path(const struct conf *c, const char *path)
{
	char	*s;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&s, "%s/%s", c->dir, path) == -1)
		return NULL;
	return s;
}

static void
begin_section(struct parse *p, const char *name, size_t len)
{
	struct handler	*h;
	unsigned char	*seen;
	size_t		 i;

	p->h = NULL;
	if (len == 3 && strncmp(name, "app", 3) == 0) {
		p->section = SECTION_APP;
		return;
	}
	if (len == 13 && strncmp(name, "env_variables", 13) == 0) {
		p->section = SECTION_ENV;
		return;
	}
	if (len < 8 || strncmp(name, "handler ", 8) != 0) {
		perr(p, p->line, "unknown section [%.*s] (expected [app], "
		    "[env_variables] or [handler NAME])", (int)len, name);
		p->section = SECTION_BAD;
		return;
	}
	name += 8;
	len -= 8;
	while (len > 0 && *name == ' ') {
		name++;
		len--;
	}
	p->section = SECTION_BAD;
	if (len == 0) {
		perr(p, p->line, "[handler] needs a name: [handler NAME]");
		return;
	}
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-' && name[i] != '.') {
			perr(p, p->line, "handler name \"%.*s\": use letters, "
			    "digits, '_', '-' and '.'", (int)len, name);
			return;
		}
	}
	for (i = 0; i < p->c->nhandlers; i++) {
		h = &p->c->handlers[i];
		if (strlen(h->name) == len && strncmp(h->name, name, len) == 0) {
			perr(p, p->line, "duplicate handler name \"%.*s\" "
			    "(first at line %d)", (int)len, name, h->line);
			return;
		}
	}
	h = reallocarray(p->c->handlers, p->c->nhandlers + 1, sizeof(*h));
	seen = reallocarray(p->seen_h, p->c->nhandlers + 1, NOPTS);
	if (h != NULL)
		p->c->handlers = h;
	if (seen != NULL)
		p->seen_h = seen;
	if (h == NULL || seen == NULL) {
		perr(p, p->line, "out of memory");
		return;
	}
	h = &p->c->handlers[p->c->nhandlers];
	memset(h, 0, sizeof(*h));
	memset(p->seen_h + p->c->nhandlers * NOPTS, 0, NOPTS);
	h->index = p->c->nhandlers++;
	h->line = p->line;
	h->kind = HANDLER_KIND_UNSET;
	h->stream = 0;
	h->name = strndup(name, len);
	memset(&h->limits, 0xff, sizeof(h->limits));	/* all CONF_UNSET */
	p->section = SECTION_HANDLER;
	p->h = h;
}

/*
 * Looks at one raw line before inih does: counts lines, reports lines that
 * are too long or not "NAME = VALUE", and opens sections (inih truncates
 * section names and reports nothing for a section without keys).
 */
static void
lex_line(struct parse *p, const char *s, size_t len)
{
	const char	*end;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		if ((end = memchr(s, ']', len)) == NULL) {
			perr(p, p->line, "section header without ']'");
			p->section = SECTION_BAD;
			p->h = NULL;
			return;
		}
		begin_section(p, s + 1, (size_t)(end - s - 1));
		return;
	}
	if (memchr(s, '=', len) == NULL && memchr(s, ':', len) == NULL)
		perr(p, p->line, "expected NAME = VALUE");
}

/*
 * inih's line reader (fgets-like) over p->text. Lines longer than inih's
 * buffer are reported and cut, and the rest of the line is skipped, so that
 * line numbers stay right.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse	*p = stream;
	const char	*nl;
	size_t		 len, take;

	if (*p->text == '\0')
		return NULL;
	p->line++;
	nl = strchr(p->text, '\n');
	len = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
	take = len;
	if (take > (size_t)num - 2) {
		perr(p, p->line, "line longer than %d characters", num - 2);
		take = (size_t)num - 2;
	}
	memcpy(str, p->text, take);
	if (take < len && nl != NULL)
		str[take++] = '\n';
	str[take] = '\0';
	lex_line(p, p->text, len);
	p->text += len;
	return str;
}

static const struct opt *
find_opt(const char *name, int in_handler)
{
	size_t	 i;
	const char *n;

	for (i = 0; i < NOPTS; i++) {
		n = in_handler ? opts[i].handler_name : opts[i].app_name;
		if (n != NULL && strcmp(n, name) == 0)
			return &opts[i];
	}
	return NULL;
}

static const char *
check_range(const struct opt *o, long long v)
{
	static char	 msg[96];

	if (v < o->min || v > o->max) {
		snprintf(msg, sizeof(msg), "out of range (%lld to %lld)",
		    o->min, o->max);
		return msg;
	}
	return NULL;
}

/*
 * Finds value among the '|'-separated words of choices; sets *out to its
 * index. Returns NULL or an error message.
 */
static const char *
parse_choice(const char *choices, const char *value, long long *out)
{
	static char	 msg[128];
	const char	*p, *bar;
	size_t		 n = strlen(value);
	long long	 i;

	for (p = choices, i = 0; p != NULL; p = bar ? bar + 1 : NULL, i++) {
		bar = strchr(p, '|');
		if ((size_t)(bar ? bar - p : (ptrdiff_t)strlen(p)) == n &&
		    strncmp(p, value, n) == 0) {
			*out = i;
			return NULL;
		}
	}
	snprintf(msg, sizeof(msg), "expected one of %s", choices);
	return msg;
}

/*
 * Parses value per o->type into the field at dst. Returns NULL or an error
 * message.
 */
static const char *
set_value(struct parse *p, const struct opt *o, char *dst, const char *value)
{
	long long	 v = 0;
	const char	*err = NULL, *s;
	char		*str = NULL, *end;

	switch (o->type) {
	case OPT_SIZE:
		err = conf_parse_size(value, &v);
		break;
	case OPT_DURATION:
		err = conf_parse_duration_ms(value, &v);
		break;
	case OPT_SECONDS:
		err = conf_parse_duration_ms(value, &v);
		if (err == NULL && v % 1000 != 0)
			err = "expected whole seconds";
		v /= 1000;
		break;
	case OPT_BOOL:
		err = conf_parse_bool(value, &v);
		break;
	case OPT_INT:
		err = conf_parse_int(value, &v);
		break;
	case OPT_RLIMIT:
		if (strcasecmp(value, "unlimited") == 0 ||
		    strcasecmp(value, "infinity") == 0)
			v = MAXLL;
		else
			err = conf_parse_size(value, &v);
		break;
	case OPT_OCTAL:
		errno = 0;
		v = strtoll(value, &end, 8);
		if (*value == '\0' || *end != '\0' || errno != 0)
			err = "expected an octal mode such as 0660";
		break;
	case OPT_CHOICE:
		err = parse_choice(o->sdef, value, &v);
		break;
	case OPT_HEADER:
		return "internal: not a plain value";
	case OPT_VERSION:
		for (s = value; *s; s++)
			if (!islower((unsigned char)*s) &&
			    !isdigit((unsigned char)*s) && *s != '-')
				return "expected lowercase letters, digits "
				    "and '-'";
		if (*value == '\0')
			return "must not be empty";
		str = strdup(value);
		break;
	case OPT_STRING:
		str = strdup(value);
		break;
	case OPT_LOG:
		if (*value == '\0')
			return "expected - (stderr) or a file path";
		str = strcmp(value, "-") == 0 ? strdup(value) :
		    abs_path(p->c, value);
		break;
	case OPT_PATH:
		if (*value == '\0')
			return "expected a file path";
		str = abs_path(p->c, value);
		break;
	case OPT_LISTEN:
	case OPT_URL:
	case OPT_TARGET:
		str = strdup(value);	/* checked in validate() */
		break;
	}
	if (err != NULL)
		return err;
	if (o->type >= OPT_STRING) {
		if (str == NULL)
			return "out of memory";
		free(*(char **)dst);
		*(char **)dst = str;
		return NULL;
	}
	if ((err = check_range(o, v)) != NULL)
		return err;
	*(long long *)dst = v;
	return NULL;
}

static void
set_env(struct parse *p, const char *name, const char *value)
{
	struct env_var	*e;
	const char	*s;
	size_t		 i;

	for (s = name; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_') {
			perr(p, p->line, "%s: an environment variable name "
			    "takes letters, digits and '_'", name);
			return;
		}
	}
	if (isdigit((unsigned char)*name)) {
		perr(p, p->line, "%s: must not start with a digit", name);
		return;
	}
	for (i = 0; i < p->c->nenv; i++) {
		if (strcmp(p->c->env[i].name, name) == 0) {
			perr(p, p->line, "%s: duplicate variable", name);
			return;
		}
	}
	e = reallocarray(p->c->env, p->c->nenv + 1, sizeof(*e));
	if (e == NULL) {
		perr(p, p->line, "out of memory");
		return;
	}
	p->c->env = e;
	e = &p->c->env[p->c->nenv++];
	e->name = strdup(name);
	e->value = strdup(value);
	if (asprintf(&e->pair, "%s=%s", name, value) == -1)
		e->pair = NULL;
}

/* Appends an `http_header = Name: value` line to h (repeatable). */
static void
add_header(struct parse *p, struct handler *h, const char *key,
    const char *value)
{
	struct conf_header hd, *v;
	const char	*err;

	if ((err = conf_parse_header(value, &hd)) != NULL) {
		perr(p, p->line, "%s = %s: %s", key, value, err);
		return;
	}
	hd.line = p->line;
	if ((v = reallocarray(h->headers, h->nheaders + 1, sizeof(*v))) ==
	    NULL) {
		free(hd.name);
		free(hd.value);
		perr(p, p->line, "out of memory");
		return;
	}
	h->headers = v;
	h->headers[h->nheaders++] = hd;
}

/* inih's callback for each NAME = VALUE. */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse	*p = user;
	const struct opt *o;
	unsigned char	*seen;
	const char	*err;
	char		*base;
	size_t		 i;

	(void)section;	/* inih truncates it; lex_line() tracks sections */
	switch (p->section) {
	case SECTION_BAD:
		return 1;
	case SECTION_NONE:
		perr(p, p->line, "%s: key outside a section (start with "
		    "[app])", name);
		return 1;
	case SECTION_ENV:
		set_env(p, name, value);
		return 1;
	case SECTION_APP:
	case SECTION_HANDLER:
		break;
	}
	o = find_opt(name, p->section == SECTION_HANDLER);
	if (o == NULL) {
		perr(p, p->line, "unknown key \"%s\" in [%s]", name,
		    p->section == SECTION_APP ? "app" : "handler");
		return 1;
	}
	i = (size_t)(o - opts);
	seen = p->section == SECTION_APP ? p->seen_app :
	    p->seen_h + p->h->index * NOPTS;
	if (o->type == OPT_HEADER) {
		add_header(p, p->h, name, value);
		return 1;
	}
	if (o->type == OPT_TARGET) {
		if (p->h->kind != HANDLER_KIND_UNSET) {
			perr(p, p->line, "%s: a handler takes one of module, "
			    "dir, cgi, static_dir and static_files", name);
			return 1;
		}
		p->h->kind = (enum handler_kind)o->def;
		p->h->target_line = p->line;
	} else if (seen[i]) {
		perr(p, p->line, "duplicate key \"%s\"", name);
		return 1;
	}
	seen[i] = 1;
	if (p->section == SECTION_APP)
		p->app_line[i] = p->line;
	if (o->base == BASE_CONF)
		base = (char *)p->c;
	else if (o->base == BASE_HANDLER)
		base = (char *)p->h;
	else if (p->section == SECTION_APP)
		base = (char *)&p->c->limits;
	else
		base = (char *)&p->h->limits;
	if ((err = set_value(p, o, base + o->off, value)) != NULL)
		perr(p, p->line, "%s = %s: %s", name, value, err);
	return 1;
}

static void
set_defaults(struct conf *c)
{
	const struct opt *o;
	char		*base;
	size_t		 i;

	for (i = 0; i < NOPTS; i++) {
		o = &opts[i];
		if (o->app_name == NULL)
			continue;
		base = o->base == BASE_CONF ? (char *)c : (char *)&c->limits;
		if (o->type >= OPT_STRING)
			*(char **)(base + o->off) = o->sdef ? strdup(o->sdef) :
			    NULL;
		else
			*(long long *)(base + o->off) = o->def;
	}
}

/* Fills a handler's unset limits from [app] (nginx's merge_loc_conf). */
static void
merge_limits(struct limits *h, const struct limits *app)
{
	long long	*hv = (long long *)h;
	const long long	*av = (const long long *)app;
	size_t		 i;

	for (i = 0; i < sizeof(*h) / sizeof(long long); i++)
		if (hv[i] == CONF_UNSET)
			hv[i] = av[i];
}

static void
validate_listen(struct parse *p)
{
	struct conf	*c = p->c;
	const char	*colon;
	char		*path, *slash;
	struct stat	 st;

	colon = strrchr(c->listen, ':');
	if (colon != NULL && colon[1] != '\0' &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    c->listen[0] != '/') {
		c->listen_is_tcp = 1;
		if (atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
			perr(p, 0, "listen = %s: port out of range",
			    c->listen);
		return;
	}
	if ((path = abs_path(c, c->listen)) == NULL)
		return;
	free(c->listen);
	c->listen = path;
	if (strlen(path) >= 108) {
		perr(p, 0, "listen = %s: unix socket path longer than 107 "
		    "bytes", path);
		return;
	}
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			perr(p, 0, "listen: directory %s does not exist", path);
		*slash = '/';
	}
}

/*
 * Compiles a regular expression of the config, matched against a whole
 * string (anchored at both ends, as nginx's locations are once written
 * "^(?:...)$"). Returns the code, or NULL with a message in err.
 */
static pcre2_code *
compile_re(const char *re, char *err, size_t errlen)
{
	pcre2_code	*code;
	PCRE2_UCHAR	 msg[160];
	PCRE2_SIZE	 off;
	int		 ec;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &off, NULL);
	if (code == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "%s at offset %zu", (char *)msg,
		    (size_t)off);
	}
	return code;
}

/*
 * Checks a static_files template: \1 to \9 name captures of url (ngroups
 * of them), \\ is a backslash, nothing else follows a backslash. Sets
 * *root_len to the length of its leading directory, up to the last '/'
 * before the first capture. Returns NULL or an error message.
 */
static const char *
check_template(const char *t, uint32_t ngroups, size_t *root_len)
{
	static char	 msg[96];
	const char	*s, *first = NULL;
	size_t		 n;

	for (s = t; *s != '\0'; s++) {
		if (*s != '\\')
			continue;
		if (s[1] == '\\') {
			s++;
			continue;
		}
		if (s[1] < '1' || s[1] > '9')
			return "a backslash takes a digit 1-9 (a capture of "
			    "url) or a backslash";
		if ((uint32_t)(s[1] - '0') > ngroups) {
			snprintf(msg, sizeof(msg), "\\%c but url has %u "
			    "capture group(s)", s[1], ngroups);
			return msg;
		}
		if (first == NULL)
			first = s;
		s++;
	}
	n = first ? (size_t)(first - t) : strlen(t);
	while (n > 0 && t[n - 1] != '/')
		n--;
	if (t[0] == '\0' || t[strlen(t) - 1] == '/')
		return "expected a file path";
	*root_len = n;
	return NULL;
}

/* The url of a static_files handler: a regex; static_files: a template. */
static int
validate_files(struct parse *p, struct handler *h)
{
	const char	*msg;
	char		 err[200], *root;
	uint32_t	 ngroups = 0;

	h->static_files = h->target;
	h->target = NULL;
	if (h->url != NULL && h->url[0] == '/') {
		if ((h->url_re = compile_re(h->url, err, sizeof(err))) ==
		    NULL) {
			perr(p, h->line, "handler %s: url = %s: %s", h->name,
			    h->url, err);
			return -1;
		}
		pcre2_pattern_info(h->url_re, PCRE2_INFO_CAPTURECOUNT,
		    &ngroups);
	}
	if ((msg = check_template(h->static_files, ngroups,
	    &h->files_root_len)) != NULL) {
		perr(p, h->target_line, "static_files = %s: %s",
		    h->static_files, msg);
		return -1;
	}
	if (h->upload != NULL &&
	    (h->upload_re = compile_re(h->upload, err, sizeof(err))) == NULL) {
		perr(p, h->line, "handler %s: upload = %s: %s", h->name,
		    h->upload, err);
		return -1;
	}
	if (h->files_root_len == 0)
		root = strdup(p->c->dir);
	else if (h->files_root_len == 1)
		root = strdup("/");
	else
		root = strndup(h->static_files, h->files_root_len - 1);
	if (root == NULL)
		return -1;
	h->target = root;
	return 0;
}

/* Names an http_header line may not set: what the host computes. */
static const char *
header_refused(const struct handler *h, const char *name)
{
	static const struct {
		const char	*name;
		int		 static_only;
		const char	*why;
	} refused[] = {
		{ "Content-Length", 0, "computed by warmcgi" },
		{ "Content-Encoding", 0, "set by compression" },
		{ "Transfer-Encoding", 0, "hop-by-hop" },
		{ "Connection", 0, "hop-by-hop" },
		{ "Keep-Alive", 0, "hop-by-hop" },
		{ "Proxy-Connection", 0, "hop-by-hop" },
		{ "TE", 0, "hop-by-hop" },
		{ "Trailer", 0, "hop-by-hop" },
		{ "Upgrade", 0, "hop-by-hop" },
		{ "Status", 0, "not a header field" },
		{ "Location", 0, "a handler's own answer" },
		{ "Content-Type", 1, "use mime_type" },
		{ "Cache-Control", 1, "use expiration" },
		{ "Expires", 1, "use expiration" },
		{ "ETag", 1, "computed from the file" },
		{ "Last-Modified", 1, "computed from the file" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strcasecmp(name, refused[i].name) == 0 &&
		    (!refused[i].static_only || conf_is_static(h)))
			return refused[i].why;
	return NULL;
}

/* Keys that apply to some kinds of handler only. */
static void
validate_keys(struct parse *p, struct handler *h)
{
	const char	*why;
	size_t		 i;

	if (h->upload != NULL && h->kind != HANDLER_STATIC_FILES)
		perr(p, h->line, "handler %s: upload goes with static_files",
		    h->name);
	if (h->stream && h->kind != HANDLER_CGI && h->kind != HANDLER_DIR)
		perr(p, h->line, "handler %s: stream = on applies to cgi and "
		    "dir handlers only", h->name);
	if (h->mime_type != NULL && !conf_is_static(h))
		perr(p, h->line, "handler %s: mime_type applies to static_dir "
		    "and static_files handlers", h->name);
	if (h->mime_type != NULL && (h->mime_type[0] == '\0' ||
	    strchr(h->mime_type, '/') == NULL))
		perr(p, h->line, "handler %s: mime_type = %s: expected "
		    "type/subtype", h->name, h->mime_type);
	for (i = 0; i < h->nheaders; i++)
		if ((why = header_refused(h, h->headers[i].name)) != NULL)
			perr(p, h->headers[i].line, "http_header %s: not "
			    "allowed here (%s)", h->headers[i].name, why);
}

static void
validate_handler(struct parse *p, struct handler *h)
{
	struct stat	 st;
	char		*path;
	int		 want_dir;

	merge_limits(&h->limits, &p->c->limits);
	if (h->url == NULL) {
		perr(p, h->line, "handler %s: missing url", h->name);
	} else if (h->url[0] != '/') {
		perr(p, h->line, "handler %s: url = %s must start with '/'",
		    h->name, h->url);
	} else {
		h->url_len = strlen(h->url);
		h->prefix = h->url[h->url_len - 1] == '/' &&
		    h->kind != HANDLER_STATIC_FILES;
	}
	validate_keys(p, h);
	if (h->kind == HANDLER_STATUS || h->kind == HANDLER_PING)
		return;		/* built in: nothing on disk */
	if (h->kind == HANDLER_KIND_UNSET) {
		perr(p, h->line, "handler %s: needs one of module, dir, cgi, "
		    "static_dir or static_files", h->name);
		return;
	}
	if (h->kind == HANDLER_STATIC_FILES && validate_files(p, h) == -1)
		return;
	if ((path = abs_path(p->c, h->target)) == NULL)
		return;
	free(h->target);
	h->target = path;
	want_dir = h->kind != HANDLER_MODULE;
	if (h->kind == HANDLER_CGI && stat(path, &st) == 0 &&
	    !S_ISDIR(st.st_mode)) {
		/* cgi = FILE: one program serves the whole url. */
		h->cgi_file = 1;
		if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1)
			perr(p, h->target_line, "%s: not an executable file",
			    path);
		return;
	}
	if (stat(path, &st) == -1) {
		perr(p, h->target_line, "%s: %s", path, strerror(errno));
	} else if (want_dir && !S_ISDIR(st.st_mode)) {
		perr(p, h->target_line, "%s: not a directory", path);
	} else if (!want_dir && !S_ISREG(st.st_mode)) {
		perr(p, h->target_line, "%s: not a regular file", path);
	}
	if (want_dir && h->url != NULL && !h->prefix &&
	    h->kind != HANDLER_STATIC_FILES)
		perr(p, h->line, "handler %s: url = %s must end with '/' for "
		    "a directory", h->name, h->url);
}

/* Returns the line where [app] key name was given, or 0 if it was not. */
static int
app_line(const struct parse *p, const char *name)
{
	const struct opt *o = find_opt(name, 0);
	size_t	 i = (size_t)(o - opts);

	return p->seen_app[i] ? p->app_line[i] : 0;
}

/*
 * The pool: `workers = N` is a fixed pool; workers_min and workers_max
 * make it grow and shrink with the load.
 */
static void
validate_pool(struct parse *p)
{
	struct conf	*c = p->c;
	int		 wl = app_line(p, "workers");
	int		 minl = app_line(p, "workers_min");
	int		 maxl = app_line(p, "workers_max");

	if (minl == 0 && maxl == 0) {
		c->dynamic = 0;
		c->workers_min = c->workers_max = c->workers;
		return;
	}
	c->dynamic = 1;
	if (wl != 0)
		perr(p, wl, "workers = %lld is a fixed pool: give either "
		    "workers or workers_min and workers_max", c->workers);
	if (maxl == 0)
		perr(p, minl, "workers_min needs workers_max");
	else if (c->workers_min > c->workers_max)
		perr(p, minl ? minl : maxl, "workers_min = %lld is larger than "
		    "workers_max = %lld", c->workers_min, c->workers_max);
	c->workers = c->workers_min;
}

/* Parses an address list key into *out. */
static void
validate_acl(struct parse *p, const char *key, const char *text,
    struct acl **out)
{
	const char	*err;

	if ((err = acl_parse(text ? text : "", out)) != NULL)
		perr(p, app_line(p, key), "%s = %s: %s", key, text, err);
}

/* Looks up a user by name (or number). Returns 0 or -1. */
static int
find_user(const char *name, long long *uid, long long *gid)
{
	struct passwd	*pw;
	long long	 n;

	if ((pw = getpwnam(name)) == NULL &&
	    conf_parse_int(name, &n) == NULL && n <= (long long)UINT32_MAX)
		pw = getpwuid((uid_t)n);
	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	if (gid != NULL)
		*gid = pw->pw_gid;
	return 0;
}

static int
find_group(const char *name, long long *gid)
{
	struct group	*gr;
	long long	 n;

	if ((gr = getgrnam(name)) == NULL &&
	    conf_parse_int(name, &n) == NULL && n <= (long long)UINT32_MAX)
		gr = getgrgid((gid_t)n);
	if (gr == NULL)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

/* user, group, listen_owner: names must exist now, not at first use. */
static void
validate_users(struct parse *p)
{
	struct conf	*c = p->c;

	c->uid = c->gid = c->listen_uid = -1;
	if (c->user != NULL && find_user(c->user, &c->uid, &c->gid) == -1)
		perr(p, app_line(p, "user"), "user = %s: no such user",
		    c->user);
	if (c->group != NULL && c->user == NULL)
		perr(p, app_line(p, "group"), "group = %s needs user",
		    c->group);
	else if (c->group != NULL && find_group(c->group, &c->gid) == -1)
		perr(p, app_line(p, "group"), "group = %s: no such group",
		    c->group);
	if (c->listen_owner != NULL &&
	    find_user(c->listen_owner, &c->listen_uid, NULL) == -1)
		perr(p, app_line(p, "listen_owner"), "listen_owner = %s: no "
		    "such user", c->listen_owner);
}

/*
 * Puts a built-in handler (status_path, ping_path) first, so that it wins
 * over any prefix.
 */
static void
add_builtin(struct parse *p, enum handler_kind kind, const char *name,
    const char *key, const char *url)
{
	struct conf	*c = p->c;
	struct handler	*h;
	size_t		 i;

	if (url[0] != '/' || strchr(url, '?') != NULL) {
		perr(p, app_line(p, key), "%s = %s: expected a path such as "
		    "/%s", key, url, kind == HANDLER_STATUS ? "status" :
		    "ping");
		return;
	}
	if ((h = reallocarray(c->handlers, c->nhandlers + 1,
	    sizeof(*h))) == NULL) {
		perr(p, 0, "out of memory");
		return;
	}
	c->handlers = h;
	memmove(h + 1, h, c->nhandlers * sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->name = strdup(name);
	h->url = strdup(url);
	h->line = app_line(p, key);
	h->kind = kind;
	memset(&h->limits, 0xff, sizeof(h->limits));	/* all CONF_UNSET */
	c->nhandlers++;
	for (i = 0; i < c->nhandlers; i++)
		c->handlers[i].index = i;
	if (h->name == NULL || h->url == NULL)
		perr(p, 0, "out of memory");
}

/*
 * The keys of a host in a pool: host_name (the hostname by default),
 * pid_file (its directory must exist), upstream_servers.
 */
static void
validate_scale(struct parse *p)
{
	struct conf	*c = p->c;
	const char	*err, *s;
	char		 name[256], *slash;
	struct stat	 st;

	if (c->host_name == NULL) {
		if (gethostname(name, sizeof(name)) == -1)
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
		c->host_name = strdup(name);
	}
	if (c->host_name != NULL && *c->host_name == '\0')
		perr(p, app_line(p, "host_name"), "host_name: must not be "
		    "empty");
	for (s = c->host_name; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			perr(p, app_line(p, "host_name"), "host_name: control "
			    "character");
			break;
		}
	if (c->upstream_text != NULL && (err = conf_parse_servers(
	    c->upstream_text, &c->upstreams, &c->nupstreams)) != NULL)
		perr(p, app_line(p, "upstream_servers"), "upstream_servers: %s",
		    err);
	if (c->pid_file != NULL && (slash = strrchr(c->pid_file, '/')) !=
	    NULL && slash != c->pid_file) {
		*slash = '\0';
		if (stat(c->pid_file, &st) == -1 || !S_ISDIR(st.st_mode))
			perr(p, app_line(p, "pid_file"), "pid_file: directory "
			    "%s does not exist", c->pid_file);
		*slash = '/';
	}
}

static void
validate(struct parse *p)
{
	struct conf	*c = p->c;
	size_t		 i;

	validate_listen(p);
	validate_pool(p);
	validate_scale(p);
	validate_users(p);
	validate_acl(p, "status_allow", c->status_allow_text,
	    &c->status_allow);
	validate_acl(p, "listen_allow", c->listen_allow_text,
	    &c->listen_allow);
	if (c->status_path != NULL && c->ping_path != NULL &&
	    strcmp(c->status_path, c->ping_path) == 0)
		perr(p, app_line(p, "ping_path"), "ping_path = %s: the same "
		    "as status_path", c->ping_path);
	if (c->ping_path != NULL && *c->ping_path != '\0')
		add_builtin(p, HANDLER_PING, "(ping)", "ping_path",
		    c->ping_path);
	if (c->status_path != NULL && *c->status_path != '\0')
		add_builtin(p, HANDLER_STATUS, "(status)", "status_path",
		    c->status_path);
	for (i = 0; i < c->nhandlers; i++)
		validate_handler(p, &c->handlers[i]);
}

/*
 * Parses config text; name is used in messages and dir resolves relative
 * paths. On success returns 0 and sets *out (release with conf_free()). On
 * failure returns -1 and appends one "FILE:LINE: problem" line per problem
 * to errors.
 */
int
conf_load_string(const char *name, const char *dir, const char *text,
    struct conf **out, struct buf *errors)
{
	struct parse	 p;
	struct conf	*c;
	int		 rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->file = strdup(name);
	c->dir = strdup(dir);
	set_defaults(c);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.errors = errors;
	p.text = text;
	p.section = SECTION_NONE;
#if HAVE_DECL_INI_MAX_LINE
	ini_max_line = 4096;
#endif
#if HAVE_DECL_INI_ALLOW_MULTILINE
	ini_allow_multiline = 0;	/* a repeated key is then an error */
#endif
	rc = ini_parse_stream(read_line, &p, on_key, &p);
	if (rc == -2)
		perr(&p, 0, "out of memory");
	free(p.seen_h);
	validate(&p);
	if (p.nerrors > 0) {
		conf_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

/*
 * Reads and parses the config file at path. Returns as conf_load_string().
 */
int
conf_load(const char *path, struct conf **out, struct buf *errors)
{
	struct buf	 text;
	char		 chunk[8192], *dir = NULL, *slash, cwd[PATH_MAX];
	FILE		*fp;
	size_t		 n;
	int		 rc = -1;

	buf_init(&text);
	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		buf_printf(errors, "%s:0: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(&text, chunk, n) == -1)
			goto done;
	if (ferror(fp)) {
		buf_printf(errors, "%s:0: read: %s\n", path, strerror(errno));
		goto done;
	}
	if (memchr(text.data ? text.data : "", '\0', text.len) != NULL) {
		buf_printf(errors, "%s:0: not a text file\n", path);
		goto done;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		goto done;
	if (path[0] == '/')
		dir = strdup(path);
	else if (asprintf(&dir, "%s/%s", cwd, path) == -1)
		dir = NULL;
	if (dir == NULL)
		goto done;
	slash = strrchr(dir, '/');
	*(slash == dir ? slash + 1 : slash) = '\0';
	rc = conf_load_string(path, dir, text.data ? text.data : "", out,
	    errors);
done:
	free(dir);
	fclose(fp);
	buf_free(&text);
	return rc;
}

/* Releases what a handler owns beyond its table strings. */
static void
free_handler(struct handler *h)
{
	size_t	 i;

	for (i = 0; i < h->nheaders; i++) {
		free(h->headers[i].name);
		free(h->headers[i].value);
	}
	free(h->headers);
	free(h->static_files);
	pcre2_code_free(h->url_re);
	pcre2_code_free(h->upload_re);
	free(h->target);
	free(h->name);
}

/*
 * Releases a config and everything it owns.
 */
void
conf_free(struct conf *c)
{
	const struct opt *o;
	size_t		 i, j;

	if (c == NULL)
		return;
	for (i = 0; i < NOPTS; i++) {
		o = &opts[i];
		if (o->type < OPT_STRING || o->base != BASE_CONF)
			continue;
		free(*(char **)((char *)c + o->off));
	}
	for (i = 0; i < c->nhandlers; i++) {
		for (j = 0; j < NOPTS; j++) {
			o = &opts[j];
			if (o->type >= OPT_STRING && o->base == BASE_HANDLER &&
			    o->off != offsetof(struct handler, target))
				free(*(char **)((char *)&c->handlers[i] +
				    o->off));
		}
		free_handler(&c->handlers[i]);
	}
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
		free(c->env[i].pair);
	}
	free(c->env);
	acl_free(c->status_allow);
	acl_free(c->listen_allow);
	conf_free_servers(c->upstreams, c->nupstreams);
	free(c->handlers);
	free(c->file);
	free(c->dir);
	free(c);
}
