/*
 * req.c: turns the front end's parameters into what a handler sees. Pure:
 * everything is allocated in the request's arena, no I/O, no globals. Called
 * by pipeline.c for every request, whichever transport brought it.
 *
 * RFC 3875 section 4.1 and the nginx facts in shared/notes decide the
 * rules: duplicate HTTP_* parameters are merged into one variable, empty
 * values are unset (except QUERY_STRING, which is always set), a client
 * "Proxy:" header never becomes HTTP_PROXY (httpoxy), and HTTP_CONTENT_TYPE
 * and HTTP_CONTENT_LENGTH are dropped in favour of the CGI variables.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "req.h"

/*
 * Returns the value of the parameter name in a "NAME=value" list, or NULL.
 */
const char *
req_param(char **params, const char *name)
{
	size_t	 n = strlen(name);

	for (; params != NULL && *params != NULL; params++)
		if (strncmp(*params, name, n) == 0 && (*params)[n] == '=')
			return *params + n + 1;
	return NULL;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decodes n bytes of src into dst (which may be src) and
 * NUL-terminates it. Invalid escapes are copied as they are. Returns the
 * decoded length.
 */
size_t
req_url_decode(char *dst, const char *src, size_t n)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (src[i] == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)src[i + 1])) != -1 &&
		    (lo = hexval((unsigned char)src[i + 2])) != -1) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
	return o;
}

/*
 * Returns 1 if an HTTP_* parameter's value is longer than max bytes (the
 * request then gets 400).
 */
int
req_header_too_large(const struct req *r, size_t max)
{
	char	**p, *eq;

	for (p = r->params; p != NULL && *p != NULL; p++) {
		if (strncmp(*p, "HTTP_", 5) != 0)
			continue;
		if ((eq = strchr(*p, '=')) != NULL && strlen(eq + 1) > max)
			return 1;
	}
	return 0;
}

/*
 * Fills method, path, query and the other request fields from r->params.
 * The path is SCRIPT_NAME + PATH_INFO as the front end split it, or the
 * decoded path of REQUEST_URI when there is no SCRIPT_NAME. Returns REQ_OK
 * or REQ_NOMEM (the path is then "/").
 */
enum req_err
req_parse(struct req *r)
{
	const char	*sn, *pi, *uri, *q;
	char		*path;
	size_t		 snl, pil, n;

	r->method = req_param(r->params, "REQUEST_METHOD");
	if (r->method == NULL || *r->method == '\0')
		r->method = "GET";
	r->is_head = strcmp(r->method, "HEAD") == 0;
	r->query = req_param(r->params, "QUERY_STRING");
	if (r->query == NULL)
		r->query = "";
	r->remote_addr = req_param(r->params, "REMOTE_ADDR");
	r->user_agent = req_param(r->params, "HTTP_USER_AGENT");
	r->accept_encoding = req_param(r->params, "HTTP_ACCEPT_ENCODING");
	r->request_start = req_param(r->params, "REQUEST_START");

	sn = req_param(r->params, "SCRIPT_NAME");
	pi = req_param(r->params, "PATH_INFO");
	if (sn != NULL && (*sn != '\0' || (pi != NULL && *pi != '\0'))) {
		snl = strlen(sn);
		pil = pi ? strlen(pi) : 0;
		if ((path = arena_alloc(r->arena, snl + pil + 1)) == NULL)
			goto nomem;
		memcpy(path, sn, snl);
		memcpy(path + snl, pi ? pi : "", pil);
		path[snl + pil] = '\0';
	} else if ((uri = req_param(r->params, "REQUEST_URI")) != NULL) {
		/* Only the raw URI came: decode its path part. */
		q = strchr(uri, '?');
		n = q ? (size_t)(q - uri) : strlen(uri);
		if ((path = arena_alloc(r->arena, n + 1)) == NULL)
			goto nomem;
		req_url_decode(path, uri, n);
	} else {
		path = "/";
	}
	if (*path == '\0')
		path = "/";
	r->path = path;
	return REQ_OK;
nomem:
	r->path = "/";
	return REQ_NOMEM;
}

/* The environment under construction: a hash of names to slots. */
struct envb {
	struct arena	*a;
	char		**vars;		/* "NAME=value" */
	size_t		 nvars;
	size_t		*table;		/* slot + 1, or 0 for empty */
	size_t		 mask;
};

static size_t
name_len(const char *pair)
{
	const char	*eq = strchr(pair, '=');

	return eq ? (size_t)(eq - pair) : strlen(pair);
}

static size_t
name_hash(const char *s, size_t n)
{
	size_t	 h = 2166136261u, i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Returns the table cell for the name of pair (empty or matching). */
static size_t *
lookup(struct envb *e, const char *pair, size_t nl)
{
	size_t	 i = name_hash(pair, nl) & e->mask;
	size_t	 slot;

	for (;; i = (i + 1) & e->mask) {
		if (e->table[i] == 0)
			return &e->table[i];
		slot = e->table[i] - 1;
		if (strncmp(e->vars[slot], pair, nl) == 0 &&
		    e->vars[slot][nl] == '=')
			return &e->table[i];
	}
}

/*
 * Adds a front-end parameter; a second one with the same name is merged
 * into the first, with "; " for cookies and ", " otherwise (RFC 3875
 * 4.1.18, RFC 9110 5.3).
 */
static int
add_param(struct envb *e, char *pair)
{
	size_t		*cell, nl = name_len(pair), ol, vl;
	const char	*sep;
	char		*old, *m;

	cell = lookup(e, pair, nl);
	if (*cell == 0) {
		e->vars[e->nvars] = pair;
		*cell = ++e->nvars;
		return 0;
	}
	old = e->vars[*cell - 1];
	sep = nl == 11 && strncmp(pair, "HTTP_COOKIE", 11) == 0 ? "; " : ", ";
	ol = strlen(old);
	vl = strlen(pair + nl + 1);
	if ((m = arena_alloc(e->a, ol + 2 + vl + 1)) == NULL)
		return -1;
	memcpy(m, old, ol);
	memcpy(m + ol, sep, 2);
	memcpy(m + ol + 2, pair + nl + 1, vl + 1);
	e->vars[*cell - 1] = m;
	return 0;
}

/*
 * Adds a host variable; it replaces any variable of the same name. A pair
 * without '=' ("NAME") unsets NAME.
 */
static void
add_override(struct envb *e, char *pair)
{
	size_t	*cell = lookup(e, pair, name_len(pair));

	if (strchr(pair, '=') == NULL) {
		if (*cell != 0)
			e->vars[*cell - 1] = NULL;
		return;
	}
	if (*cell == 0) {
		e->vars[e->nvars] = pair;
		*cell = ++e->nvars;
	} else {
		e->vars[*cell - 1] = pair;
	}
}

static int
skip_param(const char *pair, size_t nl)
{
	static const char *drop[] = {
		"FCGI_ROLE", "HTTP_PROXY", "HTTP_CONTENT_TYPE",
		"HTTP_CONTENT_LENGTH", "REQUEST_START",
	};
	size_t	 i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strlen(drop[i]) == nl && strncmp(pair, drop[i], nl) == 0)
			return 1;
	/* RFC 3875 4.1: empty means unset, but QUERY_STRING is always set. */
	if (pair[nl] != '=' || pair[nl + 1] != '\0')
		return 0;
	return !(nl == 12 && strncmp(pair, "QUERY_STRING", 12) == 0);
}

/*
 * Builds r->env, the handler's environ, in r->arena: the front end's
 * parameters (filtered and merged as described at the top), then extra's
 * pairs, each replacing a variable of the same name ("NAME" alone unsets
 * it). QUERY_STRING is set
 * even when the front end did not send it. Returns REQ_OK or REQ_NOMEM.
 */
enum req_err
req_build_env(struct req *r, const struct req_env_extra *extra)
{
	struct envb	 e;
	size_t		 n, i, size, nl;
	char		**p;

	n = 1;
	for (p = r->params; p != NULL && *p != NULL; p++)
		n++;
	n += extra->npairs;
	for (size = 16; size < 2 * n; size *= 2)
		;
	e.a = r->arena;
	e.nvars = 0;
	e.mask = size - 1;
	e.vars = arena_alloc(r->arena, (n + 1) * sizeof(char *));
	e.table = arena_calloc(r->arena, size, sizeof(size_t));
	if (e.vars == NULL || e.table == NULL)
		return REQ_NOMEM;
	for (p = r->params; p != NULL && *p != NULL; p++) {
		nl = name_len(*p);
		if ((*p)[nl] != '=' || nl == 0 || skip_param(*p, nl))
			continue;
		if (add_param(&e, *p) == -1)
			return REQ_NOMEM;
	}
	if (*lookup(&e, "QUERY_STRING", 12) == 0)
		add_override(&e, "QUERY_STRING=");
	for (i = 0; i < extra->npairs; i++)
		add_override(&e, extra->pairs[i]);
	/* Squeeze out the unset ones. */
	for (i = n = 0; i < e.nvars; i++)
		if (e.vars[i] != NULL)
			e.vars[n++] = e.vars[i];
	e.vars[n] = NULL;
	r->env = e.vars;
	return REQ_OK;
}

/*
 * Writes REQUEST_LOG_ID into out (REQ_ID_LEN + 1 bytes): the start time in
 * microseconds as 16 hex digits, so that ids sort by start, then 16 digits
 * of the worker's random bits and 8 of its request counter, which make it
 * unique across workers and hosts.
 */
void
req_id_format(char *out, long long start_us, uint64_t instance_bits,
    uint32_t counter)
{
	static const char hex[] = "0123456789abcdef";
	unsigned long long v;
	int		 i;

	v = (unsigned long long)start_us;
	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = hex[v & 15];
	v = instance_bits;
	for (i = 31; i >= 16; i--, v >>= 4)
		out[i] = hex[v & 15];
	v = counter;
	for (i = 39; i >= 32; i--, v >>= 4)
		out[i] = hex[v & 15];
	out[REQ_ID_LEN] = '\0';
}
