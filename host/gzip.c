/*
 * gzip.c: gzip for buffered responses. The decision is pure: the client
 * must admit gzip in Accept-Encoding (q-values honoured: "gzip;q=0"
 * refuses it, "*" admits it unless gzip itself is refused), the response
 * must be text-based, not encoded already, of a status with a body and at
 * least compress_min_size long. A client that sends "gzip" both in
 * Accept-Encoding and in User-Agent forces compression of any body (App
 * Engine's rule, for clients behind proxies that hide their encodings).
 *
 * Compression reuses one deflate stream per process (deflateReset costs
 * about 1.5 us; deflateInit2 per response costs 19 page faults, see
 * shared/notes). The stream is created by the first response compressed:
 * its 256 KiB of state, and the pages of zlib's code, stay out of the
 * memory of workers that never compress. Runs in the serving thread.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "gzip.h"

struct gzip {
	z_stream	 zs;
	int		 level;		/* 1-9 */
	int		 ready;		/* zs is initialized */
};

/* Parses a q-value ("0.5"); returns it times 1000. */
static int
qvalue(const char *s, size_t n)
{
	int	 v = 0, scale = 1000;
	size_t	 i = 0;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return 1000;
	v = (s[0] - '0') * 1000;
	if (n > 1 && s[1] == '.')
		for (i = 2; i < n && i < 5 && isdigit((unsigned char)s[i]);
		    i++) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		}
	return v > 1000 ? 1000 : v;
}

/* Returns the q of one list element "coding;q=x" (1000 without q). */
static int
element_q(const char *p, size_t n)
{
	const char	*semi, *q;
	size_t		 rest;

	while ((semi = memchr(p, ';', n)) != NULL) {
		rest = n - (size_t)(semi - p) - 1;
		p = semi + 1;
		n = rest;
		while (n > 0 && (*p == ' ' || *p == '\t'))
			p++, n--;
		if (n >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			q = p + 2;
			rest = n - 2;
			while (rest > 0 && q[rest - 1] == ' ')
				rest--;
			return qvalue(q, strcspn(q, ";") < rest ?
			    strcspn(q, ";") : rest);
		}
	}
	return 1000;
}

/*
 * Returns 1 if an Accept-Encoding value admits gzip (RFC 9110 12.5.3).
 */
int
gzip_accepts(const char *ae)
{
	const char	*p, *end;
	size_t		 n, name;
	int		 gzip_q = -1, star_q = -1;

	if (ae == NULL)
		return 0;
	for (p = ae; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(end - p);
		name = 0;
		while (name < n && p[name] != ';' && p[name] != ' ' &&
		    p[name] != '\t')
			name++;
		if ((name == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		    (name == 6 && strncasecmp(p, "x-gzip", 6) == 0))
			gzip_q = element_q(p, n);
		else if (name == 1 && p[0] == '*')
			star_q = element_q(p, n);
	}
	if (gzip_q != -1)
		return gzip_q > 0;
	return star_q > 0;
}

/*
 * Returns 1 if a Content-Type value (len bytes) is text-based: any text,
 * JSON, JavaScript, XML, SVG, or any +json or +xml type.
 */
int
gzip_type_ok(const char *ct, size_t len)
{
	static const char *types[] = {
		"application/json", "application/javascript",
		"application/x-javascript", "application/ecmascript",
		"application/xml", "image/svg+xml",
	};
	size_t	 n, i;

	if (ct == NULL)
		return 0;
	for (n = 0; n < len && ct[n] != ';' && ct[n] != ' '; n++)
		;
	if (n >= 5 && strncasecmp(ct, "text/", 5) == 0)
		return 1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == n && strncasecmp(ct, types[i], n) == 0)
			return 1;
	return n > 5 && (strncasecmp(ct + n - 5, "+json", 5) == 0 ||
	    (strncasecmp(ct + n - 4, "+xml", 4) == 0));
}

static int
has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static int
forced(const struct gzip_facts *f)
{
	return f->user_agent != NULL && strstr(f->user_agent, "gzip") &&
	    gzip_accepts(f->accept_encoding);
}

/*
 * Returns 1 if the response depends on Accept-Encoding, i.e. it would be
 * compressed for a client that admits gzip: it then needs
 * "Vary: Accept-Encoding" whichever way this client is answered.
 */
int
gzip_varies(const struct gzip_facts *f)
{
	return f->enabled && !f->encoded && has_body(f->status) &&
	    f->body_len > 0 && f->body_len >= f->min_len &&
	    gzip_type_ok(f->content_type, f->content_type_len);
}

/*
 * Returns 1 if this response should be gzipped for this client.
 */
int
gzip_wanted(const struct gzip_facts *f)
{
	if (!f->enabled || f->encoded || !has_body(f->status) ||
	    f->body_len == 0)
		return 0;
	if (forced(f))
		return 1;
	return gzip_varies(f) && gzip_accepts(f->accept_encoding);
}

/*
 * Returns 1 if a Vary value (n bytes) already covers the field name: it
 * lists it (in any case) or is "*". Vary is a list of field names (RFC
 * 9110 12.5.5), so "X-Accept-Encoding" does not cover Accept-Encoding.
 */
int
gzip_vary_has(const char *v, size_t n, const char *name)
{
	size_t	 i = 0, start, end, nl = strlen(name);

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' ||
		    v[end - 1] == '\t'))
			end--;
		if ((end - start == 1 && v[start] == '*') ||
		    (end - start == nl && strncasecmp(v + start, name,
		    nl) == 0))
			return 1;
	}
	return 0;
}

/*
 * Creates the process's compressor at level (1-9); the deflate stream
 * itself comes with the first gzip_compress(). Returns NULL when out of
 * memory.
 */
struct gzip *
gzip_new(int level)
{
	struct gzip	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->level = level;
	return g;
}

/*
 * Compresses len bytes into out (replacing its content) as a gzip member.
 * Returns 0, or -1 when out of memory or zlib fails.
 */
int
gzip_compress(struct gzip *g, const char *in, size_t len, struct buf *out)
{
	uLong	 bound;
	int	 rc;

	buf_reset(out);
	if (!g->ready) {
		if (deflateInit2(&g->zs, g->level, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		g->ready = 1;
	} else if (deflateReset(&g->zs) != Z_OK) {
		return -1;
	}
	bound = deflateBound(&g->zs, (uLong)len);
	if (buf_reserve(out, bound) == -1)
		return -1;
	g->zs.next_in = (Bytef *)(uintptr_t)in;
	g->zs.next_out = (Bytef *)out->data;
	g->zs.avail_out = 0;
	/* avail_in is 32 bits: feed the input in slices. */
	do {
		g->zs.avail_in = len > (1U << 30) ? 1U << 30 : (uInt)len;
		len -= g->zs.avail_in;
		g->zs.avail_out = (uInt)(bound - g->zs.total_out);
		rc = deflate(&g->zs, len > 0 ? Z_NO_FLUSH : Z_FINISH);
	} while (len > 0 && rc == Z_OK);
	if (rc != Z_STREAM_END)
		return -1;
	out->len = g->zs.total_out;
	out->data[out->len] = '\0';
	return 0;
}
