/*
 * worker.c: the FastCGI worker loop and transport. The master forks the
 * workers; each serves one request at a time until it is told to stop.
 *
 * Every worker has one epoll set: the listening socket (EPOLLEXCLUSIVE,
 * so a new connection wakes one worker), its own idle kept-alive
 * connections, the control pipe from the master and a signalfd. It
 * accepts with accept4() and reads and answers each request with
 * fcgiconn.c (see shared/notes/keepalive.md for the design). After the
 * response a connection nginx keeps alive goes back into the epoll set
 * instead of pinning the worker
 * in a blocking read, and an idle connection that becomes readable is
 * served before new ones are accepted. nginx closing an idle one shows as
 * EPOLLRDHUP and it is closed.
 *
 * Stopping (control pipe readable or closed, SIGTERM, SIGINT, SIGQUIT, or
 * the master dying: PR_SET_PDEATHSIG) happens between requests: the
 * request in progress always finishes. SIGUSR1 reopens the logs.
 *
 * Draining (master.c, drain.c): once the master has ended the listening
 * state of a TCP socket, accept4() fails with EINVAL and the worker takes
 * the socket out of its epoll set (it would be readable for ever);
 * SIGUSR2 tells it to read the scoreboard's draining flag: while it is
 * set, no connection is kept alive and the idle ones are closed (nginx
 * must open new connections, which are refused); when it is cleared, the
 * socket goes back into the epoll set. A worker that stops while the host
 * drains first takes what is left in the backlog, which nothing can join.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "buf.h"
#include "conf.h"
#include "deadline.h"
#include "fcgiconn.h"
#include "log.h"
#include "module.h"
#include "pipeline.h"
#include "req.h"
#include "scoreboard.h"
#include "transport.h"
#include "worker.h"

#define MAX_EVENTS	64
#define TAG_LISTEN	0xffffffffu
#define TAG_CTL		0xfffffffeu
#define TAG_SIG		0xfffffffdu
#define TAG_HANDOFF	0xfffffffcu	/* a connection from another worker */
#define BODY_KEEP	(4 << 20)
#define ACCEPT_BATCH	32	/* accepts between two epoll_wait() */
#define LINGER_MS	2000	/* linger_close() waits so long at most */
#define LOG_FLUSH_MS	5	/* idle time before access records go out */
#define MAX_KEPT	64	/* kept connections per worker; more are closed */

struct worker {
	const struct worker_args *a;
	int		 ep;		/* epoll set */
	int		 sig_fd;	/* signalfd */
	struct fcgiconn	*conn;		/* the FastCGI side of a connection */
	int		 fd;		/* the connection served, or -1 */
	/*
	 * Shared with the watchdog thread (handoff_ready()): while busy, it
	 * may hand idle connections to other workers, listed in leaving
	 * for the serving thread to forget when the request ends. gen,
	 * ngen and fd are only read under the lock while busy, and only
	 * changed while not.
	 */
	pthread_mutex_t	 mu;
	atomic_int	 busy;		/* a request is being served */
	struct leaving {
		int	 fd;
		int	 close;		/* 0: only not watched again */
	}		 leaving[MAX_KEPT];
	size_t		 nleaving;
	struct deadline_idle idle;
	struct transport t;
	struct buf	 body;		/* request body */
	int		 body_done;	/* read to a clean end-of-stream */
	uint32_t	*gen;		/* per fd: kept-connection tag, 0 free */
	size_t		 ngen;
	uint32_t	 next_gen;
	size_t		 nkept;		/* idle kept connections */
	long long	 io_timeout_ms;	/* reading a request may stall so long */
	unsigned long	 served;
	int		 stopping;
	long long	 max_requests;	/* with jitter; 0: no limit */
	int		 statm_fd;	/* /proc/self/statm, or -1 */
	int		 over_memory;	/* RSS past max_worker_memory */
	long long	 refused;	/* connections refused (listen_allow) */
	int		 listening;	/* listen_fd is in the epoll set */
	int		 draining;	/* the host drains: keep no connection */
};

static int
fcgi_write(struct transport *t, const void *p, size_t n)
{
	struct worker	*w = t->ctx;

	return fcgiconn_write(w->conn, p, n);
}

static int
fcgi_flush(struct transport *t)
{
	struct worker	*w = t->ctx;

	return fcgiconn_flush(w->conn);
}

/*
 * Cuts the response short. A clean end of the connection is a normal end
 * of the response for nginx (without fastcgi_keep_conn), so first comes a
 * record of an unknown protocol version: nginx takes it as an upstream
 * error and closes the client's connection without ending the body (no
 * last chunk). The worker then finds the connection dead and closes it.
 */
static void
fcgi_abort(struct transport *t)
{
	static const unsigned char bad[8] = { 0 };	/* version 0 */
	struct worker	*w = t->ctx;
	int		 fd = w->fd;

	if (fd < 0)
		return;
	fcgiconn_flush(w->conn);
	if (write(fd, bad, sizeof(bad)) == -1)
		log_debug("abort: %s", strerror(errno));
	shutdown(fd, SHUT_RDWR);
}

/* Reads the body from FCGI_STDIN records until their end (or max). */
static int
fcgi_read_body(struct transport *t, size_t max, const char **body,
    size_t *len)
{
	struct worker	*w = t->ctx;
	struct buf	*b = &w->body;
	int		 n;

	buf_trim(b, BODY_KEEP);
	if ((n = fcgiconn_read_body(w->conn, b, max)) != 0)
		return n;	/* too large, or closed, aborted, bad */
	w->body_done = 1;
	*body = b->data ? b->data : "";
	*len = b->len;
	return 0;
}

static int	recycle_due(const struct worker *);
static long long jittered(long long);
static void	serve(struct worker *, int);

/* Closes a connection. */
static void
conn_close(int fd)
{
	close(fd);
	capture_fd_closed(fd);		/* for the next module call */
}

static int
epoll_add(struct worker *w, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.u64 = tag;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Registers a kept connection; its tag is fd plus a generation. */
static void
keep(struct worker *w, int fd)
{
	uint32_t	*g;
	size_t		 n;

	if ((size_t)fd >= w->ngen) {
		n = (size_t)fd * 2 + 16;
		if ((g = reallocarray(w->gen, n, sizeof(*g))) == NULL)
			goto drop;
		memset(g + w->ngen, 0, (n - w->ngen) * sizeof(*g));
		w->gen = g;
		w->ngen = n;
	}
	if (w->gen[fd] != 0)
		return;		/* already registered */
	if (++w->next_gen == 0)
		w->next_gen = 1;
	w->gen[fd] = w->next_gen;
	if (epoll_add(w, fd, EPOLLIN | EPOLLRDHUP,
	    (uint64_t)w->gen[fd] << 32 | (uint32_t)fd) == 0) {
		w->nkept++;
		return;
	}
	w->gen[fd] = 0;
drop:
	conn_close(fd);
}

/* Forgets a kept connection, before it is closed. */
static void
unkeep(struct worker *w, int fd, int still_open)
{
	if ((size_t)fd >= w->ngen || w->gen[fd] == 0)
		return;
	if (still_open)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL);
	w->gen[fd] = 0;
	w->nkept--;
}

/* One hand-off message: a byte and one descriptor (SCM_RIGHTS). */
struct fdmsg {
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 u;
	struct msghdr	 msg;
	struct iovec	 iov;
	char		 byte;
};

static void
fdmsg_init(struct fdmsg *m)
{
	memset(m, 0, sizeof(*m));
	m->byte = 'c';
	m->iov.iov_base = &m->byte;
	m->iov.iov_len = 1;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->u.buf;
	m->msg.msg_controllen = sizeof(m->u.buf);
}

/* Sends connection fd over the hand-off socket. Returns 0 or -1. */
static int
send_conn(int sock, int fd)
{
	struct fdmsg	 m;
	struct cmsghdr	*c;

	fdmsg_init(&m);
	c = CMSG_FIRSTHDR(&m.msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fd));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &m.msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Takes a connection another worker handed over. Returns it, or -1. */
static int
recv_conn(int sock)
{
	struct fdmsg	 m;
	struct cmsghdr	*c;
	int		 fd = -1;

	fdmsg_init(&m);
	if (recvmsg(sock, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	if ((c = CMSG_FIRSTHDR(&m.msg)) != NULL &&
	    c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(fd)))
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static int
is_leaving(const struct worker *w, int fd)
{
	size_t	 i;

	for (i = 0; i < w->nleaving; i++)
		if (w->leaving[i].fd == fd)
			return 1;
	return 0;
}

/*
 * Watchdog thread: the idle kept connections of this worker while its
 * request runs long, less those already handed over or closed.
 */
static size_t
handoff_list(void *ctx, int *fds, size_t max)
{
	struct worker	*w = ctx;
	size_t		 fd, n = 0;

	pthread_mutex_lock(&w->mu);
	if (atomic_load(&w->busy))
		for (fd = 0; fd < w->ngen && n < max; fd++)
			if (w->gen[fd] != 0 && (int)fd != w->fd &&
			    !is_leaving(w, (int)fd))
				fds[n++] = (int)fd;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/*
 * Watchdog thread: idle connection fd became readable (a request came on
 * it) or closed (hup) while this worker serves a long request. The
 * request goes to another worker through the hand-off socket (one that
 * is waiting takes it); the serving thread forgets the connection when
 * its own request ends (fcgi_end()). If the socket is full, the
 * connection stays, no longer watched.
 */
static void
handoff_ready(void *ctx, int fd, int hup)
{
	struct worker	*w = ctx;
	struct leaving	*l;

	pthread_mutex_lock(&w->mu);
	if (atomic_load(&w->busy) && fd >= 0 && (size_t)fd < w->ngen &&
	    w->gen[fd] != 0 && fd != w->fd && !is_leaving(w, fd) &&
	    w->nleaving < MAX_KEPT) {
		l = &w->leaving[w->nleaving++];
		l->fd = fd;
		l->close = hup || send_conn(w->a->handoff_tx, fd) == 0;
	}
	pthread_mutex_unlock(&w->mu);
}

/*
 * The serving thread, at the end of a request: the watchdog lets go, and
 * the connections it handed over or found closed are forgotten.
 */
static void
handoff_settle(struct worker *w)
{
	struct leaving	 gone[MAX_KEPT];
	size_t		 n, i;

	if (w->idle.ctx == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->busy, 0);
	n = w->nleaving;
	memcpy(gone, w->leaving, n * sizeof(gone[0]));
	w->nleaving = 0;
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < n; i++) {
		if (!gone[i].close)
			continue;
		unkeep(w, gone[i].fd, 1);	/* before close: see keep() */
		conn_close(gone[i].fd);
	}
}

/*
 * Serves a connection another worker handed over, if one is waiting.
 * Returns 1 if one was, else 0.
 */
static int
take_handoff(struct worker *w)
{
	int	 fd;

	if ((fd = recv_conn(w->a->handoff_rx)) == -1)
		return 0;
	capture_fd_opened(fd);
	serve(w, fd);
	return 1;
}

/* Returns 1 if fd is a kept connection already, or one more fits. */
static int
keep_room(const struct worker *w, int fd)
{
	return ((size_t)fd < w->ngen && w->gen[fd] != 0) ||
	    w->nkept < MAX_KEPT;
}

/*
 * Closes a connection whose request body was left unread, the way
 * libfcgi's OS_Close() does: our end first (shutdown), then what nginx
 * still sends is read and dropped until its own end, for LINGER_MS at
 * most. Closing with unread bytes would reset the connection, and nginx
 * could lose the response.
 */
static void
linger_close(int fd)
{
	struct pollfd	 pfd;
	char		 trash[4096];
	long long	 end = deadline_now_ms() + LINGER_MS, left;

	if (shutdown(fd, SHUT_WR) == 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		while ((left = end - deadline_now_ms()) > 0 &&
		    poll(&pfd, 1, (int)left) > 0 &&
		    read(fd, trash, sizeof(trash)) > 0)
			;
	}
	conn_close(fd);
}

/*
 * Ends the request (the transport's end callback, called by the pipeline
 * before it writes the access record): fcgiconn_end() sends the end of
 * the stream and FCGI_END_REQUEST. A connection nginx keeps alive goes
 * back into the epoll set, up to MAX_KEPT per worker: beyond that it is
 * closed (nginx then drops it from its cache), so that the descriptors
 * of idle connections stay bounded whatever nginx's keepalive says (the
 * upstream block --nginx writes stays below workers x MAX_KEPT with up
 * to 4 nginx worker processes). Otherwise, when the request was read to
 * its end, a plain close() is enough: nothing unread can make the kernel
 * reset the connection and lose the response, so the lingering close
 * (shutdown, then waiting up to 2 s for nginx's EOF: three more system
 * calls) is kept for requests whose body was left unread. If the
 * watchdog may be polling the connection (watched), its poll holds the
 * socket open past our close(): shutdown() then closes it at once.
 */
static void
fcgi_end(struct transport *t, const struct req *r)
{
	struct worker	*w = t->ctx;
	int		 fd = t->conn_fd;
	int		 kept = fcgiconn_keep_wanted(w->conn) &&
			    w->body_done && !w->stopping && !w->draining &&
			    keep_room(w, fd) && fcgiconn_keepable(w->conn);
	int		 fast = !kept && w->body_done;
	int		 watched;

	handoff_settle(w);
	/*
	 * The watchdog lets go (it still watches the request's I/O if the
	 * pipeline answered before starting the handler).
	 */
	watched = deadline_end() | r->watched;
	/* The descriptor may be closed and its number reused now. */
	t->conn_fd = -1;
	t->emergency_fd = -1;
	w->fd = -1;
	if (!kept)
		unkeep(w, fd, 1);
	if (fcgiconn_end(w->conn) == -1) {
		unkeep(w, fd, 1);	/* the front end is gone */
		conn_close(fd);
		return;
	}
	if (kept) {
		keep(w, fd);
		return;
	}
	if (!fast) {
		linger_close(fd);
		return;
	}
	if (watched)
		shutdown(fd, SHUT_RDWR);
	conn_close(fd);
}

/*
 * Reads the resident set size from /proc/self/statm (one pread) after a
 * request, and marks the worker for replacement past max_worker_memory.
 */
static void
check_memory(struct worker *w)
{
	char		 text[128];
	ssize_t		 n;
	long long	 pages, rss;
	char		*p;

	n = pread(w->statm_fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return;
	text[n] = '\0';
	if ((p = strchr(text, ' ')) == NULL)
		return;
	pages = strtoll(p + 1, NULL, 10);
	rss = pages * sysconf(_SC_PAGESIZE);
	scoreboard_set_rss(w->a->sb, rss);
	if (rss > w->a->max_worker_bytes && !w->over_memory) {
		w->over_memory = 1;
		log_info("worker resident size %lld bytes is over "
		    "max_worker_memory (%lld); replacing it", rss,
		    w->a->max_worker_bytes);
	}
}

/* Serves the request that arrives on connection fd. */
static void
serve(struct worker *w, int fd)
{
	struct req	 r;
	long long	 now = log_now_us();	/* one clock for both */

	deadline_io_begin(fd, now / 1000, now / 1000 + w->io_timeout_ms);
	if (fcgiconn_accept(w->conn, fd) != 0) {
		deadline_end();
		/* Closed, stalled or bad (see fcgiconn.c): fd is closed. */
		capture_fd_closed(fd);
		unkeep(w, fd, 0);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.params = fcgiconn_params(w->conn);
	r.t = &w->t;
	r.start_us = now;
	w->fd = fd;
	atomic_store(&w->busy, 1);
	w->t.conn_fd = fd;
	w->t.emergency_fd = fd;
	w->t.fcgi_request_id = fcgiconn_request_id(w->conn);
	w->body_done = 0;
	pipeline_serve(w->a->pl, &r);
	w->served++;
	if (w->statm_fd != -1)
		check_memory(w);
}

/*
 * Closes a connection from a peer not in listen_allow before a byte of it
 * is read. The first refusals are logged, then one in a thousand.
 */
static void
refuse(struct worker *w, int fd, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	char	 addr[64];

	conn_close(fd);
	if (w->refused++ < 10 || w->refused % 1000 == 0) {
		acl_format_addr(addr, sizeof(addr), (const struct sockaddr *)ss,
		    sl);
		log_warnx("refused a connection from %s (not in listen_allow; "
		    "%lld refused by this worker)", addr, w->refused);
	}
}

/* Takes the listening socket out of the epoll set: it no longer listens. */
static void
unlisten(struct worker *w)
{
	if (!w->listening)
		return;
	if (epoll_ctl(w->ep, EPOLL_CTL_DEL, w->a->listen_fd, NULL) == -1)
		log_warn("epoll_ctl: listening socket");
	w->listening = 0;
}

/*
 * Accepts one connection; closes it at once if its peer is not in
 * listen_allow. Returns its descriptor, or -1: errno is accept4()'s, or
 * 0 after a refusal.
 */
static int
take(struct worker *w)
{
	struct sockaddr_storage ss;
	socklen_t	 sl = sizeof(ss);
	int		 fd;

	fd = accept4(w->a->listen_fd, (struct sockaddr *)&ss, &sl,
	    SOCK_CLOEXEC);
	if (fd == -1)
		return -1;
	capture_fd_opened(fd);
	if (w->a->listen_allow != NULL && ss.ss_family != AF_UNIX &&
	    !acl_match_sockaddr(w->a->listen_allow, (struct sockaddr *)&ss,
	    sl)) {
		refuse(w, fd, &ss, sl);
		errno = 0;
		return -1;
	}
	return fd;
}

/*
 * Accepts and serves connections while there are any. With no idle kept
 * connection to look after, the next accept4() comes before another
 * epoll_wait(): under load it saves a system call per request. Every
 * ACCEPT_BATCH connections the loop returns anyway, so that stop and
 * reload events are seen under continuous load.
 */
static void
accept_loop(struct worker *w)
{
	int	 fd, n = 0;

	do {
		if ((fd = take(w)) == -1) {
			if (errno == 0)
				continue;	/* refused */
			if (errno == EINVAL)
				unlisten(w);	/* drained */
			else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		serve(w, fd);
	} while (++n < ACCEPT_BATCH && w->nkept == 0 && !w->stopping &&
	    !recycle_due(w));
}

/* Returns 1 when this worker should end after the request it served. */
static int
recycle_due(const struct worker *w)
{
	return pipeline_recycle_wanted(w->a->pl) || w->over_memory ||
	    (w->max_requests > 0 &&
	    w->served >= (unsigned long long)w->max_requests);
}

static void	 close_kept(struct worker *);

/*
 * SIGUSR2 from the master: the host drains (close the idle kept
 * connections, keep no more) or serves again (listen again).
 */
static void
drain_changed(struct worker *w)
{
	w->draining = atomic_load(&w->a->sb->pool->draining);
	if (w->draining) {
		close_kept(w);
		return;
	}
	if (!w->listening && epoll_add(w, w->a->listen_fd, EPOLLIN |
	    EPOLLEXCLUSIVE, TAG_LISTEN) == 0)
		w->listening = 1;
}

static void
on_signal(struct worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			log_flush(1);
			if (log_reopen() == -1)
				log_warn("reopening the logs");
			capture_fds_moved();
		} else if (si.ssi_signo == SIGUSR2) {
			drain_changed(w);
		} else if (si.ssi_signo != SIGHUP) {
			w->stopping = 1;
		}
	}
}

/*
 * A worker stopping while the host drains serves what is left in the
 * backlog: no new connection can join it, and it would be reset once the
 * last process holding the socket is gone.
 */
static void
take_backlog(struct worker *w)
{
	int	 fd;

	if (!w->listening || !atomic_load(&w->a->sb->pool->draining))
		return;
	while ((fd = take(w)) != -1 || errno == 0 || errno == EINTR ||
	    errno == ECONNABORTED)
		if (fd != -1)
			serve(w, fd);
}

/* Closes every idle kept connection (the worker is stopping). */
static void
close_kept(struct worker *w)
{
	size_t	 fd;

	for (fd = 0; fd < w->ngen; fd++) {
		if (w->gen[fd] != 0) {
			unkeep(w, (int)fd, 1);
			conn_close((int)fd);
		}
	}
}

static void
handle(struct worker *w, const struct epoll_event *ev)
{
	uint32_t	 tag = (uint32_t)ev->data.u64;
	uint32_t	 gen = (uint32_t)(ev->data.u64 >> 32);
	int		 fd = (int)tag;

	if (tag == TAG_CTL) {
		w->stopping = 1;
		return;
	}
	if (tag == TAG_SIG) {
		on_signal(w);
		return;
	}
	if (tag == TAG_HANDOFF) {
		(void)take_handoff(w);	/* even when stopping: it waits */
		return;
	}
	if (tag == TAG_LISTEN) {
		/*
		 * Even when stopping: with EPOLLEXCLUSIVE this worker may be
		 * the only one woken for the connection waiting now.
		 */
		accept_loop(w);
		return;
	}
	if (w->stopping)
		return;
	/* An idle kept connection; stale if served or closed meanwhile. */
	if ((size_t)fd >= w->ngen || w->gen[fd] != gen)
		return;
	if (ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		unkeep(w, fd, 1);
		conn_close(fd);
		return;
	}
	serve(w, fd);
}

/*
 * Loads the modules now, before accepting (with preload = off): the first
 * request of a new worker, after a reload or a scale-up, does not pay for
 * dlopen. A module that fails here is tried again by its first request.
 */
static void
warm(struct worker *w)
{
	struct buf	 errors;

	if (pipeline_conf(w->a->pl)->preload)
		return;
	buf_init(&errors);
	if (pipeline_preload(w->a->pl, &errors) == -1)
		log_errorx("loading modules: %s", errors.data);
	buf_free(&errors);
}

static int
setup(struct worker *w)
{
	sigset_t	 set;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (w->a->master_pid != 0 && getppid() != w->a->master_pid) {
		log_errorx("the master is gone");
		return -1;	/* it died before PDEATHSIG was set */
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (w->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) ==
	    -1) {
		log_error("signalfd");
		return -1;
	}
	if (pipeline_start(w->a->pl) == -1)
		return -1;
	warm(w);
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_add(w, w->a->listen_fd, EPOLLIN | EPOLLEXCLUSIVE,
	    TAG_LISTEN) == -1 ||
	    epoll_add(w, w->a->ctl_fd, EPOLLIN, TAG_CTL) == -1 ||
	    epoll_add(w, w->sig_fd, EPOLLIN, TAG_SIG) == -1) {
		log_error("epoll");
		return -1;
	}
	w->listening = 1;
	w->draining = atomic_load(&w->a->sb->pool->draining);
	w->fd = -1;
	/* Long requests hand idle connections over (see handoff_ready()). */
	pthread_mutex_init(&w->mu, NULL);
	if (w->a->handoff_rx >= 0 &&
	    pipeline_conf(w->a->pl)->workers_max > 1 &&
	    epoll_add(w, w->a->handoff_rx, EPOLLIN | EPOLLEXCLUSIVE,
	    TAG_HANDOFF) == 0) {
		w->idle.list = handoff_list;
		w->idle.ready = handoff_ready;
		w->idle.ctx = w;
		deadline_set_idle(&w->idle);
	}
	if ((w->conn = fcgiconn_new()) == NULL) {
		log_error("fcgiconn_new");
		return -1;
	}
	w->t.style = TRANSPORT_CGI;
	w->t.write = fcgi_write;
	w->t.flush = fcgi_flush;
	w->t.abort = fcgi_abort;
	w->t.read_body = fcgi_read_body;
	w->t.end = fcgi_end;
	w->t.ctx = w;
	w->io_timeout_ms = pipeline_conf(w->a->pl)->io_timeout_ms;
	buf_init(&w->body);
	w->statm_fd = -1;
	if (w->a->max_worker_bytes > 0 &&
	    (w->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) ==
	    -1)
		log_warn("/proc/self/statm: max_worker_memory is not checked");
	w->max_requests = jittered(w->a->max_requests);
	log_batch_access(1);
	return 0;
}

/*
 * Returns max_requests less up to a tenth of it, at random, so that
 * workers started together are not all replaced at the same moment.
 */
static long long
jittered(long long max)
{
	unsigned int	 r = 0;

	if (max < 10 || getrandom(&r, sizeof(r), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(r))
		return max;
	return max - (long long)(r % (unsigned int)(max / 10 + 1));
}

/* Tells the master this worker accepts requests now. */
static void
announce(struct worker *w)
{
	uint64_t	 one = 1;

	scoreboard_ready(w->a->sb);
	if (w->a->ready_fd != -1) {
		if (write(w->a->ready_fd, &one, sizeof(one)) == -1)
			log_warn("ready eventfd");
		close(w->a->ready_fd);
	}
}

/*
 * Runs a worker: serves requests from a->listen_fd until told to stop,
 * then exits 0. Never returns.
 */
void
worker_run(const struct worker_args *a)
{
	struct epoll_event evs[MAX_EVENTS];
	struct worker	 w;
	int		 n, i;

	memset(&w, 0, sizeof(w));
	w.a = a;
	scoreboard_attach(a->sb, a->slot);
	if (setup(&w) == -1)
		_exit(4);
	announce(&w);
	log_debug("worker started");
	while (!w.stopping) {
		/*
		 * Access records gathered under load are written when no
		 * work came for LOG_FLUSH_MS, before sleeping for longer.
		 */
		n = epoll_wait(w.ep, evs, MAX_EVENTS,
		    log_pending() ? LOG_FLUSH_MS : -1);
		if (n == 0) {
			log_flush(1);
			continue;
		}
		if (n == -1 && errno != EINTR) {
			log_error("epoll_wait");
			break;
		}
		/* Kept connections first: nginx is waiting on them. */
		for (i = 0; i < n; i++)
			if ((uint32_t)evs[i].data.u64 < TAG_SIG)
				handle(&w, &evs[i]);
		for (i = 0; i < n; i++)
			if ((uint32_t)evs[i].data.u64 >= TAG_SIG)
				handle(&w, &evs[i]);
		if (recycle_due(&w))
			w.stopping = 1;
	}
	close_kept(&w);
	take_backlog(&w);
	/* What was handed over to this worker is served before it goes. */
	if (w.idle.ctx != NULL)
		while (take_handoff(&w))
			;
	log_flush(1);
	if (recycle_due(&w)) {
		log_debug("worker recycled after %lu requests", w.served);
		_exit(WORKER_EXIT_RECYCLED);
	}
	log_debug("worker stopping after %lu requests", w.served);
	_exit(0);
}
