/*
 * fcgiguard.c: lets libfcgi parse only FastCGI records the host has
 * checked (fcgirec.c says why libfcgi 2.4.2 cannot be trusted with a
 * peer's bytes). Called by worker.c in place of FCGX_Accept_r() and,
 * when it says so, in place of libfcgi's stdin reader.
 *
 * The fast path costs one recv(MSG_PEEK) per request: when the peeked
 * bytes hold the whole request (FCGI_BEGIN_REQUEST through the empty
 * FCGI_STDIN record, which is how nginx sends a request without a large
 * body) and every record is clean, libfcgi reads it from the connection
 * as usual. It cannot read past what was checked: it stops at the end of
 * the request's stdin.
 *
 * Otherwise (a large body still arriving, a slow or strange peer,
 * management records) the host reads the request itself, record by
 * record, through the same checks: management records are answered here,
 * the BEGIN_REQUEST and PARAMS records are handed to libfcgi through a
 * socketpair (so it builds the parameters and the output streams as
 * usual), and the body is read here, straight into the worker's buffer.
 * libfcgi then only writes to the connection.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgiguard.h"
#include "fcgirec.h"
#include "io.h"
#include "log.h"

#define WINDOW	(256 << 10)	/* peeked or read at once; > 2 records */

struct fcgiguard {
	struct fcgirec	 rec;
	unsigned char	*buf;		/* WINDOW bytes */
	size_t		 len;		/* read into buf (host reading) */
	size_t		 off;		/* first byte not yet parsed */
	struct buf	 head;		/* BEGIN + PARAMS records for libfcgi */
	int		 sp[2];		/* libfcgi reads the head from sp[0] */
	int		 fd;		/* the connection */
	int		 owns_body;	/* the host reads this request's body */
	int		 junk;		/* bytes after the request came */
};

static int
make_pair(struct fcgiguard *g)
{
	int	 size = 2 * FCGIREC_MAX_PARAMS + 65536;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g->sp) == -1)
		return -1;
	/* The whole head is written before libfcgi reads any of it. */
	setsockopt(g->sp[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(g->sp[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

/*
 * Creates a worker's guard. Returns NULL (errno set) on failure.
 */
struct fcgiguard *
fcgiguard_new(void)
{
	struct fcgiguard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	if ((g->buf = malloc(WINDOW)) == NULL || make_pair(g) == -1) {
		free(g->buf);
		free(g);
		return NULL;
	}
	buf_init(&g->head);
	g->fd = -1;
	return g;
}

static void
refuse(struct fcgiguard *g)
{
	log_warnx("fastcgi: %s; connection closed", g->rec.error);
}

/* Answers a management record on the connection. Returns 0 or -1. */
static int
answer(struct fcgiguard *g, const struct fcgirec_rec *r)
{
	unsigned char	 out[96];
	size_t		 n;

	if (r->kind == FCGIREC_VALUES)
		n = fcgirec_values_result(r->content, r->content_len, out,
		    sizeof(out));
	else
		n = fcgirec_unknown_type(r->type, out, sizeof(out));
	return io_write_all(g->fd, out, n);
}

/*
 * Reads more of the connection into buf (host reading). Returns the
 * number of bytes read, or 0 at end of file or on an error.
 */
static size_t
fill(struct fcgiguard *g)
{
	ssize_t	 n;

	if (g->off > 0) {
		memmove(g->buf, g->buf + g->off, g->len - g->off);
		g->len -= g->off;
		g->off = 0;
	}
	do
		n = read(g->fd, g->buf + g->len, WINDOW - g->len);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	g->len += (size_t)n;
	return (size_t)n;
}

/*
 * Reads and checks the next record (host reading). Returns its kind;
 * FCGIREC_BAD also at end of file. Management records are answered and
 * skipped.
 */
static enum fcgirec_kind
next(struct fcgiguard *g, struct fcgirec_rec *r)
{
	enum fcgirec_kind k;

	for (;;) {
		k = fcgirec_next(&g->rec, g->buf + g->off, g->len - g->off, r);
		if (k == FCGIREC_NEED) {
			if (fill(g) == 0) {
				g->rec.error = NULL;
				return FCGIREC_BAD;
			}
			continue;
		}
		if (k == FCGIREC_BAD) {
			refuse(g);
			return k;
		}
		g->off += r->len;
		if (k != FCGIREC_VALUES && k != FCGIREC_MGMT_UNKNOWN)
			return k;
		if (answer(g, r) == -1)
			return FCGIREC_BAD;
	}
}

/*
 * Peeks at the connection. Returns 1 when it holds a whole clean request
 * libfcgi may read, 0 when the host must read it, -1 when it is closed or
 * bad.
 */
static int
peek(struct fcgiguard *g)
{
	struct fcgirec_rec r;
	size_t		 off = 0;
	ssize_t		 n;

	do
		n = recv(g->fd, g->buf, WINDOW, MSG_PEEK);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (;;) {
		switch (fcgirec_next(&g->rec, g->buf + off, (size_t)n - off,
		    &r)) {
		case FCGIREC_BAD:
			refuse(g);
			return -1;
		case FCGIREC_BEGIN:
		case FCGIREC_PARAMS_DATA:
		case FCGIREC_PARAMS_END:
		case FCGIREC_STDIN_DATA:
			off += r.len;
			continue;
		case FCGIREC_STDIN_END:
			g->junk = off + r.len < (size_t)n;
			return 1;
		default:
			/* Incomplete, or something the host answers. */
			fcgirec_init(&g->rec);
			return 0;
		}
	}
}

/* Reads the head (host reading) and hands it to libfcgi. */
static int
accept_slow(struct fcgiguard *g, FCGX_Request *req)
{
	struct fcgirec_rec r;
	enum fcgirec_kind k;

	buf_reset(&g->head);
	g->len = g->off = 0;
	do {
		k = next(g, &r);
		if (k == FCGIREC_BAD || k == FCGIREC_ABORT)
			return -1;
		if (buf_append(&g->head, g->buf + g->off - r.len, r.len) == -1)
			return -1;
	} while (k != FCGIREC_PARAMS_END);
	if (io_write_all(g->sp[1], g->head.data, g->head.len) == -1)
		return -1;
	req->ipcFd = g->sp[0];
	req->keepConnection = 1;
	if (FCGX_Accept_r(req) != 0 || req->ipcFd != g->sp[0]) {
		/* It cannot fail on checked bytes; start afresh if it did. */
		log_errorx("fastcgi: libfcgi refused a checked request");
		if (req->ipcFd >= 0 && req->ipcFd != g->sp[0])
			close(req->ipcFd);
		close(g->sp[0]);
		close(g->sp[1]);
		if (make_pair(g) == -1)
			log_error("socketpair");
		req->ipcFd = -1;
		return -1;
	}
	req->ipcFd = g->fd;
	g->owns_body = 1;
	return 0;
}

/*
 * Takes the next request on connection fd into req, as FCGX_Accept_r()
 * would, once its records are checked. Returns 0 (req->ipcFd is fd), or
 * -1 when the connection was closed, timed out or broke the protocol
 * (logged): fd is then closed and req->ipcFd is -1.
 */
int
fcgiguard_accept(struct fcgiguard *g, FCGX_Request *req, int fd)
{
	int	 rc, fd_open = 1;

	fcgirec_init(&g->rec);
	g->fd = fd;
	g->owns_body = 0;
	g->junk = 0;
	req->keepConnection = 1;
	if ((rc = peek(g)) == 1) {
		req->ipcFd = fd;
		if (FCGX_Accept_r(req) == 0 && req->ipcFd == fd)
			return 0;
		/* libfcgi closed fd; it has no listening socket to accept. */
		fd_open = 0;
		if (req->ipcFd >= 0)
			close(req->ipcFd);
	} else if (rc == 0 && accept_slow(g, req) == 0) {
		return 0;
	}
	if (fd_open)
		close(fd);
	req->ipcFd = -1;
	return -1;
}

/*
 * Returns 1 when the host, not libfcgi, reads the current request's body
 * (with fcgiguard_read_body()).
 */
int
fcgiguard_owns_body(const struct fcgiguard *g)
{
	return g->owns_body;
}

/*
 * Appends the current request's body to b, at most max bytes. Returns 0
 * at its clean end, 1 when there is more than max, -1 when the
 * connection was closed, aborted or broke the protocol.
 */
int
fcgiguard_read_body(struct fcgiguard *g, struct buf *b, size_t max)
{
	struct fcgirec_rec r;

	for (;;) {
		switch (next(g, &r)) {
		case FCGIREC_STDIN_DATA:
			if (r.content_len > max - b->len)
				return 1;
			if (buf_append(b, r.content, r.content_len) == -1)
				return -1;
			break;
		case FCGIREC_STDIN_END:
			g->junk = g->off < g->len;
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
fcgiguard_keepable(const struct fcgiguard *g)
{
	return !g->junk;
}
