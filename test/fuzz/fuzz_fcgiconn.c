/*
 * fuzz_fcgiconn.c: a worker's FastCGI connection (host/fcgiconn.c) on any
 * bytes a peer might send, through a real socketpair. Invariants, checked
 * against an independent walk of the same records: a request is taken
 * only when its records are clean; its parameters are exactly the
 * name-value pairs of its PARAMS records, each as NAME=VALUE (embedded
 * NULs kept); its id and keep flag are those of its BEGIN_REQUEST; its
 * body is exactly its STDIN records' content; and a response written in
 * pieces of any size comes out as STDOUT records of that request carrying
 * the same bytes, then the end of the stream and END_REQUEST.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "buf.h"
#include "fcgiconn.h"
#include "fcgirec.h"
#include "fuzz.h"
#include "log.h"

#define MAX_IN	(48 << 10)	/* fits a socket's buffer: one write */

/* What the records of the input say, walked independently. */
struct expect {
	int		 whole;		/* BEGIN through the end of PARAMS */
	int		 clean;		/* no bad record in the bytes */
	unsigned	 id;
	int		 keep;
	struct buf	 params;	/* PARAMS content */
	struct buf	 body;		/* STDIN content */
	int		 body_end;	/* the empty STDIN record came */
};

static void
walk(const uint8_t *p, size_t n, struct expect *e)
{
	struct fcgirec	 s;
	struct fcgirec_rec r;
	enum fcgirec_kind k;
	size_t		 off = 0;

	fcgirec_init(&s);
	e->clean = 1;
	for (;;) {
		k = fcgirec_next(&s, p + off, n - off, &r);
		if (k == FCGIREC_NEED)
			return;
		if (k == FCGIREC_BAD || k == FCGIREC_ABORT) {
			e->clean = 0;
			return;
		}
		off += r.len;
		if (k == FCGIREC_BEGIN) {
			e->id = s.request_id;
			e->keep = s.keep_conn;
		} else if (k == FCGIREC_PARAMS_DATA) {
			buf_append(&e->params, r.content, r.content_len);
		} else if (k == FCGIREC_PARAMS_END) {
			e->whole = 1;
		} else if (k == FCGIREC_STDIN_DATA) {
			buf_append(&e->body, r.content, r.content_len);
		} else if (k == FCGIREC_STDIN_END) {
			e->body_end = 1;
			return;
		}
	}
}

/* Each pair of e's parameters is env[i], NAME=VALUE and a NUL. */
static void
check_params(struct expect *e, char **env)
{
	const unsigned char *p = (const unsigned char *)e->params.data;
	const unsigned char *end = e->params.len > 0 ? p + e->params.len : p;
	size_t		 i = 0, nl, vl;

	while (p < end) {
		nl = (size_t)fcgirec_pair_len(&p, end);
		vl = (size_t)fcgirec_pair_len(&p, end);
		FUZZ_ASSERT(env[i] != NULL);
		FUZZ_ASSERT(memcmp(env[i], p, nl) == 0);
		FUZZ_ASSERT(env[i][nl] == '=');
		FUZZ_ASSERT(memcmp(env[i] + nl + 1, p + nl, vl) == 0);
		FUZZ_ASSERT(env[i][nl + 1 + vl] == '\0');
		p += nl + vl;
		i++;
	}
	FUZZ_ASSERT(env[i] == NULL);
}

/* Reads everything the connection answered (it is closed: ends at EOF). */
static void
drain(int fd, struct buf *out)
{
	char	 tmp[65536];
	ssize_t	 n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_append(out, tmp, (size_t)n);
}

/* The answer holds body in STDOUT records of id, then the end. */
static void
check_answer(const struct buf *out, unsigned id, const struct buf *body)
{
	const unsigned char *p = (const unsigned char *)out->data;
	size_t		 off = 0, got = 0, clen;
	int		 ended = 0;

	while (out->len - off >= FCGIREC_HEADER_LEN) {
		clen = (size_t)p[off + 4] << 8 | p[off + 5];
		FUZZ_ASSERT(p[off] == 1);
		FUZZ_ASSERT(off + FCGIREC_HEADER_LEN + clen + p[off + 6] <=
		    out->len);
		if (p[off + 2] == 0 && p[off + 3] == 0) {
			/* A management answer, before the response. */
			FUZZ_ASSERT(got == 0 && !ended);
		} else {
			FUZZ_ASSERT((p[off + 2] << 8 | p[off + 3]) ==
			    (int)id);
			FUZZ_ASSERT(!ended);
			if (p[off + 1] == FCGIREC_STDOUT && clen > 0) {
				FUZZ_ASSERT(got + clen <= body->len);
				FUZZ_ASSERT(memcmp(p + off + 8,
				    body->data + got, clen) == 0);
				got += clen;
			} else if (p[off + 1] == FCGIREC_STDOUT) {
				FUZZ_ASSERT(got == body->len);
			} else {
				FUZZ_ASSERT(p[off + 1] == FCGIREC_END_REQUEST);
				FUZZ_ASSERT(clen == 8);
				ended = 1;
			}
		}
		off += FCGIREC_HEADER_LEN + clen + p[off + 6];
	}
	FUZZ_ASSERT(off == out->len);
	FUZZ_ASSERT(ended && got == body->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fcgiconn *c;
	struct expect	 e;
	struct buf	 body, out;
	size_t		 off, piece;
	int		 sp[2], rc, n;

	if (size > MAX_IN)
		return 0;
	if (c == NULL) {
		log_set_min_level(LOG_LEVEL_CRITICAL);
		if ((c = fcgiconn_new()) == NULL)
			abort();
	}
	memset(&e, 0, sizeof(e));
	buf_init(&e.params);
	buf_init(&e.body);
	buf_init(&body);
	buf_init(&out);
	walk(data, size, &e);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		abort();
	n = 256 << 10;
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	if (size > 0 && write(sp[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sp[1], SHUT_WR);
	rc = fcgiconn_accept(c, sp[0]);
	if (!e.whole || !e.clean) {
		/* Cut short or bad before the request could be served. */
		FUZZ_ASSERT(rc == -1 || (e.whole && !e.body_end));
	} else {
		FUZZ_ASSERT(rc == 0);
	}
	if (rc == 0) {
		FUZZ_ASSERT(e.whole);
		FUZZ_ASSERT((unsigned)fcgiconn_request_id(c) == e.id);
		FUZZ_ASSERT(fcgiconn_keep_wanted(c) == e.keep);
		check_params(&e, fcgiconn_params(c));
		rc = fcgiconn_read_body(c, &body, MAX_IN);
		FUZZ_ASSERT(rc == (e.body_end && e.clean ? 0 : -1));
		if (rc == 0) {
			FUZZ_ASSERT(body.len == e.body.len);
			FUZZ_ASSERT(body.len == 0 ||
			    memcmp(body.data, e.body.data, body.len) == 0);
		}
		/* Echo what came, in pieces whose sizes the input picks. */
		for (off = 0; off < body.len; off += piece) {
			piece = 1 + (size_t)data[off % size] * 97;
			if (piece > body.len - off)
				piece = body.len - off;
			FUZZ_ASSERT(fcgiconn_write(c, body.data + off,
			    piece) == 0);
			if (data[off % size] & 1)
				FUZZ_ASSERT(fcgiconn_flush(c) == 0);
		}
		FUZZ_ASSERT(fcgiconn_end(c) == 0);
		close(sp[0]);
		drain(sp[1], &out);
		check_answer(&out, e.id, &body);
	}
	close(sp[1]);
	buf_free(&e.params);
	buf_free(&e.body);
	buf_free(&body);
	buf_free(&out);
	return 0;
}
