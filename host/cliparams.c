/*
 * cliparams.c: the parameters of a request that no FastCGI front end sent.
 * cli.c calls it for the two transports that serve one request in the
 * calling process:
 *
 * - --request: cliparams_build() turns "METHOD /path?query" and "Name:
 *   value" header fields into the parameters nginx sends with the stock
 *   fastcgi_params (the path percent-decoded, slashes merged and dot
 *   segments resolved as nginx does for $fastcgi_script_name; the raw
 *   target in REQUEST_URI; every header field as HTTP_*), so that a
 *   handler sees under --request what it sees behind nginx;
 * - CGI mode: cliparams_cgi() takes the environment the web server gave
 *   the process (RFC 3875 section 4.1). The web server's SCRIPT_NAME is
 *   the path of warmcgi's script (the app), so routing uses PATH_INFO
 *   alone, and SCRIPT_NAME comes back as a prefix of the handler's own.
 *
 * Pure: no I/O, no globals; every string lives in the caller's arena.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cliparams.h"
#include "req.h"

#define FIXED_PARAMS	24	/* parameters that are not header fields */

/* A NULL-terminated list of "NAME=value" of a fixed capacity. */
struct plist {
	struct arena	*a;
	char		**v;
	size_t		 n;
	size_t		 cap;
	int		 nomem;
};

/* The parts of a parsed command-line request. */
struct target {
	const char	*method;
	const char	*protocol;
	int		 https;
	const char	*host;		/* authority of an absolute URL */
	const char	*port;
	const char	*uri;		/* raw "/path?query" */
	char		*path;		/* decoded and normalized */
	const char	*query;
};

static const char *const errors[] = {
	[CLIPARAMS_OK] = "ok",
	[CLIPARAMS_BAD_LINE] = "expected \"METHOD /path?query\" (an "
	    "uppercase method, then the target)",
	[CLIPARAMS_BAD_TARGET] = "the target must be /path?query or "
	    "http(s)://host[:port]/path?query",
	[CLIPARAMS_ESCAPES_ROOT] = "the path climbs above / with \"..\" "
	    "(nginx answers 400)",
	[CLIPARAMS_BAD_HEADER] = "expected a header field \"Name: value\"",
	[CLIPARAMS_CONTENT_LENGTH] = "Content-Length is the length of --data; "
	    "do not give it with -H",
	[CLIPARAMS_NOMEM] = "out of memory",
};

/*
 * Returns a message for err, for the command line's error output.
 */
const char *
cliparams_strerror(enum cliparams_err err)
{
	if ((size_t)err >= sizeof(errors) / sizeof(errors[0]))
		return "unknown error";
	return errors[err];
}

static void
add(struct plist *l, const char *name, const char *value)
{
	char	*p;

	if (l->nomem || l->n + 1 >= l->cap ||
	    (p = arena_printf(l->a, "%s=%s", name, value)) == NULL) {
		l->nomem = 1;
		return;
	}
	l->v[l->n++] = p;
	l->v[l->n] = NULL;
}

/* RFC 9110 section 5.6.2: tchar. */
static int
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Merges slashes and resolves "." and ".." segments of a decoded path
 * that starts with '/', in place, as nginx does before it sets
 * $fastcgi_script_name ("/a//b/../c/." is "/a/c/"). Returns 0, or -1 when
 * ".." would climb above "/".
 */
static int
normalize(char *path)
{
	char	*in = path, *out = path, *seg;
	size_t	 n;
	int	 trailing = 0;

	while (*in == '/') {
		while (*in == '/')
			in++;
		seg = in;
		while (*in != '\0' && *in != '/')
			in++;
		n = (size_t)(in - seg);
		trailing = 1;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out == path)
				return -1;
			while (--out > path && *out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
		trailing = 0;
	}
	if (out == path || trailing)
		*out++ = '/';
	*out = '\0';
	return 0;
}

/* Splits "http(s)://host[:port]/rest" into t; *rest gets "/rest". */
static enum cliparams_err
split_url(struct arena *a, const char *s, struct target *t,
    const char **rest)
{
	const char	*auth, *end, *colon, *bracket;

	if (strncasecmp(s, "http://", 7) == 0) {
		auth = s + 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		auth = s + 8;
		t->https = 1;
	} else {
		return CLIPARAMS_BAD_TARGET;
	}
	end = auth + strcspn(auth, "/?#");
	if (end == auth || memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return CLIPARAMS_BAD_TARGET;
	bracket = memchr(auth, ']', (size_t)(end - auth));
	colon = memchr(bracket ? bracket : auth, ':',
	    (size_t)(end - (bracket ? bracket : auth)));
	t->host = arena_strndup(a, auth, (size_t)(end - auth));
	t->port = colon ? arena_strndup(a, colon + 1,
	    (size_t)(end - colon - 1)) : t->https ? "443" : "80";
	if (t->host == NULL || t->port == NULL)
		return CLIPARAMS_NOMEM;
	if (colon != NULL && (*t->port == '\0' ||
	    strspn(t->port, "0123456789") != strlen(t->port)))
		return CLIPARAMS_BAD_TARGET;
	*rest = *end == '/' ? end : "/";
	if (*end != '/' && *end != '\0') {
		/* "http://host?q": the path is "/" and the rest follows. */
		if ((*rest = arena_printf(a, "/%s", end)) == NULL)
			return CLIPARAMS_NOMEM;
	}
	return CLIPARAMS_OK;
}

/* Fills the target fields of t from the raw target s. */
static enum cliparams_err
parse_target(struct arena *a, const char *s, struct target *t)
{
	enum cliparams_err err;
	const char	*q;
	size_t		 n, ulen;

	t->port = "80";
	if (*s != '/' && (err = split_url(a, s, t, &s)) != CLIPARAMS_OK)
		return err;
	if (*s != '/')
		return CLIPARAMS_BAD_TARGET;
	ulen = strcspn(s, "#");		/* a fragment is never sent */
	if ((t->uri = arena_strndup(a, s, ulen)) == NULL)
		return CLIPARAMS_NOMEM;
	q = memchr(t->uri, '?', ulen);
	n = q ? (size_t)(q - t->uri) : ulen;
	t->query = q ? q + 1 : "";
	if ((t->path = arena_strndup(a, t->uri, n)) == NULL)
		return CLIPARAMS_NOMEM;
	if (strstr(t->path, "%00") != NULL)
		return CLIPARAMS_BAD_TARGET;
	req_url_decode(t->path, t->path, n);
	if (normalize(t->path) == -1)
		return CLIPARAMS_ESCAPES_ROOT;
	return CLIPARAMS_OK;
}

/* Splits "[METHOD] TARGET [HTTP/x.y]" into t. */
static enum cliparams_err
parse_line(struct arena *a, const char *line, int has_body, struct target *t)
{
	const char	*tok[4];
	size_t		 len[4], ntok = 0, i;
	char		*target;

	while (*line != '\0' && ntok < 4) {
		line += strspn(line, " \t");
		if (*line == '\0')
			break;
		tok[ntok] = line;
		len[ntok] = strcspn(line, " \t");
		line += len[ntok++];
	}
	if (ntok == 0 || ntok > 3)
		return CLIPARAMS_BAD_LINE;
	t->method = has_body ? "POST" : "GET";
	t->protocol = "HTTP/1.1";
	if (ntok >= 2) {
		for (i = 0; i < len[0]; i++)
			if (!isupper((unsigned char)tok[0][i]) &&
			    tok[0][i] != '_' && tok[0][i] != '-')
				return CLIPARAMS_BAD_LINE;
		if ((t->method = arena_strndup(a, tok[0], len[0])) == NULL)
			return CLIPARAMS_NOMEM;
	}
	if (ntok == 3) {
		if (len[2] != 8 || strncmp(tok[2], "HTTP/", 5) != 0 ||
		    !isdigit((unsigned char)tok[2][5]) || tok[2][6] != '.' ||
		    !isdigit((unsigned char)tok[2][7]))
			return CLIPARAMS_BAD_LINE;
		if ((t->protocol = arena_strndup(a, tok[2], 8)) == NULL)
			return CLIPARAMS_NOMEM;
	}
	i = ntok >= 2 ? 1 : 0;
	if ((target = arena_strndup(a, tok[i], len[i])) == NULL)
		return CLIPARAMS_NOMEM;
	return parse_target(a, target, t);
}

/*
 * Adds "Name: value" as HTTP_NAME (uppercase, '-' as '_'); Host and
 * Content-Type are noted. Returns CLIPARAMS_OK or an error.
 */
static enum cliparams_err
add_header(struct plist *l, const char *field, const char **host,
    const char **ctype)
{
	const char	*colon = strchr(field, ':'), *v, *end;
	char		*name, *value;
	size_t		 nl, i;

	if (colon == NULL || colon == field)
		return CLIPARAMS_BAD_HEADER;
	nl = (size_t)(colon - field);
	for (i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)field[i]))
			return CLIPARAMS_BAD_HEADER;
	v = colon + 1 + strspn(colon + 1, " \t");
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (strpbrk(v, "\r\n") != NULL)
		return CLIPARAMS_BAD_HEADER;
	if (nl == 14 && strncasecmp(field, "Content-Length", 14) == 0)
		return CLIPARAMS_CONTENT_LENGTH;
	if ((name = arena_printf(l->a, "HTTP_%.*s", (int)nl, field)) ==
	    NULL || (value = arena_strndup(l->a, v, (size_t)(end - v))) ==
	    NULL)
		return CLIPARAMS_NOMEM;
	for (i = 5; name[i] != '\0'; i++)
		name[i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	if (strcmp(name, "HTTP_HOST") == 0)
		*host = value;
	else if (strcmp(name, "HTTP_CONTENT_TYPE") == 0)
		*ctype = value;
	add(l, name, value);
	return CLIPARAMS_OK;
}

/* SERVER_NAME: the host part of a Host value ("h", "h:80", "[::1]:80"). */
static const char *
server_name(struct arena *a, const char *host)
{
	const char	*end = host[0] == '[' ? strchr(host, ']') : NULL;

	if (end != NULL)
		return arena_strndup(a, host, (size_t)(end - host) + 1);
	return arena_strndup(a, host, strcspn(host, ":"));
}

/* The parameters nginx's fastcgi_params derive from the request. */
static void
add_fixed(struct plist *l, const struct target *t,
    const struct cliparams_in *in, const char *host, const char *ctype)
{
	char	 num[24];

	add(l, "QUERY_STRING", t->query);
	add(l, "REQUEST_METHOD", t->method);
	if (ctype != NULL)
		add(l, "CONTENT_TYPE", ctype);
	if (in->has_body) {
		snprintf(num, sizeof(num), "%zu", in->body_len);
		add(l, "CONTENT_LENGTH", num);
		add(l, "HTTP_CONTENT_LENGTH", num);
	}
	add(l, "SCRIPT_NAME", t->path);
	add(l, "REQUEST_URI", t->uri);
	add(l, "DOCUMENT_URI", t->path);
	add(l, "SERVER_PROTOCOL", t->protocol);
	add(l, "REQUEST_SCHEME", t->https ? "https" : "http");
	if (t->https)
		add(l, "HTTPS", "on");
	add(l, "GATEWAY_INTERFACE", "CGI/1.1");
	add(l, "REMOTE_ADDR", "127.0.0.1");
	add(l, "SERVER_ADDR", "127.0.0.1");
	add(l, "SERVER_PORT", t->port);
	add(l, "SERVER_NAME", server_name(l->a, host));
	add(l, "REDIRECT_STATUS", "200");
}

/*
 * Builds the parameters of the request in (see the top of this file) as
 * a NULL-terminated "NAME=value" list in *out. Without a method the
 * request is a GET, or a POST when it has a body; a body without a
 * Content-Type is application/x-www-form-urlencoded, as curl --data sends
 * it; without a Host field the host of an absolute URL, or "localhost",
 * is sent. Returns CLIPARAMS_OK, or an error; for CLIPARAMS_BAD_HEADER
 * and CLIPARAMS_CONTENT_LENGTH *bad is the index of the header field.
 */
enum cliparams_err
cliparams_build(struct arena *a, const struct cliparams_in *in, char ***out,
    size_t *bad)
{
	struct target	 t;
	struct plist	 l;
	enum cliparams_err err;
	const char	*host = NULL, *ctype = NULL;
	size_t		 i;

	*out = NULL;
	memset(&t, 0, sizeof(t));
	if ((err = parse_line(a, in->line, in->has_body, &t)) != CLIPARAMS_OK)
		return err;
	memset(&l, 0, sizeof(l));
	l.a = a;
	l.cap = in->nheaders + FIXED_PARAMS;
	if ((l.v = arena_calloc(a, l.cap, sizeof(char *))) == NULL)
		return CLIPARAMS_NOMEM;
	for (i = 0; i < in->nheaders; i++) {
		if ((err = add_header(&l, in->headers[i], &host, &ctype)) !=
		    CLIPARAMS_OK) {
			*bad = i;
			return err;
		}
	}
	if (host == NULL) {
		host = t.host ? t.host : "localhost";
		add(&l, "HTTP_HOST", host);
	}
	if (ctype == NULL && in->has_body) {
		ctype = "application/x-www-form-urlencoded";
		add(&l, "HTTP_CONTENT_TYPE", ctype);
	}
	add_fixed(&l, &t, in, host, ctype);
	if (l.nomem)
		return CLIPARAMS_NOMEM;
	*out = l.v;
	return CLIPARAMS_OK;
}

/*
 * Returns the parameters of a request in CGI mode from env, the process's
 * environment: the same list, except that SCRIPT_NAME is emptied and
 * PATH_INFO is at least "/", so that the router sees the path below the
 * script (the app's own URL space). *mount gets the web server's
 * SCRIPT_NAME ("" if none), the prefix of the handler's SCRIPT_NAME.
 * Returns NULL when out of memory.
 */
char **
cliparams_cgi(struct arena *a, char **env, const char **mount)
{
	char	**v;
	size_t	 n = 0, i, o = 0;
	int	 have_pi = 0;

	*mount = "";
	while (env != NULL && env[n] != NULL)
		n++;
	if ((v = arena_calloc(a, n + 3, sizeof(char *))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strncmp(env[i], "SCRIPT_NAME=", 12) == 0) {
			*mount = env[i] + 12;
			continue;
		}
		if (strncmp(env[i], "PATH_INFO=", 10) == 0) {
			if (env[i][10] != '/' || have_pi)
				continue;
			have_pi = 1;
		}
		v[o++] = env[i];
	}
	v[o++] = "SCRIPT_NAME=";
	if (!have_pi)
		v[o++] = "PATH_INFO=/";
	v[o] = NULL;
	return v;
}
