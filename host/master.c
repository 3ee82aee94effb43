/*
 * master.c: the master process. It opens the listening socket (or takes
 * the one systemd passed), maps the scoreboard, forks the workers and
 * keeps the pool at its target size; it never serves a request itself.
 *
 * The pool. With `workers = N` the target is N. With workers_min and
 * workers_max it starts at workers_min; every TICK_MS the master reads the
 * scoreboard, and when every worker is busy it raises the target (1, 2, 4
 * ... up to SPAWN_BATCH_MAX workers per tick, and only once the workers it
 * started last accept: no fork storm), and it retires workers that were
 * idle longer than worker_idle_timeout, down to workers_min.
 *
 * Deaths. A worker that exits is replaced. One that ends to be recycled
 * (max_requests, max_worker_memory) or after a hard deadline is replaced at
 * once; when workers keep dying young, the next start waits longer and
 * longer (a crash loop must not become a fork storm); when more than
 * emergency_restart_threshold die of a signal within
 * emergency_restart_interval, the pool is in a crash storm: logged as
 * CRITICAL, shown on the status page, and workers are started one at a
 * time with a growing pause, until a whole interval passes without such a
 * death.
 *
 * Signals are blocked except inside ppoll(), the one place the master
 * waits; handlers only set flags (nginx's ngx_process_cycle.c does the
 * same with sigsuspend):
 *
 *   SIGTERM, SIGINT  graceful stop: workers finish their request and exit;
 *                    a second one kills them at once
 *   SIGHUP           reload: read and check the config again; if it is
 *                    valid, start a new generation of workers with it (a
 *                    higher CURRENT_VERSION_ID minor); once they accept,
 *                    retire the old ones, which finish their requests
 *                    first. If not, log each problem and keep serving
 *   SIGUSR1          reopen the log files, here and in every worker
 *   SIGUSR2          drain (sigqueue() value DRAIN_VALUE_ON), undrain
 *                    (DRAIN_VALUE_OFF), or toggle (a plain kill): see
 *                    below and drain.c
 *   SIGCHLD          reap workers (and orphans: the master is a
 *                    subreaper)
 *
 * Draining. A drained host refuses new connections at once and its
 * workers finish the requests they have, so that nginx sends new ones to
 * the other hosts of its upstream. For a TCP socket the master first
 * drops new connection requests and waits until the workers have taken
 * what the kernel's backlog holds (at most pending_timeout), then ends
 * the listening state; a unix socket file is renamed. Undrain reverses
 * it; workers hear of both through SIGUSR2 and the scoreboard. A stop
 * (SIGTERM) drains the socket warmcgi made before it retires the workers,
 * and removes a unix socket file at once.
 *
 * Each worker has a control pipe whose write end the master holds:
 * closing it tells the worker to stop. Workers write an eventfd once when
 * they accept, which wakes the master during starts and reloads.
 */
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "crash.h"
#include "drain.h"
#include "log.h"
#include "master.h"
#include "module.h"
#include "pipeline.h"
#include "priv.h"
#include "scoreboard.h"
#include "systemd.h"
#include "worker.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
#define YOUNG_MS	1000	/* a worker dying sooner counts as a loop */
#define TICK_MS		100	/* scoreboard checks while scaling */
#define SPAWN_BATCH_MAX	8	/* workers added per tick at most */
#define RELOAD_GRACE_MS	10000	/* then the old generation goes anyway */
#define STORM_DELAY_MS	1000	/* first pause between starts in a storm */
#define IDLE_WAIT_MS	60000
#define SETTLE_POLL_MS	2	/* backlog checks while draining */
#define SETTLE_MS	10	/* the backlog must stay empty so long: a
				   handshake under way ends within it */
#define DRAIN_TOGGLE	3	/* got_drain: a SIGUSR2 sent with kill() */

enum drain_state {
	DRAIN_NONE,		/* serving */
	DRAIN_SETTLING,		/* TCP: SYNs dropped, backlog served */
	DRAIN_DONE		/* new connections refused */
};

struct slot {
	pid_t		 pid;		/* 0: empty */
	int		 ctl;		/* write end of its control pipe */
	unsigned	 gen;		/* generation (config load) */
	long long	 started_ms;
	int		 retiring;	/* told to stop; do not replace */
};

struct master {
	struct conf	*conf;
	struct pipeline	*pl;
	struct scoreboard *sb;
	int		 listen_fd;
	int		 own_socket;	/* we made it: unlink at exit */
	int		 ready_fd;	/* eventfd workers write when ready */
	int		 handoff[2];	/* workers pass connections: 0 to 1 */
	unsigned	 gen;
	long long	 minor;		/* CURRENT_VERSION_ID minor */
	struct slot	*slots;		/* one per scoreboard slot */
	size_t		 nslots;
	int		 target;	/* workers of this generation wanted */
	int		 batch;		/* next scale-up step */
	long long	 next_tick_ms;
	int		 fast_deaths;	/* young deaths in a row */
	long long	 respawn_at_ms;	/* no spawning before */
	int		 announced;	/* READY=1 sent for this generation */
	int		 reloading;	/* old generation not yet retired */
	long long	 reload_ms;	/* when the reload began */
	long long	*deaths;	/* ring: times of deaths by signal */
	size_t		 ndeaths;	/* its size: the threshold */
	size_t		 dnext;
	int		 storm;		/* in a crash storm */
	long long	 storm_until_ms;
	long long	 storm_delay_ms;
	int		 stopping;
	long long	 stop_deadline_ms;
	int		 tcp;		/* the socket is TCP (else unix) */
	char		 sock_path[108]; /* unix: its file, "" if none */
	enum drain_state drain;
	long long	 drain_until_ms; /* settling ends by then */
	long long	 drain_empty_ms; /* backlog seen empty since, or 0 */
};

static volatile sig_atomic_t got_term, got_hup, got_usr1, got_chld;
static volatile sig_atomic_t got_drain;	/* DRAIN_VALUE_*, DRAIN_TOGGLE */

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term++;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	case SIGCHLD:
		got_chld = 1;
		break;
	}
}

/* SIGUSR2: drain or undrain as sigqueue()'s value says; kill() toggles. */
static void
on_drain_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == SI_QUEUE && (si->si_value.sival_int ==
	    DRAIN_VALUE_ON || si->si_value.sival_int == DRAIN_VALUE_OFF))
		got_drain = si->si_value.sival_int;
	else
		got_drain = DRAIN_TOGGLE;
}

static long long
now_ms(void)
{
	return scoreboard_now_ms();
}

static int
listen_unix(const struct conf *c)
{
	struct sockaddr_un sun;
	struct stat	 st;
	struct group	*gr = NULL;
	int		 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->listen);
	if (lstat(c->listen, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "warmcgi: listen: %s exists and is not "
			    "a socket\n", c->listen);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			fprintf(stderr, "warmcgi: listen: %s is in use by a "
			    "running server\n", c->listen);
			return -1;
		}
		if (probe != -1)
			close(probe);
		unlink(c->listen);	/* stale, from a server that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "warmcgi: listen: %s: %s\n", c->listen,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (c->listen_group != NULL &&
	    (gr = getgrnam(c->listen_group)) == NULL) {
		fprintf(stderr, "warmcgi: listen_group = %s: no such group\n",
		    c->listen_group);
		close(fd);
		return -1;
	}
	if ((c->listen_uid >= 0 || gr != NULL) &&
	    chown(c->listen, c->listen_uid >= 0 ? (uid_t)c->listen_uid :
	    (uid_t)-1, gr ? gr->gr_gid : (gid_t)-1) == -1) {
		fprintf(stderr, "warmcgi: chown %s (listen_owner, "
		    "listen_group): %s\n", c->listen, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(c->listen, (mode_t)c->listen_mode) == -1) {
		fprintf(stderr, "warmcgi: chmod %s: %s\n", c->listen,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
listen_tcp(const struct conf *c)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[256], *port;
	int		 fd = -1, one = 1, rc;

	snprintf(host, sizeof(host), "%s", c->listen);
	port = strrchr(host, ':');
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port,
	    &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "warmcgi: listen = %s: %s\n", c->listen,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd != -1)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		fprintf(stderr, "warmcgi: listen = %s: %s%s\n", c->listen,
		    strerror(errno), errno == EADDRINUSE ? " (another "
		    "server has this port)" : "");
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Opens the listening socket of c (a unix path or HOST:PORT), non-blocking
 * and close-on-exec. An existing unix socket that nobody answers on is
 * replaced; one a running server answers on is an error. Returns the
 * descriptor, or -1 after printing the reason.
 */
int
master_listen(const struct conf *c)
{
	int	 fd;

	fd = c->listen_is_tcp ? listen_tcp(c) : listen_unix(c);
	if (fd != -1 && listen(fd, (int)c->listen_backlog) == -1) {
		fprintf(stderr, "warmcgi: listen: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Publishes what the status page shows of the pool. */
static void
publish(struct master *m)
{
	struct scoreboard_pool *p = m->sb->pool;

	atomic_store(&p->dynamic, (int)m->conf->dynamic);
	atomic_store(&p->workers_min, (int)m->conf->workers_min);
	atomic_store(&p->workers_max, (int)m->conf->workers_max);
	atomic_store(&p->target, m->target);
	atomic_store(&p->gen, m->gen);
	atomic_store(&p->emergency, m->storm);
	atomic_store(&p->threshold, (int)m->conf->emergency_threshold);
	atomic_store(&p->interval_ms, m->conf->emergency_interval_ms);
	snprintf(p->version, sizeof(p->version), "%s",
	    pipeline_version(m->pl));
}

static struct slot *
free_slot(struct master *m)
{
	size_t	 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid == 0)
			return &m->slots[i];
	return NULL;
}

/* The child side of spawn(): limits, privileges, then the worker loop. */
static void
child(struct master *m, struct slot *s, int ctl)
{
	struct worker_args a;
	sigset_t	 mask;
	size_t		 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0 && m->slots[i].ctl != -1)
			close(m->slots[i].ctl);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	signal(DRAIN_SIGNAL, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	/*
	 * What the master forwards stays blocked: the worker reads it from
	 * its signalfd, and one sent while it starts must not kill it.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, DRAIN_SIGNAL);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (priv_worker(m->conf) == -1)
		_exit(CRASH_EXIT_FATAL);
	memset(&a, 0, sizeof(a));
	a.pl = m->pl;
	a.listen_fd = m->listen_fd;
	a.ctl_fd = ctl;
	a.ready_fd = m->ready_fd;
	a.sb = m->sb;
	a.slot = (size_t)(s - m->slots);
	a.max_requests = m->conf->max_requests;
	a.max_worker_bytes = m->conf->max_worker_bytes;
	a.listen_allow = m->conf->listen_allow;
	a.master_pid = atomic_load(&m->sb->pool->master_pid);
	a.handoff_tx = m->handoff[0];
	a.handoff_rx = m->handoff[1];
	worker_run(&a);
}

/* Starts one worker of the current generation. Returns 0 or -1. */
static int
spawn(struct master *m)
{
	struct slot	*s;
	int		 p[2];
	pid_t		 pid;

	if ((s = free_slot(m)) == NULL) {
		log_warnx("no free scoreboard slot for another worker "
		    "(raising workers_max needs a restart)");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_error("spawn: pipe");
		return -1;
	}
	scoreboard_starting(m->sb, (size_t)(s - m->slots), m->gen);
	if ((pid = fork()) == -1) {
		log_error("fork");
		scoreboard_reaped(m->sb, (size_t)(s - m->slots), 0);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[1]);
		child(m, s, p[0]);
	}
	close(p[0]);
	s->pid = pid;
	s->ctl = p[1];
	s->gen = m->gen;
	s->started_ms = now_ms();
	s->retiring = 0;
	scoreboard_spawned(m->sb, (size_t)(s - m->slots), (int)pid);
	return 0;
}

/* What count() counts. */
enum which {
	ALL,			/* every live worker */
	CURRENT,		/* of this generation, not retiring */
	CURRENT_READY,		/* ... that accept requests */
	CURRENT_STARTING,	/* ... that do not yet */
	CURRENT_IDLE,
	CURRENT_BUSY,
	OLD			/* older generations, not retiring */
};

static int
state(const struct master *m, const struct slot *s)
{
	return atomic_load(&m->sb->slots[s - m->slots].state);
}

static int
count(const struct master *m, enum which w)
{
	const struct slot *s;
	size_t		 i;
	int		 n = 0, st, cur;

	for (i = 0; i < m->nslots; i++) {
		s = &m->slots[i];
		if (s->pid == 0)
			continue;
		cur = !s->retiring && s->gen == m->gen;
		st = state(m, s);
		switch (w) {
		case ALL:
			n++;
			break;
		case CURRENT:
			n += cur;
			break;
		case CURRENT_READY:
			n += cur && st != SCOREBOARD_STARTING;
			break;
		case CURRENT_STARTING:
			n += cur && st == SCOREBOARD_STARTING;
			break;
		case CURRENT_IDLE:
			n += cur && st == SCOREBOARD_IDLE;
			break;
		case CURRENT_BUSY:
			n += cur && st == SCOREBOARD_BUSY;
			break;
		case OLD:
			n += !s->retiring && s->gen != m->gen;
			break;
		}
	}
	return n;
}

static void
retire(struct master *m, struct slot *s)
{
	if (s->retiring)
		return;
	s->retiring = 1;
	atomic_store(&m->sb->slots[s - m->slots].retiring, 1);
	close(s->ctl);
	s->ctl = -1;
}

/* Retires workers idle for longer than worker_idle_timeout. */
static void
scale_down(struct master *m, long long now)
{
	struct slot	*s, *oldest;
	long long	 since, oldest_since;
	size_t		 i;

	while (count(m, CURRENT) > m->conf->workers_min) {
		oldest = NULL;
		oldest_since = 0;
		for (i = 0; i < m->nslots; i++) {
			s = &m->slots[i];
			if (s->pid == 0 || s->retiring || s->gen != m->gen ||
			    state(m, s) != SCOREBOARD_IDLE)
				continue;
			since = atomic_load(&m->sb->slots[i].since_ms);
			if (now - since < m->conf->worker_idle_timeout_ms)
				continue;
			if (oldest == NULL || since < oldest_since) {
				oldest = s;
				oldest_since = since;
			}
		}
		if (oldest == NULL)
			break;
		log_info("worker %d idle for %lld ms: retiring it",
		    (int)oldest->pid, now - oldest_since);
		retire(m, oldest);
	}
	m->target = count(m, CURRENT);
	if (m->target < m->conf->workers_min)
		m->target = (int)m->conf->workers_min;
}

/*
 * A dynamic pool's tick: grow when every worker is busy (in steps that
 * double while it stays so, and only once the last ones accept), shrink
 * when some stayed idle.
 */
static void
scale(struct master *m, long long now)
{
	int	 idle, busy, starting, add;

	if (!m->conf->dynamic || now < m->next_tick_ms)
		return;
	m->next_tick_ms = now + TICK_MS;
	idle = count(m, CURRENT_IDLE);
	busy = count(m, CURRENT_BUSY);
	starting = count(m, CURRENT_STARTING);
	if (idle == 0 && starting == 0 && busy > 0 && busy >= m->target &&
	    m->target < m->conf->workers_max && !m->storm) {
		add = m->batch < 1 ? 1 : m->batch;
		if (add > m->conf->workers_max - m->target)
			add = (int)m->conf->workers_max - m->target;
		m->target += add;
		m->batch = add * 2 > SPAWN_BATCH_MAX ? SPAWN_BATCH_MAX :
		    add * 2;
		log_info("all %d workers busy: starting %d more (pool target "
		    "%d, workers_max %lld)", busy, add, m->target,
		    m->conf->workers_max);
	} else if (idle > 0) {
		m->batch = 1;
		scale_down(m, now);
	}
	atomic_store(&m->sb->pool->target, m->target);
}

/* Starts workers until this generation has its target. */
static void
fill(struct master *m, long long now)
{
	int	 n;

	if (now < m->respawn_at_ms)
		return;
	for (n = count(m, CURRENT); n < m->target; n++) {
		if (spawn(m) == -1) {
			m->respawn_at_ms = now + BACKOFF_MAX_MS / 10;
			return;
		}
		if (m->storm) {
			/* One at a time, with a growing pause. */
			m->respawn_at_ms = now + m->storm_delay_ms;
			log_warnx("crash storm: started one worker; the next "
			    "start waits %lld ms", m->storm_delay_ms);
			return;
		}
	}
}

/* A reload is done once the new generation accepts: retire the old one. */
static void
finish_reload(struct master *m, long long now)
{
	size_t	 i;
	int	 ready = count(m, CURRENT_READY);

	if (!m->reloading)
		return;
	if (ready < m->target && (ready == 0 ||
	    now - m->reload_ms < RELOAD_GRACE_MS))
		return;
	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0 && m->slots[i].gen != m->gen)
			retire(m, &m->slots[i]);
	m->reloading = 0;
	m->announced = 1;
	log_info("reloaded: %d workers of CURRENT_VERSION_ID %s accept "
	    "requests; the old ones finish theirs", ready,
	    pipeline_version(m->pl));
	systemd_notify("READY=1\nSTATUS=serving CURRENT_VERSION_ID %s with %d "
	    "workers", pipeline_version(m->pl), ready);
}

/* READY=1 to systemd once the first workers accept. */
static void
announce(struct master *m)
{
	if (m->announced || m->reloading ||
	    count(m, CURRENT_READY) < m->target)
		return;
	m->announced = 1;
	systemd_notify("READY=1\nMAINPID=%d\nSTATUS=serving "
	    "CURRENT_VERSION_ID %s with %d workers", (int)getpid(),
	    pipeline_version(m->pl), m->target);
}

/* Counts a death by signal; starts or extends a crash storm. */
static void
crashed(struct master *m, long long now)
{
	struct scoreboard_pool *p = m->sb->pool;
	size_t		 i;
	int		 recent = 0;

	scoreboard_add(&p->crashed, 1);
	if (m->ndeaths == 0)
		return;
	m->deaths[m->dnext] = now;
	m->dnext = (m->dnext + 1) % m->ndeaths;
	for (i = 0; i < m->ndeaths; i++)
		if (m->deaths[i] != 0 &&
		    now - m->deaths[i] < m->conf->emergency_interval_ms)
			recent++;
	atomic_store(&p->recent_crashes, recent);
	if (!m->storm && (size_t)recent >= m->ndeaths) {
		m->storm = 1;
		m->storm_delay_ms = STORM_DELAY_MS;
		scoreboard_add(&p->storms, 1);
		atomic_store(&p->emergency, 1);
		atomic_store(&p->emergency_since_ms, log_now_us() / 1000);
		log_crit("crash storm: %d workers died of a signal within "
		    "%lld ms (emergency_restart_threshold); starting workers "
		    "one at a time, slower and slower, until none dies for "
		    "%lld ms", recent, m->conf->emergency_interval_ms,
		    m->conf->emergency_interval_ms);
		systemd_notify("STATUS=crash storm: workers keep dying; "
		    "starting them slowly");
	} else if (m->storm) {
		m->storm_delay_ms *= 2;
		if (m->storm_delay_ms > m->conf->emergency_interval_ms)
			m->storm_delay_ms = m->conf->emergency_interval_ms;
	}
	if (m->storm) {
		m->storm_until_ms = now + m->conf->emergency_interval_ms;
		if (m->respawn_at_ms < now + m->storm_delay_ms)
			m->respawn_at_ms = now + m->storm_delay_ms;
	}
}

/* Ends a crash storm after a quiet interval. */
static void
storm_over(struct master *m, long long now)
{
	if (!m->storm || now < m->storm_until_ms)
		return;
	m->storm = 0;
	atomic_store(&m->sb->pool->emergency, 0);
	atomic_store(&m->sb->pool->recent_crashes, 0);
	log_info("crash storm over: no worker died of a signal for %lld ms",
	    m->conf->emergency_interval_ms);
	systemd_notify("STATUS=serving CURRENT_VERSION_ID %s",
	    pipeline_version(m->pl));
}

static void
describe_exit(const struct slot *s, int status)
{
	if (WIFSIGNALED(status))
		log_errorx("worker %d died of signal %d (%s)", (int)s->pid,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == CRASH_EXIT_HARD_DEADLINE)
		log_warnx("worker %d ended after stopping a request at its "
		    "hard deadline", (int)s->pid);
	else if (WEXITSTATUS(status) == WORKER_EXIT_RECYCLED)
		log_debug("worker %d recycled", (int)s->pid);
	else if (!s->retiring && WEXITSTATUS(status) != 0)
		log_errorx("worker %d exited with status %d", (int)s->pid,
		    WEXITSTATUS(status));
	else
		log_debug("worker %d exited", (int)s->pid);
}

/* Accounts for the end of the worker in slot s. */
static void
ended(struct master *m, struct slot *s, int status)
{
	struct scoreboard_pool *p = m->sb->pool;
	long long	 now = now_ms(), delay;
	int		 hard, recycled, young;

	describe_exit(s, status);
	hard = WIFEXITED(status) &&
	    WEXITSTATUS(status) == CRASH_EXIT_HARD_DEADLINE;
	recycled = WIFEXITED(status) &&
	    WEXITSTATUS(status) == WORKER_EXIT_RECYCLED;
	scoreboard_reaped(m->sb, (size_t)(s - m->slots), hard);
	if (hard)
		scoreboard_add(&p->hard_deadlines, 1);
	if (recycled && !s->retiring)
		scoreboard_add(&p->recycled, 1);
	if (WIFSIGNALED(status) && !m->stopping)
		crashed(m, now);
	young = !s->retiring && !hard && !recycled &&
	    now - s->started_ms < YOUNG_MS;
	if (young) {
		m->fast_deaths++;
		delay = BACKOFF_MIN_MS << (m->fast_deaths > 7 ? 7 :
		    m->fast_deaths - 1);
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		if (m->respawn_at_ms < now + delay)
			m->respawn_at_ms = now + delay;
		log_errorx("workers are dying young (%d in a row); next start "
		    "in %lld ms", m->fast_deaths, m->respawn_at_ms - now);
	} else if (!s->retiring) {
		m->fast_deaths = 0;
	}
}

static void
reap(struct master *m)
{
	struct slot	*s;
	size_t		 i;
	int		 status;
	pid_t		 pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0, s = NULL; i < m->nslots; i++)
			if (m->slots[i].pid == pid)
				s = &m->slots[i];
		if (s == NULL)
			continue;	/* an orphan we adopted */
		ended(m, s, status);
		if (s->ctl != -1)
			close(s->ctl);
		memset(s, 0, sizeof(*s));
		s->ctl = -1;
	}
}

static long long
minor_after(long long prev)
{
	long long	 t = (long long)time(NULL);

	return t > prev ? t : prev + 1;
}

/* Sizes the ring of recent deaths by signal for a threshold. */
static void
resize_deaths(struct master *m, size_t n)
{
	long long	*d = NULL;

	if (n == m->ndeaths)
		return;
	if (n > 0 && (d = calloc(n, sizeof(*d))) == NULL) {
		log_error("emergency_restart_threshold");
		return;
	}
	free(m->deaths);
	m->deaths = d;
	m->ndeaths = n;
	m->dnext = 0;
}

/* Reads and checks the config file again. Returns it, or NULL (logged). */
static struct conf *
load_again(struct master *m)
{
	struct buf	 errors;
	struct conf	*c = NULL;
	char		 err[1024];

	buf_init(&errors);
	if (conf_load(m->conf->file, &c, &errors) == 0) {
		module_check_conf(c, &errors);
		if (priv_check_root(c, err, sizeof(err)) == -1)
			buf_printf(&errors, "%s\n", err);
	}
	if (errors.len == 0 && strcmp(c->listen, m->conf->listen) != 0 &&
	    m->own_socket)
		buf_printf(&errors, "%s:0: listen changed (%s); restart "
		    "warmcgi to move the socket\n", c->file, c->listen);
	if (errors.len > 0) {
		log_errorx("reload failed, still serving the old "
		    "configuration:\n%s", errors.data);
		conf_free(c);
		c = NULL;
	}
	buf_free(&errors);
	return c;
}

/* A reload that changes pid_file: the pid moves to the new file. */
static void
move_pid_file(const struct conf *old, const struct conf *c)
{
	if (old->pid_file != NULL && (c->pid_file == NULL ||
	    strcmp(old->pid_file, c->pid_file) != 0))
		drain_pid_remove(old->pid_file);
	if (c->pid_file != NULL && (old->pid_file == NULL ||
	    strcmp(old->pid_file, c->pid_file) != 0) &&
	    drain_pid_write(c->pid_file) == -1)
		log_warn("pid_file %s", c->pid_file);
}

/* SIGHUP: a new config and a new generation, or the old one on errors. */
static void
reload(struct master *m)
{
	struct buf	 errors;
	struct conf	*c;
	struct pipeline	*pl;
	long long	 minor, now = now_ms();
	int		 live;

	log_info("reloading %s", m->conf->file);
	systemd_notify("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading",
	    now * 1000);
	if ((c = load_again(m)) == NULL) {
		systemd_notify("READY=1\nSTATUS=reload failed; serving "
		    "CURRENT_VERSION_ID %s", pipeline_version(m->pl));
		return;
	}
	minor = minor_after(m->minor);
	if ((pl = pipeline_new(c, minor)) == NULL ||
	    pipeline_set_scoreboard(pl, m->sb) == -1) {
		log_errorx("reload: out of memory");
		pipeline_free(pl);
		conf_free(c);
		return;
	}
	/* The master may unload the old modules: workers have copies. */
	pipeline_free(m->pl);
	buf_init(&errors);
	if (c->preload && pipeline_preload(pl, &errors) == -1)
		log_errorx("reload: preload: %s", errors.data);
	buf_free(&errors);
	if ((size_t)c->workers_max * 2 > m->nslots)
		log_warnx("workers_max = %lld: the scoreboard holds %zu "
		    "workers; restart warmcgi to use more", c->workers_max,
		    m->nslots);
	/* As many workers as now serve, within the new bounds. */
	live = count(m, CURRENT);
	if (live < c->workers_min || !c->dynamic)
		live = (int)c->workers_min;
	if (live > c->workers_max)
		live = (int)c->workers_max;
	resize_deaths(m, (size_t)c->emergency_threshold);
	move_pid_file(m->conf, c);
	conf_free(m->conf);
	m->conf = c;
	m->pl = pl;
	m->minor = minor;
	m->gen++;
	m->target = live;
	m->batch = 1;
	m->fast_deaths = 0;
	m->respawn_at_ms = 0;
	m->reloading = 1;
	m->reload_ms = now;
	m->announced = 0;
	scoreboard_add(&m->sb->pool->reloads, 1);
	publish(m);
	log_set_instance(NULL, pipeline_version(pl));
	log_set_host(c->host_name);
	log_info("reload: starting %d workers of CURRENT_VERSION_ID %s", live,
	    pipeline_version(pl));
}

static void	 forward(const struct master *, int);
static void	 retire_all(struct master *);

/* The listening socket, as a log message names it. */
static const char *
sock_name(const struct master *m)
{
	return m->tcp || m->sock_path[0] == '\0' ? m->conf->listen :
	    m->sock_path;
}

/* Tells the workers (through the scoreboard and a signal) of a change. */
static void
drain_publish(struct master *m)
{
	atomic_store(&m->sb->pool->draining, m->drain != DRAIN_NONE);
	forward(m, DRAIN_SIGNAL);
}

/* Ends the listening state of a TCP socket: DRAIN_DONE. */
static void
drain_done(struct master *m)
{
	drain_shut(m->listen_fd);
	m->drain = DRAIN_DONE;
	log_info("drained: %s refuses new connections; %d workers finish "
	    "the requests they have", sock_name(m), count(m, CURRENT_BUSY));
	systemd_notify("STATUS=drained: new connections are refused");
	if (m->stopping)
		retire_all(m);
}

/*
 * Starts draining (stop: for a stop). A unix socket file is renamed (a
 * stop removes it): done at once. A TCP socket drops new connection
 * requests while the workers take the backlog (drain_settle()).
 */
static void
drain_start(struct master *m, long long now, int stop)
{
	if (m->drain != DRAIN_NONE) {
		if (stop && !m->tcp && m->own_socket)
			drain_unlink(m->sock_path);
		if (!stop)
			log_info("drain: already drained");
		return;
	}
	if (!m->tcp && m->sock_path[0] == '\0') {
		log_warnx("drain: the socket has no file name; it cannot be "
		    "drained");
		return;
	}
	if (m->tcp && drain_filter(m->listen_fd) == 0) {
		m->drain = DRAIN_SETTLING;
		m->drain_until_ms = now + m->conf->limits.pending_timeout_ms;
		m->drain_empty_ms = 0;
		log_info("draining: new connections to %s are refused; the "
		    "workers take what waits in the backlog", sock_name(m));
	} else if (m->tcp) {
		drain_done(m);
	} else if (stop && m->own_socket) {
		drain_unlink(m->sock_path);
		m->drain = DRAIN_DONE;
	} else if (drain_hide(m->sock_path) == 0) {
		m->drain = DRAIN_DONE;
		log_info("drained: %s is renamed; new connections are refused; "
		    "%d workers finish the requests they have", m->sock_path,
		    count(m, CURRENT_BUSY));
		systemd_notify("STATUS=drained: new connections are refused");
	} else {
		return;
	}
	drain_publish(m);
}

/*
 * While a TCP socket drains: once the backlog has stayed empty for
 * SETTLE_MS (or pending_timeout has passed: what still waits would get a
 * 503), the listening state ends.
 */
static void
drain_settle(struct master *m, long long now)
{
	int	 queued;

	if (m->drain != DRAIN_SETTLING)
		return;
	queued = drain_queued(m->listen_fd);
	if (now < m->drain_until_ms) {
		if (queued != 0) {
			m->drain_empty_ms = 0;
			return;
		}
		if (m->drain_empty_ms == 0)
			m->drain_empty_ms = now;
		if (now - m->drain_empty_ms < SETTLE_MS)
			return;
	} else if (queued > 0) {
		log_warnx("drain: %d connections still wait for a worker "
		    "after pending_timeout; they are reset", queued);
	}
	drain_done(m);
}

/*
 * Undoes a drain: the socket accepts connections again. Returns 0, or -1
 * (logged) if it could not, and the host stays drained.
 */
static int
drain_undo(struct master *m)
{
	if (m->drain == DRAIN_NONE)
		return 0;
	if (m->tcp) {
		drain_unfilter(m->listen_fd);
		if (m->drain == DRAIN_DONE && drain_relisten(m->listen_fd,
		    (int)m->conf->listen_backlog) == -1)
			return -1;
	} else if (drain_unhide(m->sock_path) == -1) {
		return -1;
	}
	m->drain = DRAIN_NONE;
	drain_publish(m);
	return 0;
}

/* SIGUSR2: drain, undrain or toggle. */
static void
drain_request(struct master *m, int req)
{
	int	 on = req == DRAIN_VALUE_ON ||
		    (req == DRAIN_TOGGLE && m->drain == DRAIN_NONE);

	if (on) {
		drain_start(m, now_ms(), 0);
		return;
	}
	if (m->stopping || m->drain == DRAIN_NONE)
		return;
	if (drain_undo(m) == 0) {
		log_info("undrained: %s accepts connections again",
		    sock_name(m));
		systemd_notify("STATUS=serving CURRENT_VERSION_ID %s",
		    pipeline_version(m->pl));
	}
}

/* Remembers what kind of socket the master listens on. */
static void
sock_identify(struct master *m)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t	 len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(m->listen_fd, (struct sockaddr *)&ss, &len) == -1) {
		m->tcp = m->conf->listen_is_tcp;
		return;
	}
	m->tcp = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
	if (ss.ss_family == AF_UNIX && sun->sun_path[0] != '\0')
		snprintf(m->sock_path, sizeof(m->sock_path), "%.*s",
		    (int)(len - offsetof(struct sockaddr_un, sun_path)),
		    sun->sun_path);
}

static long long
longest_deadline_ms(const struct conf *c)
{
	long long	 t = c->limits.request_timeout_ms +
			    c->limits.deadline_grace_ms;
	size_t		 i;

	for (i = 0; i < c->nhandlers; i++)
		if (c->handlers[i].limits.request_timeout_ms +
		    c->handlers[i].limits.deadline_grace_ms > t)
			t = c->handlers[i].limits.request_timeout_ms +
			    c->handlers[i].limits.deadline_grace_ms;
	return t;
}

static void
begin_stop(struct master *m)
{
	size_t	 i;

	if (got_term > 1 || (m->stopping && got_term > 0)) {
		log_warnx("second stop signal: killing the workers");
		for (i = 0; i < m->nslots; i++)
			if (m->slots[i].pid != 0)
				kill(m->slots[i].pid, SIGKILL);
		m->stop_deadline_ms = 0;
		if (m->drain == DRAIN_SETTLING)
			drain_done(m);
		return;
	}
	log_info("stopping: waiting for requests in progress");
	systemd_notify("STOPPING=1\nSTATUS=stopping: finishing the requests "
	    "in progress");
	m->stopping = 1;
	m->stop_deadline_ms = now_ms() + longest_deadline_ms(m->conf) + 1000;
	/*
	 * The socket warmcgi made refuses new connections at once; one
	 * systemd holds keeps them for the next start.
	 */
	if (m->own_socket) {
		m->stop_deadline_ms += m->conf->limits.pending_timeout_ms;
		drain_start(m, now_ms(), 1);
	}
	if (m->drain != DRAIN_SETTLING)
		retire_all(m);
}

/* Tells every worker to stop after its request. */
static void
retire_all(struct master *m)
{
	size_t	 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0)
			retire(m, &m->slots[i]);
}

static void
forward(const struct master *m, int sig)
{
	size_t	 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0)
			kill(m->slots[i].pid, sig);
}

/*
 * Gives the log files to the workers' user, so that they can reopen them
 * after the master has (SIGUSR1).
 */
static void
chown_logs(const struct master *m)
{
	const struct conf *c = m->conf;

	if (c->uid < 0)
		return;
	if (strcmp(c->log, "-") != 0 && fchown(log_app_fd(), (uid_t)c->uid,
	    (gid_t)c->gid) == -1)
		log_warn("chown %s", c->log);
	if (strcmp(c->access_log, "-") != 0 && fchown(log_access_fd(),
	    (uid_t)c->uid, (gid_t)c->gid) == -1)
		log_warn("chown %s", c->access_log);
}

static void
finish(struct master *m)
{
	size_t	 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0)
			kill(m->slots[i].pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	if (!m->tcp && m->own_socket && m->sock_path[0] != '\0')
		drain_unlink(m->sock_path);
	/* systemd's socket serves the next start: leave it accepting. */
	if (!m->own_socket && m->drain != DRAIN_NONE)
		drain_undo(m);
	drain_pid_remove(m->conf->pid_file);
	log_info("stopped");
	exit(0);
}

/* Sets up the master's state for conf. Exits on failure. */
static void
init(struct master *m, struct conf *conf, int listen_fd, int own_socket)
{
	struct buf	 errors;
	size_t		 i;

	memset(m, 0, sizeof(*m));
	m->conf = conf;
	m->listen_fd = listen_fd;
	m->own_socket = own_socket;
	m->minor = minor_after(0);
	m->gen = 1;
	m->target = (int)conf->workers_min;
	m->batch = 1;
	m->nslots = (size_t)conf->workers_max * 2 + 8;
	buf_init(&errors);
	if ((m->sb = scoreboard_new(m->nslots)) == NULL ||
	    (m->slots = calloc(m->nslots, sizeof(*m->slots))) == NULL ||
	    (m->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		fprintf(stderr, "warmcgi: scoreboard: %s\n", strerror(errno));
		exit(1);
	}
	for (i = 0; i < m->nslots; i++)
		m->slots[i].ctl = -1;
	/*
	 * Every worker sends on one end and reads the other (worker.c): a
	 * message, one connection, is taken by exactly one worker.
	 */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    m->handoff) == -1 ||
	    fcntl(m->handoff[1], F_SETFL, O_NONBLOCK) == -1) {
		fprintf(stderr, "warmcgi: hand-off socketpair: %s\n",
		    strerror(errno));
		exit(1);
	}
	resize_deaths(m, (size_t)conf->emergency_threshold);
	if ((m->pl = pipeline_new(conf, m->minor)) == NULL ||
	    pipeline_set_scoreboard(m->pl, m->sb) == -1)
		exit(1);
	if (conf->preload && pipeline_preload(m->pl, &errors) == -1) {
		fprintf(stderr, "%s", errors.data);
		exit(1);
	}
	buf_free(&errors);
	crash_preload();
	publish(m);
}

/*
 * Installs the master's signal handlers, with their signals blocked but
 * while it waits (ppoll()). Called before the socket listens: a signal
 * sent as soon as it accepts (--drain, a reload, a stop) waits for the
 * master instead of ending it.
 */
void
master_catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
	    SIGCHLD };
	struct sigaction sa;
	sigset_t	 block;
	size_t		 i;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sa.sa_handler = NULL;
	sa.sa_sigaction = on_drain_signal;
	sa.sa_flags = SA_SIGINFO;
	sigaddset(&block, DRAIN_SIGNAL);
	sigaction(DRAIN_SIGNAL, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, NULL);
}

/* How long the master may sleep before it has something to do. */
static long long
wait_time(struct master *m, long long now)
{
	long long	 t = IDLE_WAIT_MS;

	if (m->drain == DRAIN_SETTLING)
		return SETTLE_POLL_MS;
	if (m->stopping)
		return m->stop_deadline_ms - now;
	if (count(m, CURRENT) < m->target)
		t = m->respawn_at_ms - now;
	if (m->conf->dynamic || m->reloading || !m->announced) {
		if (t > TICK_MS)
			t = TICK_MS;
	}
	if (m->storm && m->storm_until_ms - now < t)
		t = m->storm_until_ms - now;
	return t;
}

static void
handle_signals(struct master *m)
{
	uint64_t	 n;
	int		 req;

	if (read(m->ready_fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("ready eventfd");
	if (got_chld) {
		got_chld = 0;
		reap(m);
	}
	if (got_term) {
		begin_stop(m);
		got_term = 0;
	}
	if (got_drain) {
		req = got_drain;
		got_drain = 0;
		drain_request(m, req);
	}
	if (got_hup) {
		got_hup = 0;
		if (!m->stopping)
			reload(m);
	}
	if (got_usr1) {
		got_usr1 = 0;
		if (log_reopen() == -1)
			log_warn("reopening the logs");
		chown_logs(m);
		forward(m, SIGUSR1);
	}
}

/*
 * Runs the master for conf with listen_fd (own_socket: warmcgi created it
 * and removes it at exit; 0 when systemd passed it) until a stop signal:
 * spawns and supervises the workers. Never returns.
 */
void
master_run(struct conf *conf, int listen_fd, int own_socket)
{
	struct master	 m;
	struct timespec	 ts;
	struct pollfd	 pfd;
	sigset_t	 none;
	long long	 wait_ms, now;

	init(&m, conf, listen_fd, own_socket);
	sock_identify(&m);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* SIGUSR2 has its handler (master_catch_signals()): --drain may send
	 * it at once. */
	if (conf->pid_file != NULL && drain_pid_write(conf->pid_file) == -1) {
		fprintf(stderr, "warmcgi: pid_file %s: %s\n", conf->pid_file,
		    strerror(errno));
		exit(1);
	}
	sigemptyset(&none);
	chown_logs(&m);
	log_set_instance(NULL, pipeline_version(m.pl));
	log_set_host(conf->host_name);
	log_info("warmcgi %s serving %s on %s with %s%lld workers",
	    PACKAGE_VERSION, conf->file, own_socket ? conf->listen :
	    "the socket systemd passed", conf->dynamic ? "up to " : "",
	    conf->workers_max);
	for (;;) {
		now = now_ms();
		if (!m.stopping) {
			scale(&m, now);
			storm_over(&m, now);
			fill(&m, now);
			finish_reload(&m, now);
			announce(&m);
			atomic_store(&m.sb->pool->target, m.target);
		}
		drain_settle(&m, now);
		if (m.stopping && m.drain != DRAIN_SETTLING &&
		    (count(&m, ALL) == 0 || now >= m.stop_deadline_ms))
			finish(&m);
		wait_ms = wait_time(&m, now);
		if (wait_ms < 0)
			wait_ms = 0;
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = wait_ms % 1000 * 1000000;
		pfd.fd = m.ready_fd;
		pfd.events = POLLIN;
		ppoll(&pfd, 1, &ts, &none);
		handle_signals(&m);
	}
}
