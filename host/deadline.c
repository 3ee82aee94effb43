/*
 * deadline.c: the watchdog. Every worker (and --request, and CGI mode) runs
 * one watchdog thread beside the thread that serves requests. While a
 * request is in progress it:
 *
 * - at the soft deadline marks the request done (WC_DEADLINE_EXCEEDED),
 *   makes wc_done_fd() readable and, if a module is running, sends the
 *   serving thread WC_DEADLINE_SIGNAL. The host's action for the signal
 *   is installed without SA_RESTART, so sleep, read, poll and connect in
 *   the handler return EINTR; it also records the handler's backtrace,
 *   which the watchdog then logs (a slow log without ptrace);
 * - at the hard deadline (soft + deadline_grace), if the module has still
 *   not returned, answers 500 itself and ends the worker (crash.c); the
 *   master starts a new one. Stuck code cannot be unwound safely;
 * - once the request is older than WATCH_AFTER_MS, polls the connection
 *   for POLLRDHUP: nginx closes it when the client goes away (it never
 *   sends FCGI_ABORT_REQUEST), and the request becomes WC_CANCELED. It
 *   also writes the access records the worker gathered under load
 *   (log.c), so that a long request does not hold them back.
 * - from then on also polls the worker's idle kept-alive connections
 *   (deadline_set_idle()): a request nginx sends on one of them would
 *   wait for this one to end, so worker.c hands it to another worker.
 *
 * - with slowlog_timeout, once a module has run that long, records and
 *   logs its backtrace too, through a capture signal (installed with
 *   SA_RESTART; sleep and poll in the handler still return EINTR, as under
 *   any profiler). A module may take WC_DEADLINE_SIGNAL for itself; the
 *   capture signal stays the host's.
 *
 * The serving thread pays almost nothing per request: deadline_begin() and
 * deadline_end() are a few atomic stores, with no system call and no
 * wake-up. Between requests the watchdog looks every IDLE_TICK_MS (so it
 * notices a new request within a few ms) and parks after PARK_AFTER_MS
 * without requests; only then does a new request write to an eventfd to
 * wake it. An idle server costs nothing; a busy one a few hundred
 * watchdog wake-ups a second per worker.
 *
 * Signalling is a handshake on `phase` so that a signal never reaches the
 * serving thread outside the handler, where an EINTR would interrupt its
 * socket I/O: the watchdog signals only after moving phase from HANDLER to
 * SIGNALING (then SIGNALED); the host's signal action moves it back to
 * HANDLER; a handler returning meanwhile waits until the signal has been
 * delivered.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <execinfo.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "crash.h"
#include "deadline.h"
#include "log.h"
#include "req.h"
#include "warmcgi.h"

#define IDLE_TICK_MS	5	/* sleep between requests, before parking */
#define RETRY_MS	1	/* a signal is in flight: try again then */
#define CAPTURE_SIGNAL	(SIGRTMAX - 1)	/* the slow log's backtraces */
#define WATCH_AFTER_MS	5	/* age before the connection is polled */
#define PARK_AFTER_MS	1000	/* idle time before parking */
#define IDLE_MAX	64	/* idle connections polled (worker.c) */

enum phase {
	PHASE_IDLE,		/* no request */
	PHASE_IO,		/* reading a request from the front end */
	PHASE_HOST,		/* host code serves the request */
	PHASE_HANDLER,		/* a module's main() runs */
	PHASE_SIGNALING,	/* the watchdog is sending the signal */
	PHASE_SIGNALED,		/* sent; main() still runs */
	PHASE_DOOMED		/* the worker answers 500 and ends */
};

/*
 * 50 ms; the tests set WARMCGI_WATCHDOG_TICK_MS to a long tick to prove
 * that nothing waits for it.
 */
static long long	 tick_ms = 50;	/* longest sleep while serving */
#define TICK_MS		tick_ms

static struct {
	_Atomic unsigned	 seq;		/* nonzero while serving */
	_Atomic int		 phase;
	_Atomic long long	 soft_ms;	/* deadlines, ms since epoch */
	_Atomic long long	 hard_ms;
	_Atomic long long	 start_ms;
	_Atomic long long	 grace_ms;
	_Atomic int		 conn_fd;	/* -1: nothing to watch */
	_Atomic int		 err;		/* WC_OK, WC_CANCELED, ... */
	_Atomic int		 parked;	/* the watchdog sleeps */
	_Atomic int		 done_written;	/* done_efd holds a count */
	_Atomic int		 bt_ready;	/* 1: bt[] waits to be logged */
	_Atomic long long	 slow_ms;	/* slow log time, or 0 */
	_Atomic long long	 io_until_ms;	/* PHASE_IO: cut off then */
	_Atomic int		 io_fd;		/* PHASE_IO: the connection */
	struct req *_Atomic	 req;
	pthread_t		 main_thread;
	int			 wake_efd;	/* wakes the watchdog */
	int			 done_efd;	/* wc_done_fd() */
	unsigned		 counter;	/* last seq handed out */
	void			*bt[DEADLINE_BT_MAX];
	int			 bt_n;
	int			 bt_slow;	/* 1: from the slow log */
	struct req		 bt_req;	/* the request it belongs to */
} dl = { .conn_fd = -1, .wake_efd = -1, .done_efd = -1 };

/* Set once by the worker before it serves; read by the watchdog. */
static const struct deadline_idle *_Atomic idle;

/*
 * Returns the wall-clock time in milliseconds since the epoch.
 */
long long
deadline_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
efd_write(int fd)
{
	uint64_t	 one = 1;

	while (write(fd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

static void
efd_drain(int fd)
{
	uint64_t	 v;

	while (read(fd, &v, sizeof(v)) == -1 && errno == EINTR)
		;
}

/*
 * Records the serving thread's backtrace (from its own signal action) for
 * the watchdog to log, unless one is already waiting: for the slow log and
 * at the deadline, not when the client went away.
 */
static void
capture(siginfo_t *si, int slow)
{
	struct req	*r = atomic_load(&dl.req);
	int		 expected = PHASE_SIGNALED;

	if (r != NULL && si->si_code == SI_QUEUE &&
	    (unsigned)si->si_value.sival_int == atomic_load(&dl.seq) &&
	    atomic_load(&dl.bt_ready) != 1 &&
	    (slow || atomic_load(&dl.err) == WC_DEADLINE_EXCEEDED)) {
		dl.bt_n = backtrace(dl.bt, DEADLINE_BT_MAX);
		dl.bt_slow = slow;
		/* The request may be over by the time the watchdog logs. */
		memcpy(dl.bt_req.id, r->id, sizeof(dl.bt_req.id));
		dl.bt_req.route.h = r->route.h;
		dl.bt_req.start_us = r->start_us;
		atomic_store(&dl.bt_ready, 1);
		efd_write(dl.wake_efd);
	}
	/* Delivered: the watchdog may signal again. */
	atomic_compare_exchange_strong(&dl.phase, &expected, PHASE_HANDLER);
}

/*
 * The host's action for WC_DEADLINE_SIGNAL: record where the handler is
 * and return, which makes the interrupted system call fail with EINTR.
 */
static void
on_deadline_signal(int sig, siginfo_t *si, void *uctx)
{
	int	 saved = errno;

	(void)sig;
	(void)uctx;
	capture(si, 0);
	errno = saved;
}

/* The slow log's capture signal. */
static void
on_capture_signal(int sig, siginfo_t *si, void *uctx)
{
	int	 saved = errno;

	(void)sig;
	(void)uctx;
	capture(si, 1);
	errno = saved;
}

/*
 * Sends sig to the serving thread if request seq is in a module's main().
 * Returns 1 when sent, 0 when another signal is still in flight (try
 * again), -1 when no module runs.
 */
static int
signal_handler_thread(unsigned seq, int sig)
{
	int		 phase = PHASE_HANDLER;
	union sigval	 v;

	if (atomic_load(&dl.seq) != seq)
		return -1;
	if (!atomic_compare_exchange_strong(&dl.phase, &phase,
	    PHASE_SIGNALING))
		return phase == PHASE_SIGNALING || phase == PHASE_SIGNALED ?
		    0 : -1;
	v.sival_int = (int)seq;
	pthread_sigqueue(dl.main_thread, sig, v);
	atomic_store(&dl.phase, PHASE_SIGNALED);
	return 1;
}

/*
 * Marks request seq done with why, once, and makes wc_done_fd() readable.
 * Returns 1 if the module still needs to be woken by WC_DEADLINE_SIGNAL.
 */
static int
fire(unsigned seq, int why)
{
	int	 expected = WC_OK;

	atomic_compare_exchange_strong(&dl.err, &expected, why);
	if (!atomic_exchange(&dl.done_written, 1))
		efd_write(dl.done_efd);
	return signal_handler_thread(seq, WC_DEADLINE_SIGNAL) == 0;
}

static void
log_backtrace(void)
{
	struct req	*r = &dl.bt_req;
	char		 text[8192];
	struct sb	 sb;

	sb_init(&sb, text, sizeof(text) - 1);
	sb_str(&sb, "\"backtrace\":");
	crash_format_backtrace(&sb, dl.bt, dl.bt_n, 2);
	text[sb.len] = '\0';
	if (dl.bt_slow)
		log_req_extra(r, LOG_LEVEL_WARNING, text, "slow request: "
		    "running for %lld ms; the handler is at the backtrace "
		    "shown", deadline_now_ms() - r->start_us / 1000);
	else
		log_req_extra(r, LOG_LEVEL_WARNING, text, "request passed its "
		    "soft deadline; the handler was at the backtrace shown");
}

/*
 * Waits on the wake eventfd, the connection if fd >= 0 and the nextra
 * idle connections in extra (those that become readable or close are
 * passed to the worker's ready()). Returns 1 when the connection closed.
 */
static int
wait_for(int fd, long long timeout_ms, const int *extra, size_t nextra)
{
	const struct deadline_idle *id = atomic_load(&idle);
	struct pollfd	 p[2 + IDLE_MAX];
	nfds_t		 n = 1, first_idle;
	size_t		 i;

	p[0].fd = dl.wake_efd;
	p[0].events = POLLIN;
	if (fd >= 0) {
		p[1].fd = fd;
		p[1].events = POLLRDHUP;
		p[1].revents = 0;
		n = 2;
	}
	first_idle = n;
	for (i = 0; i < nextra; i++, n++) {
		p[n].fd = extra[i];
		p[n].events = POLLIN | POLLRDHUP;
		p[n].revents = 0;
	}
	if (timeout_ms > TICK_MS)
		timeout_ms = TICK_MS;
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (poll(p, n, (int)timeout_ms) <= 0)
		return 0;
	if (p[0].revents & POLLIN)
		efd_drain(dl.wake_efd);
	for (i = first_idle; i < n && id != NULL; i++)
		if (p[i].revents != 0)
			id->ready(id->ctx, p[i].fd, (p[i].revents &
			    (POLLRDHUP | POLLHUP | POLLERR)) != 0);
	return first_idle == 2 &&
	    (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void
park(void)
{
	struct pollfd	 p = { .fd = dl.wake_efd, .events = POLLIN };

	atomic_store(&dl.parked, 1);
	if (atomic_load(&dl.seq) == 0)
		while (poll(&p, 1, -1) == -1 && errno == EINTR)
			;
	atomic_store(&dl.parked, 0);
	efd_drain(dl.wake_efd);
}

/* What the watchdog remembers about the request it watches. */
struct watch {
	unsigned	 seq;
	int		 soft_fired;	/* done state set at the deadline */
	int		 signal_owed;	/* WC_DEADLINE_SIGNAL still to send */
	int		 cancel_fired;
	int		 slow_done;	/* slow log backtrace taken */
	int		 io_cut;	/* stalled front end cut off */
	int		 flushed;	/* gathered access records written */
};

/*
 * A front end that stopped sending in the middle of a request would keep
 * the serving thread in its blocking read for ever: shut the
 * connection down, so the read fails and the worker moves on.
 */
static void
cut_stalled(struct watch *w, unsigned seq)
{
	int	 fd = atomic_load(&dl.io_fd);

	w->io_cut = 1;
	if (atomic_load(&dl.seq) != seq || atomic_load(&dl.phase) != PHASE_IO)
		return;
	shutdown(fd, SHUT_RDWR);
	log_warnx("the front end sent nothing for %lld ms in the middle of "
	    "a request; connection closed (io_timeout)",
	    deadline_now_ms() - atomic_load(&dl.start_ms));
}

/* Acts on request seq at time now; returns when to look again. */
static long long
check(struct watch *w, unsigned seq, long long now, int *watch_fd)
{
	long long	 soft = atomic_load(&dl.soft_ms);
	long long	 hard = atomic_load(&dl.hard_ms);
	long long	 start = atomic_load(&dl.start_ms);
	long long	 slow = atomic_load(&dl.slow_ms), next;
	int		 phase = atomic_load(&dl.phase);
	int		 fd = atomic_load(&dl.conn_fd);

	if (seq != w->seq)
		memset(w, 0, sizeof(*w)), w->seq = seq;
	if (phase == PHASE_IO) {
		if (!w->io_cut && now >= atomic_load(&dl.io_until_ms))
			cut_stalled(w, seq);
		next = w->io_cut ? now + TICK_MS :
		    atomic_load(&dl.io_until_ms);
		*watch_fd = -1;
		return next < now + IDLE_TICK_MS ? next : now + IDLE_TICK_MS;
	}
	if (!w->soft_fired && now >= soft) {
		w->soft_fired = 1;
		w->signal_owed = fire(seq, WC_DEADLINE_EXCEEDED);
	} else if (w->signal_owed) {
		w->signal_owed = signal_handler_thread(seq,
		    WC_DEADLINE_SIGNAL) == 0;
	}
	if (slow > 0 && !w->slow_done && now >= slow)
		w->slow_done = signal_handler_thread(seq, CAPTURE_SIGNAL) != 0;
	if (now >= hard && phase >= PHASE_HANDLER &&
	    atomic_load(&dl.seq) == seq && deadline_doom())
		crash_hard_deadline();
	next = now + TICK_MS;
	if (w->signal_owed || (slow > 0 && !w->slow_done && now >= slow))
		next = now + RETRY_MS;
	if (!w->soft_fired && soft < next)
		next = soft;
	if (slow > 0 && !w->slow_done && slow < next)
		next = slow;
	if (hard < next)
		next = hard;
	*watch_fd = -1;
	if (fd >= 0 && !w->cancel_fired) {
		if (now >= start + WATCH_AFTER_MS)
			*watch_fd = fd;
		else if (start + WATCH_AFTER_MS < next)
			next = start + WATCH_AFTER_MS;
	}
	if (!w->flushed && now >= start + WATCH_AFTER_MS) {
		/* Earlier requests' records wait no longer. */
		log_flush(0);
		w->flushed = 1;
	}
	/*
	 * Only a poll on the connection may sleep long (it wakes when the
	 * connection closes); a blind sleep could miss the start of the
	 * next request, whose cancellation would then be noticed late.
	 */
	if (*watch_fd == -1 && next > now + IDLE_TICK_MS)
		next = now + IDLE_TICK_MS;
	return next;
}

/*
 * The idle connections to poll beside the request: those of a worker
 * whose request has run WATCH_AFTER_MS (a request waiting on one of them
 * would wait for this one to end). Returns how many are in fds.
 */
static size_t
idle_fds(long long now, int *fds)
{
	const struct deadline_idle *id = atomic_load(&idle);

	if (id == NULL || atomic_load(&dl.phase) < PHASE_HOST ||
	    now < atomic_load(&dl.start_ms) + WATCH_AFTER_MS)
		return 0;
	return id->list(id->ctx, fds, IDLE_MAX);
}

static void *
watchdog(void *arg)
{
	struct watch	 w;
	unsigned	 seq;
	long long	 now, next, idle_since = 0;
	int		 fd, idle_buf[IDLE_MAX];
	size_t		 nidle;

	(void)arg;
	memset(&w, 0, sizeof(w));
	crash_altstack();
	for (;;) {
		if (atomic_load(&dl.bt_ready) == 1) {
			log_backtrace();
			atomic_store(&dl.bt_ready, 2);
		}
		seq = atomic_load(&dl.seq);
		now = deadline_now_ms();
		if (seq == 0) {
			if (idle_since == 0)
				idle_since = now;
			if (now - idle_since >= PARK_AFTER_MS) {
				park();
				idle_since = 0;
			} else {
				wait_for(-1, IDLE_TICK_MS, NULL, 0);
			}
			continue;
		}
		idle_since = 0;
		next = check(&w, seq, now, &fd);
		nidle = idle_fds(now, idle_buf);
		if (nidle > 0 && next > now + TICK_MS)
			next = now + TICK_MS;
		if (wait_for(fd, next - now, idle_buf, nidle) &&
		    atomic_load(&dl.seq) == seq && !w.cancel_fired) {
			w.cancel_fired = 1;
			w.signal_owed = fire(seq, WC_CANCELED);
		}
	}
	return NULL;
}

/*
 * Makes the watchdog look after the idle connections id lists while a
 * request runs long (NULL: none). id must outlive the process's serving.
 */
void
deadline_set_idle(const struct deadline_idle *id)
{
	atomic_store(&idle, id);
}

/*
 * Sets up the calling thread as the serving thread: eventfds, the action
 * for WC_DEADLINE_SIGNAL, and the watchdog thread. Call once per process.
 * Returns 0, or -1 with errno set.
 */
int
deadline_init(void)
{
	struct sigaction sa;
	pthread_attr_t	 attr;
	pthread_t	 t;
	sigset_t	 all, old;
	const char	*tick;
	int		 rc;

	if ((tick = getenv("WARMCGI_WATCHDOG_TICK_MS")) != NULL &&
	    atoll(tick) > 0)
		tick_ms = atoll(tick);
	dl.main_thread = pthread_self();
	dl.wake_efd = eventfd(0, EFD_CLOEXEC);
	dl.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dl.wake_efd == -1 || dl.done_efd == -1)
		return -1;
	crash_preload();	/* libgcc_s now, not in a signal */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_deadline_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(WC_DEADLINE_SIGNAL, &sa, NULL) == -1)
		return -1;
	sa.sa_sigaction = on_capture_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	if (sigaction(CAPTURE_SIGNAL, &sa, NULL) == -1)
		return -1;
	/* The watchdog takes no signals but crashes of its own. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	rc = pthread_create(&t, &attr, watchdog, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

/*
 * Gives what was just stored a new sequence number, which the watchdog
 * reads last, and wakes the watchdog if it is parked.
 */
static void
publish(void)
{
	if (++dl.counter == 0)
		dl.counter = 1;
	atomic_store(&dl.seq, dl.counter);
	if (atomic_load(&dl.parked))
		efd_write(dl.wake_efd);
}

/*
 * Starts watching the reading of a request on connection fd, begun at
 * now_ms (the clock of deadline_now_ms()): if it is not over
 * (deadline_begin() or deadline_end()) by until_ms, the watchdog shuts
 * the connection down so that the blocked read fails. Costs no system
 * call unless the watchdog is parked.
 */
void
deadline_io_begin(int fd, long long now_ms, long long until_ms)
{
	atomic_store(&dl.io_fd, fd);
	atomic_store(&dl.io_until_ms, until_ms);
	atomic_store(&dl.start_ms, now_ms);
	atomic_store(&dl.conn_fd, -1);
	atomic_store(&dl.phase, PHASE_IO);
	publish();
}

/*
 * Starts watching request r: its deadlines (r->soft_deadline_ms and
 * r->hard_deadline_ms) and, when conn_fd >= 0, its connection. Costs no
 * system call unless the watchdog is parked.
 */
void
deadline_begin(struct req *r, int conn_fd)
{
	if (atomic_exchange(&dl.done_written, 0))
		efd_drain(dl.done_efd);
	atomic_store(&dl.bt_ready, 0);
	atomic_store(&dl.req, r);
	atomic_store(&dl.soft_ms, r->soft_deadline_ms);
	atomic_store(&dl.hard_ms, r->hard_deadline_ms);
	atomic_store(&dl.grace_ms, r->hard_deadline_ms - r->soft_deadline_ms);
	atomic_store(&dl.start_ms, r->start_us / 1000);
	atomic_store(&dl.slow_ms, r->route.h != NULL &&
	    r->route.h->limits.slowlog_timeout_ms > 0 ? r->start_us / 1000 +
	    r->route.h->limits.slowlog_timeout_ms : 0);
	atomic_store(&dl.conn_fd, conn_fd);
	atomic_store(&dl.err, WC_OK);
	atomic_store(&dl.phase, PHASE_HOST);
	publish();
}

/*
 * Stops watching the current request. Returns 1 if the watchdog may still
 * be polling its connection: that poll holds a reference to the socket,
 * so a close() of the descriptor would not close the connection until
 * the poll returns (up to TICK_MS later), and the caller must shutdown()
 * it first. Returns 0 for requests too young to have been watched.
 */
int
deadline_end(void)
{
	int	 watched = atomic_load(&dl.conn_fd) >= 0 && deadline_now_ms() >=
		    atomic_load(&dl.start_ms) + WATCH_AFTER_MS;

	atomic_store(&dl.seq, 0);
	atomic_store(&dl.phase, PHASE_IDLE);
	atomic_store(&dl.conn_fd, -1);
	atomic_store(&dl.req, NULL);
	return watched;
}

/*
 * Marks the start of a module's main(): from now on the deadline signal
 * and the hard deadline apply.
 */
void
deadline_enter_handler(void)
{
	atomic_store(&dl.phase, PHASE_HANDLER);
}

/*
 * Marks the end of main(). If the watchdog is signalling, waits until the
 * signal has been delivered; if it doomed the worker, never returns.
 */
void
deadline_leave_handler(void)
{
	int	 phase = PHASE_HANDLER;

	while (!atomic_compare_exchange_strong(&dl.phase, &phase,
	    PHASE_HOST)) {
		if (phase == PHASE_DOOMED)
			for (;;)
				pause();
		if (phase == PHASE_SIGNALED) {
			/*
			 * A system call delivers the pending signal (the
			 * module may have blocked it or taken it over: then
			 * the phase stays SIGNALED, and we go on).
			 */
			sched_yield();
			phase = PHASE_SIGNALED;
			if (atomic_compare_exchange_strong(&dl.phase, &phase,
			    PHASE_HOST))
				return;
		} else {
			sched_yield();
		}
		phase = PHASE_HANDLER;
	}
}

/*
 * Returns 1 while a module's main() runs.
 */
int
deadline_in_handler(void)
{
	int	 p = atomic_load(&dl.phase);

	return p == PHASE_HANDLER || p == PHASE_SIGNALING ||
	    p == PHASE_SIGNALED;
}

/*
 * Claims the current request for an answer of last resort (hard deadline,
 * crash). Returns 1 if this caller won it; 0 if the worker is already
 * doomed. Async-signal-safe.
 */
int
deadline_doom(void)
{
	int	 p = atomic_load(&dl.phase);

	while (p != PHASE_DOOMED)
		if (atomic_compare_exchange_weak(&dl.phase, &p, PHASE_DOOMED))
			return 1;
	return 0;
}

/*
 * Returns WC_OK, WC_CANCELED or WC_DEADLINE_EXCEEDED for the current
 * request; a deadline just passed counts even before the watchdog acts.
 */
int
deadline_err(void)
{
	int	 e = atomic_load(&dl.err);

	if (e == WC_OK && atomic_load(&dl.seq) != 0 &&
	    deadline_now_ms() >= atomic_load(&dl.soft_ms)) {
		atomic_compare_exchange_strong(&dl.err, &e,
		    WC_DEADLINE_EXCEEDED);
		e = atomic_load(&dl.err);
	}
	return e;
}

/*
 * Returns 1 if the current request was canceled (its client went away):
 * deadline_err() without a look at the clock.
 */
int
deadline_canceled(void)
{
	return atomic_load(&dl.err) == WC_CANCELED;
}

/*
 * Returns the descriptor that is readable once the request is done.
 */
int
deadline_done_fd(void)
{
	return dl.done_efd;
}

/*
 * Returns the current soft deadline in ms since the epoch.
 */
long long
deadline_soft_ms(void)
{
	return atomic_load(&dl.soft_ms);
}

/*
 * Moves the deadline to ms from now if that is earlier; the hard deadline
 * moves with it. Returns 0, or -1 if ms is negative.
 */
int
deadline_set_timeout_ms(long long ms)
{
	long long	 soft;
	struct req	*r;

	if (ms < 0)
		return -1;
	soft = deadline_now_ms() + ms;
	if (soft >= atomic_load(&dl.soft_ms))
		return 0;
	atomic_store(&dl.hard_ms, soft + atomic_load(&dl.grace_ms));
	atomic_store(&dl.soft_ms, soft);
	if ((r = atomic_load(&dl.req)) != NULL) {
		r->soft_deadline_ms = soft;
		r->hard_deadline_ms = soft + atomic_load(&dl.grace_ms);
	}
	efd_write(dl.wake_efd);
	return 0;
}

/*
 * Returns the request being served, or NULL. Async-signal-safe.
 */
struct req *
deadline_req(void)
{
	return atomic_load(&dl.req);
}
