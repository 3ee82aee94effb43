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
#include <stdlib.h>
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

/* The parameters req_parse() keeps, by name: the first of each. */
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
#define NWANTED	(sizeof(wanted) / sizeof(wanted[0]))

/* The parameters that make the path: the last of each. */
enum { PATH_SN, PATH_PI, PATH_URI, PATH_N };

/* A name in a layout: its bytes are in the layout's text. */
struct lname {
	size_t		 off;		/* of the name in the text */
	size_t		 len;
	int		 flag;		/* parameter: value empty (1) or not
					 * (0), -1 if that changes nothing;
					 * host pair: sets (has '=') */
	int		 slot;		/* environment slot written, or -1 */
};

/* Names, one after another. */
struct ltext {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

/*
 * The layout of the last request: front ends send the same parameter
 * names in the same order on every request (nginx: those of the
 * location), and the host adds the same names; only the values change.
 * req_parse() records the parameters (each name, whether its value was
 * empty when that matters, which ones hold the fields it keeps and the
 * HTTP_* headers); req_build_env() records, for those parameters, the
 * environment slot each one and each host pair wrote (an empty parameter
 * is left out, which moves the others). A request that matches the names
 * (one strncmp each) and emptiness reuses all of it: no search for '=',
 * no field lookup, no hashing; any other is done in full and recorded.
 */
struct req_layout {
	int		 pvalid;	/* the parameter part holds */
	size_t		 nparams;
	struct lname	*params;
	size_t		 pcap;
	struct ltext	 ptext;
	int		 field[NWANTED]; /* parameter index, or -1 */
	int		 path[PATH_N];
	int		*http;		/* the HTTP_* parameters */
	size_t		 nhttp;
	int		 evalid;	/* the environment part holds */
	size_t		 nextra;
	struct lname	*extra;
	size_t		 ecap;
	struct ltext	 etext;
	int		 qs_slot;	/* QUERY_STRING= added, or -1 */
	size_t		 nslots;	/* before unset ones are squeezed */
	unsigned long	 hits;		/* environments built from it */
	unsigned long	 parse_hits;	/* requests parsed from it */
};

/* Appends len bytes of name to t; returns their offset, or -1. */
static long
text_add(struct ltext *t, const char *name, size_t len)
{
	size_t	 cap;
	char	*p;

	/* Allocated even for an empty name: t->p + off must be valid. */
	if (t->p == NULL || len > t->cap - t->len) {
		cap = t->cap * 2 + len + 256;
		if ((p = realloc(t->p, cap)) == NULL)
			return -1;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, name, len);
	t->len += len;
	return (long)(t->len - len);
}

/* Makes room for n names in *v (capacity *cap). Returns 0 or -1. */
static int
names_room(struct lname **v, size_t *cap, size_t n)
{
	struct lname	*p;

	if (n <= *cap)
		return 0;
	if ((p = reallocarray(*v, n, sizeof(*p))) == NULL)
		return -1;
	*v = p;
	*cap = n;
	return 0;
}

/* Records a name in v[i]: a copy in t, its flag, no slot yet. */
static int
name_add(struct lname *v, size_t i, struct ltext *t, const char *name,
    size_t len, int flag)
{
	long	 off;

	if ((off = text_add(t, name, len)) == -1)
		return -1;
	v[i].off = (size_t)off;
	v[i].len = len;
	v[i].flag = flag;
	v[i].slot = -1;
	return 0;
}

/*
 * 1 if pair starts with n's name (strncmp, not memcmp: pair may be
 * shorter, and no byte past its NUL may be read) followed by '=', or by
 * NUL when nul_ok.
 */
static int
same_name(const struct ltext *t, const struct lname *n, const char *pair,
    int nul_ok)
{
	return strncmp(pair, t->p + n->off, n->len) == 0 &&
	    (pair[n->len] == '=' || (nul_ok && pair[n->len] == '\0'));
}

static int	 dropped_name(const char *, size_t);
static int	 empty_unsets(const char *, size_t);

/* 1 if params have the names and emptiness of l's parameter part. */
static int
params_match(const struct req_layout *l, char **params)
{
	const struct lname *n;
	size_t		 i;

	if (!l->pvalid)
		return 0;
	for (i = 0; params != NULL && params[i] != NULL; i++) {
		n = &l->params[i];
		if (i == l->nparams || !same_name(&l->ptext, n, params[i], 0) ||
		    (n->flag >= 0 && (params[i][n->len + 1] == '\0') !=
		    n->flag))
			return 0;
	}
	return i == l->nparams;
}

/* Fills r's fields from a matching layout. */
static void
parse_known(struct req *r, const struct req_layout *l, const char **path)
{
	size_t	 i, vl;

	for (i = 0; i < NWANTED; i++)
		if (l->field[i] >= 0)
			*(const char **)((char *)r + wanted[i].off) =
			    r->params[l->field[i]] +
			    l->params[l->field[i]].len + 1;
	for (i = 0; i < PATH_N; i++)
		path[i] = l->path[i] < 0 ? NULL : r->params[l->path[i]] +
		    l->params[l->path[i]].len + 1;
	for (i = 0; i < l->nhttp; i++)
		if ((vl = strlen(r->params[l->http[i]] +
		    l->params[l->http[i]].len + 1)) > r->longest_header)
			r->longest_header = vl;
}

/*
 * Reads r->params in full, recording their layout in l (if not NULL).
 * Returns 1 when l now describes them.
 */
static int
parse_all(struct req *r, struct req_layout *l, const char **path)
{
	static const char *const path_names[PATH_N] = {
		"SCRIPT_NAME", "PATH_INFO", "REQUEST_URI"
	};
	const char	*eq;
	size_t		 nl, i, k, vl, n = 0;
	int		 rec, flag;

	for (i = 0; r->params != NULL && r->params[i] != NULL; i++)
		n++;
	if ((rec = l != NULL)) {
		l->pvalid = l->evalid = 0;
		l->nparams = l->nhttp = l->ptext.len = 0;
		for (k = 0; k < NWANTED; k++)
			l->field[k] = -1;
		for (k = 0; k < PATH_N; k++)
			l->path[k] = -1;
		if (names_room(&l->params, &l->pcap, n) == -1 ||
		    (l->http = reallocarray(l->http, n + 1, sizeof(int))) ==
		    NULL)
			rec = 0;
	}
	for (i = 0; i < n; i++) {
		if ((eq = strchr(r->params[i], '=')) == NULL) {
			rec = 0;	/* not a layout to keep */
			continue;
		}
		nl = (size_t)(eq - r->params[i]);
		if (rec) {
			flag = dropped_name(r->params[i], nl) ||
			    !empty_unsets(r->params[i], nl) ? -1 :
			    eq[1] == '\0';
			if (name_add(l->params, i, &l->ptext, r->params[i], nl,
			    flag) == -1)
				rec = 0;
		}
		if (nl > 5 && memcmp(r->params[i], "HTTP_", 5) == 0) {
			if ((vl = strlen(eq + 1)) > r->longest_header)
				r->longest_header = vl;
			if (rec)
				l->http[l->nhttp++] = (int)i;
		}
		for (k = 0; k < PATH_N; k++)
			if (nl == strlen(path_names[k]) &&
			    memcmp(r->params[i], path_names[k], nl) == 0) {
				path[k] = eq + 1;
				if (rec)
					l->path[k] = (int)i;
				break;
			}
		if (k < PATH_N)
			continue;
		for (k = 0; k < NWANTED; k++)
			if (wanted[k].len == nl &&
			    wanted[k].name[0] == r->params[i][0] &&
			    memcmp(r->params[i], wanted[k].name, nl) == 0 &&
			    *(const char **)((char *)r + wanted[k].off) ==
			    NULL) {
				*(const char **)((char *)r + wanted[k].off) =
				    eq + 1;
				if (rec)
					l->field[k] = (int)i;
			}
	}
	if (rec) {
		l->nparams = n;
		l->pvalid = 1;
	}
	return rec;
}

/*
 * Fills method, path, query and the other request fields from r->params
 * in one pass, and notes the longest HTTP_* value (for max_header_size).
 * The path is SCRIPT_NAME + PATH_INFO as the front end split it, or the
 * decoded path of REQUEST_URI when there is no SCRIPT_NAME. With a layout
 * cache l (may be NULL), parameters named as last time are read from the
 * layout, and others recorded; req_build_env() then uses the same cache.
 * Returns REQ_OK or REQ_NOMEM (the path is then "/").
 */
enum req_err
req_parse(struct req *r, struct req_layout *l)
{
	const char	*pp[PATH_N] = { NULL, NULL, NULL }, *q;
	const char	*sn, *pi, *uri;
	char		*path;
	size_t		 snl, pil, n, i;

	for (i = 0; i < NWANTED; i++)
		*(const char **)((char *)r + wanted[i].off) = NULL;
	r->longest_header = 0;
	if (l != NULL && params_match(l, r->params)) {
		parse_known(r, l, pp);
		l->parse_hits++;
		r->layout = 1;
	} else {
		r->layout = parse_all(r, l, pp);
	}
	sn = pp[PATH_SN];
	pi = pp[PATH_PI];
	uri = pp[PATH_URI];
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

/*
 * Returns the table cell for the name of pair (empty or matching). A cell
 * keeps the name's length, so only names of the same length are compared.
 */
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

/* Puts pair in a new slot, recorded in the empty cell. Returns the slot. */
static int
add_new(struct envb *e, uint64_t *cell, char *pair, size_t nl)
{
	e->vars[e->nvars] = pair;
	*cell = (uint64_t)nl << 32 | ++e->nvars;
	return (int)e->nvars - 1;
}

/*
 * Adds a front-end parameter; a second one with the same name is merged
 * into the first, with "; " for cookies and ", " otherwise (RFC 3875
 * 4.1.18, RFC 9110 5.3). Returns its new slot, SLOT_MERGED, or -1 when out
 * of memory.
 */
#define SLOT_MERGED	(-2)
static int
add_param(struct envb *e, char *pair, size_t nl)
{
	uint64_t	*cell;
	size_t		 ol, vl;
	const char	*sep;
	char		*old, *m;

	cell = lookup(e, pair, nl);
	if (*cell == 0)
		return add_new(e, cell, pair, nl);
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
	return SLOT_MERGED;
}

/*
 * Adds a host variable; it replaces any variable of the same name. A pair
 * without '=' ("NAME") unsets NAME. Returns the slot it wrote, or -1 (an
 * unset of a name that is not there).
 */
static int
add_override(struct envb *e, char *pair)
{
	uint64_t	*cell;
	size_t		 nl;
	int		 has_eq;

	nl = name_len(pair, &has_eq);
	cell = lookup(e, pair, nl);
	if (*cell == 0)
		return has_eq ? add_new(e, cell, pair, nl) : -1;
	e->vars[(uint32_t)*cell - 1] = has_eq ? pair : NULL;
	return (int)(uint32_t)*cell - 1;
}

static int
dropped_name(const char *pair, size_t nl)
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
	return 0;
}

/* RFC 3875 4.1: an empty value means unset, but QUERY_STRING is always
 * set. Returns 1 if the emptiness of pair's value decides. */
static int
empty_unsets(const char *pair, size_t nl)
{
	return !(nl == 12 && memcmp(pair, "QUERY_STRING", 12) == 0);
}

static int
skip_param(const char *pair, size_t nl)
{
	return dropped_name(pair, nl) ||
	    (pair[nl + 1] == '\0' && empty_unsets(pair, nl));
}

/*
 * Returns a new, empty layout cache for req_parse() and req_build_env(),
 * or NULL when out of memory. Release it with req_layout_free().
 */
struct req_layout *
req_layout_new(void)
{
	return calloc(1, sizeof(struct req_layout));
}

/*
 * Returns how many environments were built from cached layouts, or with
 * parse set, how many requests were parsed from one.
 */
unsigned long
req_layout_hits(const struct req_layout *l, int parse)
{
	return parse ? l->parse_hits : l->hits;
}

/*
 * Releases a layout cache (NULL is fine).
 */
void
req_layout_free(struct req_layout *l)
{
	if (l == NULL)
		return;
	free(l->params);
	free(l->ptext.p);
	free(l->http);
	free(l->extra);
	free(l->etext.p);
	free(l);
}

/* 1 if extra has the names and sets/unsets of l's environment part. */
static int
extra_match(const struct req_layout *l, const struct req_env_extra *x)
{
	const struct lname *n;
	size_t		 i;

	if (!l->evalid || x->npairs != l->nextra)
		return 0;
	for (i = 0; i < x->npairs; i++) {
		n = &l->extra[i];
		if (!same_name(&l->etext, n, x->pairs[i], 1) ||
		    (x->pairs[i][n->len] == '=') != n->flag)
			return 0;
	}
	return 1;
}

/* Builds the environment as l says (extra_match() returned 1). */
static enum req_err
layout_build(const struct req_layout *l, struct req *r,
    const struct req_env_extra *x)
{
	char		**vars;
	size_t		 i, k;

	if ((vars = arena_alloc(r->arena, (l->nslots + 1) * sizeof(*vars))) ==
	    NULL)
		return REQ_NOMEM;
	for (i = 0; i < l->nparams; i++)
		if (l->params[i].slot >= 0)
			vars[l->params[i].slot] = r->params[i];
	if (l->qs_slot >= 0)
		vars[l->qs_slot] = "QUERY_STRING=";
	for (i = 0; i < l->nextra; i++)
		if (l->extra[i].slot >= 0)
			vars[l->extra[i].slot] = l->extra[i].flag ?
			    x->pairs[i] : NULL;
	for (i = k = 0; i < l->nslots; i++)
		if (vars[i] != NULL)
			vars[k++] = vars[i];
	vars[k] = NULL;
	r->env = vars;
	return REQ_OK;
}

/*
 * Builds r->env, the handler's environ, in r->arena: the front end's
 * parameters (filtered and merged as described at the top), then extra's
 * pairs, each replacing a variable of the same name ("NAME" alone unsets
 * it). QUERY_STRING is set even when the front end did not send it.
 * With the layout cache l that req_parse() used for r (may be NULL), a
 * request like the last one reuses its layout, and any other records its
 * own. Returns REQ_OK or REQ_NOMEM.
 */
enum req_err
req_build_env(struct req *r, const struct req_env_extra *extra,
    struct req_layout *l)
{
	struct envb	 e;
	size_t		 n, i, size, nl;
	char		**p;
	int		 has_eq, slot, rec;

	if (l != NULL && !r->layout)
		l = NULL;	/* l does not describe r->params */
	if (l != NULL && extra_match(l, extra)) {
		l->hits++;
		return layout_build(l, r, extra);
	}
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
	rec = l != NULL && names_room(&l->extra, &l->ecap,
	    extra->npairs) == 0;
	if (l != NULL) {
		l->evalid = 0;
		l->nextra = l->etext.len = 0;
	}
	for (i = 0, p = r->params; p != NULL && *p != NULL; p++, i++) {
		nl = name_len(*p, &has_eq);
		slot = -1;
		if (has_eq && nl > 0 && nl <= UINT32_MAX &&
		    !skip_param(*p, nl) &&
		    (slot = add_param(&e, *p, nl)) == -1)
			return REQ_NOMEM;
		if (slot == SLOT_MERGED)
			rec = 0;	/* a merge: not a layout to keep */
		else if (rec)
			l->params[i].slot = slot;
	}
	if (*lookup(&e, "QUERY_STRING", 12) == 0)
		slot = add_override(&e, "QUERY_STRING=");
	else
		slot = -1;
	if (rec)
		l->qs_slot = slot;
	for (i = 0; i < extra->npairs; i++) {
		slot = add_override(&e, extra->pairs[i]);
		nl = name_len(extra->pairs[i], &has_eq);
		if (rec && name_add(l->extra, i, &l->etext, extra->pairs[i],
		    nl, has_eq) == -1)
			rec = 0;
		if (rec)
			l->extra[i].slot = slot;
	}
	if (rec) {
		l->nextra = extra->npairs;
		l->nslots = e.nvars;
		l->evalid = 1;
	}
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
