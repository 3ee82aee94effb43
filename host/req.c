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
#include <stddef.h>
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

/* The parameters req_parse() keeps, by name. */
static const struct {
	const char	*name;
	size_t		 len;
	size_t		 off;		/* of the const char * in struct req */
} wanted[] = {
#define W(n, f)	{ n, sizeof(n) - 1, offsetof(struct req, f) }
	W("REQUEST_METHOD", method),
	W("QUERY_STRING", query),
	W("REMOTE_ADDR", remote_addr),
	W("REMOTE_HOST", remote_host),
	W("HTTP_USER_AGENT", user_agent),
	W("HTTP_ACCEPT_ENCODING", accept_encoding),
	W("REQUEST_START", request_start),
	W("CONTENT_LENGTH", content_length),
	W("DOCUMENT_ROOT", document_root),
#undef W
};

/*
 * Fills method, path, query and the other request fields from r->params
 * in one pass, and notes the longest HTTP_* value (for max_header_size).
 * The path is SCRIPT_NAME + PATH_INFO as the front end split it, or the
 * decoded path of REQUEST_URI when there is no SCRIPT_NAME. Returns REQ_OK
 * or REQ_NOMEM (the path is then "/").
 */
enum req_err
req_parse(struct req *r)
{
	const char	*sn = NULL, *pi = NULL, *uri = NULL, *q, *eq;
	char		*path, **p;
	size_t		 snl, pil, n, nl, i, vl;

	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		*(const char **)((char *)r + wanted[i].off) = NULL;
	r->longest_header = 0;
	for (p = r->params; p != NULL && *p != NULL; p++) {
		if ((eq = strchr(*p, '=')) == NULL)
			continue;
		nl = (size_t)(eq - *p);
		if (nl > 5 && memcmp(*p, "HTTP_", 5) == 0 &&
		    (vl = strlen(eq + 1)) > r->longest_header)
			r->longest_header = vl;
		if (nl == 11 && memcmp(*p, "SCRIPT_NAME", 11) == 0)
			sn = eq + 1;
		else if (nl == 9 && memcmp(*p, "PATH_INFO", 9) == 0)
			pi = eq + 1;
		else if (nl == 11 && memcmp(*p, "REQUEST_URI", 11) == 0)
			uri = eq + 1;
		else
			for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]);
			    i++)
				if (wanted[i].len == nl &&
				    wanted[i].name[0] == **p &&
				    memcmp(*p, wanted[i].name, nl) == 0 &&
				    *(const char **)((char *)r +
				    wanted[i].off) == NULL)
					*(const char **)((char *)r +
					    wanted[i].off) = eq + 1;
	}
	if (r->method == NULL || *r->method == '\0')
		r->method = "GET";
	r->is_head = strcmp(r->method, "HEAD") == 0;
	if (r->query == NULL)
		r->query = "";
	if (sn != NULL && (*sn != '\0' || (pi != NULL && *pi != '\0'))) {
		snl = strlen(sn);
		pil = pi ? strlen(pi) : 0;
		if ((path = arena_alloc(r->arena, snl + pil + 1)) == NULL)
			goto nomem;
		memcpy(path, sn, snl);
		memcpy(path + snl, pi ? pi : "", pil);
		path[snl + pil] = '\0';
	} else if (uri != NULL) {
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
	uint64_t	*table;		/* name length << 32 | slot + 1; 0 empty */
	size_t		 mask;
};

/* Length of the name of "NAME=value" or "NAME"; sets *has_eq. */
static size_t
name_len(const char *pair, int *has_eq)
{
	const char	*eq = strchr(pair, '=');

	*has_eq = eq != NULL;
	return eq ? (size_t)(eq - pair) : strlen(pair);
}

/*
 * A cheap hash of a variable name: its length and three of its bytes.
 * Collisions only cost a comparison; names share long prefixes (HTTP_)
 * but rarely their length, middle and end.
 */
static size_t
name_hash(const char *s, size_t n)
{
	size_t	 h = n * 2654435761u;

	if (n > 0)
		h ^= (size_t)(unsigned char)s[n - 1] << 7 ^
		    (size_t)(unsigned char)s[n / 2] << 15 ^
		    (size_t)(unsigned char)s[n > 6 ? 5 : 0] << 23;
	return h * 0x9e3779b97f4a7c15ULL >> 17;
}

/* Returns the table cell for the name of pair (empty or matching). A
 * cell keeps the name's length, so only names of the same length are
 * compared. */
static uint64_t *
lookup(struct envb *e, const char *pair, size_t nl)
{
	size_t	 i = name_hash(pair, nl) & e->mask;

	for (;; i = (i + 1) & e->mask) {
		if (e->table[i] == 0)
			return &e->table[i];
		if (e->table[i] >> 32 == nl && memcmp(e->vars[(uint32_t)
		    e->table[i] - 1], pair, nl) == 0)
			return &e->table[i];
	}
}

/* Puts pair in a new slot, recorded in the empty cell. */
static void
add_new(struct envb *e, uint64_t *cell, char *pair, size_t nl)
{
	e->vars[e->nvars] = pair;
	*cell = (uint64_t)nl << 32 | ++e->nvars;
}

/*
 * Adds a front-end parameter; a second one with the same name is merged
 * into the first, with "; " for cookies and ", " otherwise (RFC 3875
 * 4.1.18, RFC 9110 5.3).
 */
static int
add_param(struct envb *e, char *pair, size_t nl)
{
	uint64_t	*cell;
	size_t		 ol, vl;
	const char	*sep;
	char		*old, *m;

	cell = lookup(e, pair, nl);
	if (*cell == 0) {
		add_new(e, cell, pair, nl);
		return 0;
	}
	old = e->vars[(uint32_t)*cell - 1];
	sep = nl == 11 && strncmp(pair, "HTTP_COOKIE", 11) == 0 ? "; " : ", ";
	ol = strlen(old);
	vl = strlen(pair + nl + 1);
	if ((m = arena_alloc(e->a, ol + 2 + vl + 1)) == NULL)
		return -1;
	memcpy(m, old, ol);
	memcpy(m + ol, sep, 2);
	memcpy(m + ol + 2, pair + nl + 1, vl + 1);
	e->vars[(uint32_t)*cell - 1] = m;
	return 0;
}

/*
 * Adds a host variable; it replaces any variable of the same name. A pair
 * without '=' ("NAME") unsets NAME.
 */
static void
add_override(struct envb *e, char *pair)
{
	uint64_t	*cell;
	size_t		 nl;
	int		 has_eq;

	nl = name_len(pair, &has_eq);
	cell = lookup(e, pair, nl);
	if (!has_eq) {
		if (*cell != 0)
			e->vars[(uint32_t)*cell - 1] = NULL;
		return;
	}
	if (*cell == 0)
		add_new(e, cell, pair, nl);
	else
		e->vars[(uint32_t)*cell - 1] = pair;
}

static int
skip_param(const char *pair, size_t nl)
{
	static const struct {
		const char	*name;
		size_t		 len;
	} drop[] = {
#define D(n)	{ n, sizeof(n) - 1 }
		D("FCGI_ROLE"), D("HTTP_PROXY"), D("HTTP_CONTENT_TYPE"),
		D("HTTP_CONTENT_LENGTH"), D("REQUEST_START"),
#undef D
	};
	size_t	 i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (drop[i].len == nl && drop[i].name[0] == pair[0] &&
		    memcmp(pair, drop[i].name, nl) == 0)
			return 1;
	/* RFC 3875 4.1: empty means unset, but QUERY_STRING is always set. */
	if (pair[nl + 1] != '\0')
		return 0;
	return !(nl == 12 && memcmp(pair, "QUERY_STRING", 12) == 0);
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
	int		 has_eq;

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
	e.table = arena_calloc(r->arena, size, sizeof(*e.table));
	if (e.vars == NULL || e.table == NULL)
		return REQ_NOMEM;
	for (p = r->params; p != NULL && *p != NULL; p++) {
		nl = name_len(*p, &has_eq);
		if (!has_eq || nl == 0 || nl > UINT32_MAX ||
		    skip_param(*p, nl))
			continue;
		if (add_param(&e, *p, nl) == -1)
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
