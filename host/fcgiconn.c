/*
 * fcgiconn.c: the FastCGI side of a worker (FastCGI 1.0, the responder
 * role): reads a connection's records, checks each one (fcgirec.c) before
 * using it, answers the management records, builds the request's
 * parameters and frames the response in FCGI_STDOUT records and
 * FCGI_END_REQUEST. Called by worker.c for the connections it accepted.
 *
 * libfcgi is not used. It trusts the peer (fcgirec.h lists what crafted
 * records do to it), and its per-request allocations (a string per
 * parameter, three streams with their buffers) cost more instructions
 * than everything else a module request does.
 *
 * Reading: one read() usually brings the whole request, as nginx writes
 * FCGI_BEGIN_REQUEST, the parameters and (without a large body) the
 * stdin records at once. The parameters' content is gathered in one
 * buffer and decoded there, in place, into the "NAME=VALUE" strings of
 * an environment. The body is taken from the bytes already read, reading
 * more only while it has not all come. Bytes after the request (nginx
 * never pipelines) make the connection unfit to keep.
 *
 * Writing: the response goes out in FCGI_STDOUT records gathered in a
 * buffer, written when it holds OUT_FLUSH bytes, when the pipeline
 * flushes, and at the end with the empty FCGI_STDOUT record and
 * FCGI_END_REQUEST: one write() for a small response.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgiconn.h"
#include "fcgirec.h"
#include "io.h"
#include "log.h"

#define WINDOW		(256 << 10)	/* read at once; > 2 records */
#define OUT_FLUSH	(64 << 10)	/* response bytes gathered */
#define OUT_KEEP	(256 << 10)	/* output buffer kept between requests */
#define REC_MAX		65535		/* content of one record */

struct fcgiconn {
	struct fcgirec	 rec;
	unsigned char	*buf;		/* WINDOW bytes read */
	size_t		 len;		/* bytes in buf */
	size_t		 off;		/* first byte not yet parsed */
	int		 fd;		/* the connection */
	int		 junk;		/* bytes after the request came */
	struct buf	 params;	/* PARAMS content, then NAME=VALUE\0... */
	char		**env;		/* into params, NULL-terminated */
	size_t		 nenv;		/* room in env */
	struct buf	 out;		/* framed records not yet written */
	size_t		 open_rec;	/* offset of the STDOUT record filling */
	size_t		 open_len;	/* its content so far; 0: none open */
	int		 werr;		/* a write failed: the peer is gone */
};

/*
 * Creates a worker's connection state. Returns NULL (errno set) on
 * failure.
 */
struct fcgiconn *
fcgiconn_new(void)
{
	struct fcgiconn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->buf = malloc(WINDOW)) == NULL) {
		free(c);
		return NULL;
	}
	buf_init(&c->params);
	buf_init(&c->out);
	c->fd = -1;
	return c;
}

/* Answers a management record on the connection. Returns 0 or -1. */
static int
answer(struct fcgiconn *c, const struct fcgirec_rec *r)
{
	unsigned char	 out[96];
	size_t		 n;

	if (r->kind == FCGIREC_VALUES)
		n = fcgirec_values_result(r->content, r->content_len, out,
		    sizeof(out));
	else
		n = fcgirec_unknown_type(r->type, out, sizeof(out));
	return io_write_all(c->fd, out, n);
}

/*
 * Reads more of the connection into buf. Returns the number of bytes
 * read, or 0 at end of file or on an error.
 */
static size_t
fill(struct fcgiconn *c)
{
	ssize_t	 n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	do
		n = read(c->fd, c->buf + c->len, WINDOW - c->len);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return (size_t)n;
}

/*
 * Takes the next checked record, reading as needed. Returns its kind;
 * FCGIREC_BAD also at end of file (logged unless it is a plain close).
 * Management records are answered and skipped.
 */
static enum fcgirec_kind
next(struct fcgiconn *c, struct fcgirec_rec *r)
{
	enum fcgirec_kind k;

	for (;;) {
		k = fcgirec_next(&c->rec, c->buf + c->off, c->len - c->off, r);
		if (k == FCGIREC_NEED) {
			if (fill(c) == 0)
				return FCGIREC_BAD;
			continue;
		}
		if (k == FCGIREC_BAD) {
			log_warnx("fastcgi: %s; connection closed",
			    c->rec.error);
			return k;
		}
		c->off += r->len;
		if (k != FCGIREC_VALUES && k != FCGIREC_MGMT_UNKNOWN)
			return k;
		if (answer(c, r) == -1)
			return FCGIREC_BAD;
	}
}

/*
 * Turns the parameters' name-value pairs (whole and well-formed: fcgirec.c
 * checked them) into "NAME=VALUE" strings, in place, moving only the
 * names: a pair starts with at least two length bytes, so its name moves
 * one byte back over the last of them, the '=' takes the name's last
 * byte's place, the value stays, and the NUL goes on the first length
 * byte of the next pair, once that is read (after the last pair, on the
 * byte a buf keeps for its NUL). Returns 0 or -1 (no memory).
 */
static int
decode_params(struct fcgiconn *c)
{
	const unsigned char *p = (const unsigned char *)c->params.data;
	const unsigned char *end = p;
	char		*w, *nul = NULL, **env;
	size_t		 nl, vl, n = 0, room;

	if (c->params.len > 0)		/* else data may be NULL */
		end = p + c->params.len;
	while (p < end) {
		nl = (size_t)fcgirec_pair_len(&p, end);
		vl = (size_t)fcgirec_pair_len(&p, end);
		if (nul != NULL)
			*nul = '\0';	/* the previous string's end */
		if (n + 1 >= c->nenv) {
			room = c->nenv ? c->nenv * 2 : 64;
			if ((env = reallocarray(c->env, room, sizeof(*env))) ==
			    NULL)
				return -1;
			c->env = env;
			c->nenv = room;
		}
		w = (char *)p - 1;
		memmove(w, p, nl);
		w[nl] = '=';
		c->env[n++] = w;
		p += nl + vl;
		nul = (char *)p;
	}
	if (nul != NULL)
		*nul = '\0';
	if (c->nenv == 0 && (c->env = malloc(sizeof(*c->env))) != NULL)
		c->nenv = 1;
	if (c->env == NULL)
		return -1;
	c->env[n] = NULL;
	return 0;
}

/*
 * Checks the body records already read, before the request is served:
 * a connection that broke the protocol gets no answer, even for a
 * request that would not read its body. Returns 0 (logged) when one is
 * bad, else 1.
 */
static int
body_clean(struct fcgiconn *c)
{
	struct fcgirec	 s = c->rec;
	struct fcgirec_rec r;
	size_t		 off = c->off;

	for (;;) {
		switch (fcgirec_next(&s, c->buf + off, c->len - off, &r)) {
		case FCGIREC_BAD:
			log_warnx("fastcgi: %s; connection closed", s.error);
			return 0;
		case FCGIREC_STDIN_DATA:
			off += r.len;
			continue;
		default:	/* the end, more to read, or management */
			return 1;
		}
	}
}

/*
 * Reads the next request on connection fd up to the end of its
 * parameters (the body is read by fcgiconn_read_body()). Returns 0, or -1
 * when the connection was closed, timed out, was aborted or broke the
 * protocol (logged): fd is then closed.
 */
int
fcgiconn_accept(struct fcgiconn *c, int fd)
{
	struct fcgirec_rec r;
	enum fcgirec_kind k;

	fcgirec_init(&c->rec);
	c->fd = fd;
	c->len = c->off = 0;
	c->junk = 0;
	c->werr = 0;
	c->open_len = 0;
	buf_trim(&c->out, OUT_KEEP);
	buf_reset(&c->params);
	do {
		k = next(c, &r);
		if (k == FCGIREC_PARAMS_DATA &&
		    buf_append(&c->params, r.content, r.content_len) == -1)
			k = FCGIREC_BAD;
		if (k == FCGIREC_BAD || k == FCGIREC_ABORT)
			goto fail;
	} while (k != FCGIREC_PARAMS_END);
	if (!body_clean(c))
		goto fail;
	if (decode_params(c) == 0)
		return 0;
	log_errorx("fastcgi: no memory for the parameters");
fail:
	close(fd);
	c->fd = -1;
	return -1;
}

/* Returns the current request's parameters, "NAME=VALUE" strings. */
char **
fcgiconn_params(const struct fcgiconn *c)
{
	return c->env;
}

/* Returns the current request's FastCGI request id. */
int
fcgiconn_request_id(const struct fcgiconn *c)
{
	return (int)c->rec.request_id;
}

/*
 * Returns 1 when the front end asked to keep the connection after this
 * request (FCGI_KEEP_CONN).
 */
int
fcgiconn_keep_wanted(const struct fcgiconn *c)
{
	return c->rec.keep_conn;
}

/*
 * Appends the current request's body to b, at most max bytes. Returns 0
 * at its clean end, 1 when there is more than max, -1 when the
 * connection was closed, aborted or broke the protocol.
 */
int
fcgiconn_read_body(struct fcgiconn *c, struct buf *b, size_t max)
{
	struct fcgirec_rec r;

	for (;;) {
		switch (next(c, &r)) {
		case FCGIREC_STDIN_DATA:
			if (r.content_len > max - b->len)
				return 1;
			if (buf_append(b, r.content, r.content_len) == -1)
				return -1;
			break;
		case FCGIREC_STDIN_END:
			c->junk = c->off < c->len;
			return 0;
		default:
			return -1;
		}
	}
}

/*
 * Returns 0 when more than the request came on the connection (it must
 * not be kept for another request), else 1.
 */
int
fcgiconn_keepable(const struct fcgiconn *c)
{
	return !c->junk;
}

/*
 * Sends the records gathered so far. Returns 0, or -1 when the
 * connection is gone (then and for the rest of the request).
 */
int
fcgiconn_flush(struct fcgiconn *c)
{
	if (!c->werr && c->out.len > 0 &&
	    io_write_all(c->fd, c->out.data, c->out.len) == -1)
		c->werr = 1;
	buf_reset(&c->out);
	c->open_len = 0;
	return c->werr ? -1 : 0;
}

/*
 * Adds n response bytes to the request's FCGI_STDOUT stream. Returns 0,
 * or -1 when the connection is gone.
 */
int
fcgiconn_write(struct fcgiconn *c, const void *p, size_t n)
{
	unsigned char	*h;
	size_t		 take;

	while (n > 0 && !c->werr) {
		if (c->open_len == 0 || c->open_len == REC_MAX) {
			if (buf_reserve(&c->out, FCGIREC_HEADER_LEN) == -1)
				return -1;
			c->open_rec = c->out.len;
			c->open_len = 0;
			c->out.len += FCGIREC_HEADER_LEN;
		}
		take = n < REC_MAX - c->open_len ? n : REC_MAX - c->open_len;
		if (buf_append(&c->out, p, take) == -1)
			return -1;
		c->open_len += take;
		h = (unsigned char *)c->out.data + c->open_rec;
		fcgirec_header(h, FCGIREC_STDOUT, c->rec.request_id,
		    c->open_len);
		p = (const char *)p + take;
		n -= take;
		if (c->out.len >= OUT_FLUSH)
			fcgiconn_flush(c);
	}
	return c->werr ? -1 : 0;
}

/*
 * Ends the request: the end of the FCGI_STDOUT stream and
 * FCGI_END_REQUEST (application status 0, request complete), sent with
 * whatever is still gathered. Returns 0, or -1 when the connection is
 * gone.
 */
int
fcgiconn_end(struct fcgiconn *c)
{
	unsigned char	 end[24];

	fcgirec_header(end, FCGIREC_STDOUT, c->rec.request_id, 0);
	fcgirec_header(end + 8, FCGIREC_END_REQUEST, c->rec.request_id, 8);
	memset(end + 16, 0, 8);		/* appStatus 0, FCGI_REQUEST_COMPLETE */
	c->open_len = 0;
	if (buf_append(&c->out, end, sizeof(end)) == -1)
		c->werr = 1;
	return fcgiconn_flush(c);
}
