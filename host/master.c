/*
 * master.c: the master process. It opens the listening socket, forks
 * `workers` workers and keeps that many running: a worker that exits is
 * replaced, after a growing pause when workers keep dying young (a crash
 * loop must not become a fork storm). It never serves a request itself.
 *
 * Signals are blocked except inside ppoll(), the one place the master
 * waits; handlers only set flags (nginx's ngx_process_cycle.c does the
 * same with sigsuspend):
 *
 *   SIGTERM, SIGINT  graceful stop: workers finish their request and exit;
 *                    a second one kills them at once
 *   SIGHUP           reload: read and check the config again; if it is
 *                    valid, start a new generation of workers with it (a
 *                    higher CURRENT_VERSION_ID minor) and retire the old
 *                    one, which finishes its requests first. If not, log
 *                    each problem and keep serving the old config
 *   SIGUSR1          reopen the log files, here and in every worker
 *   SIGCHLD          reap workers (and orphans: the master is a
 *                    subreaper)
 *
 * Each worker has a control pipe whose write end the master holds:
 * closing it tells the worker to stop.
 */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "crash.h"
#include "log.h"
#include "master.h"
#include "module.h"
#include "pipeline.h"
#include "worker.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
#define YOUNG_MS	1000	/* a worker dying sooner counts as a loop */

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
	int		 listen_fd;
	unsigned	 gen;
	long long	 minor;		/* CURRENT_VERSION_ID minor */
	struct slot	*slots;
	size_t		 nslots;
	int		 fast_deaths;	/* young deaths in a row */
	long long	 respawn_at_ms;	/* no spawning before */
	int		 stopping;
	long long	 stop_deadline_ms;
};

static volatile sig_atomic_t got_term, got_hup, got_usr1, got_chld;

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

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
listen_unix(const struct conf *c)
{
	struct sockaddr_un sun;
	struct stat	 st;
	struct group	*gr;
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
	if (c->listen_group != NULL) {
		if ((gr = getgrnam(c->listen_group)) == NULL ||
		    chown(c->listen, (uid_t)-1, gr->gr_gid) == -1) {
			fprintf(stderr, "warmcgi: listen_group = %s: %s\n",
			    c->listen_group, gr ? strerror(errno) :
			    "no such group");
			close(fd);
			return -1;
		}
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

static struct slot *
free_slot(struct master *m)
{
	struct slot	*s;
	size_t		 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid == 0)
			return &m->slots[i];
	s = reallocarray(m->slots, m->nslots + 1, sizeof(*s));
	if (s == NULL)
		return NULL;
	m->slots = s;
	memset(&s[m->nslots], 0, sizeof(*s));
	return &s[m->nslots++];
}

static void
spawn(struct master *m)
{
	struct worker_args a;
	struct slot	*s;
	sigset_t	 none;
	size_t		 i;
	int		 p[2];
	pid_t		 pid;

	if ((s = free_slot(m)) == NULL || pipe2(p, O_CLOEXEC) == -1) {
		log_error("spawn");
		return;
	}
	if ((pid = fork()) == -1) {
		log_error("fork");
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[1]);
		for (i = 0; i < m->nslots; i++)
			if (m->slots[i].pid != 0)
				close(m->slots[i].ctl);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		a.pl = m->pl;
		a.listen_fd = m->listen_fd;
		a.ctl_fd = p[0];
		a.max_requests = 0;
		worker_run(&a);
	}
	close(p[0]);
	s->pid = pid;
	s->ctl = p[1];
	s->gen = m->gen;
	s->started_ms = now_ms();
	s->retiring = 0;
}

static size_t
live_workers(const struct master *m, int count_retiring)
{
	size_t	 i, n = 0;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0 &&
		    (count_retiring || !m->slots[i].retiring))
			n++;
	return n;
}

static void
retire(struct slot *s)
{
	if (s->retiring)
		return;
	s->retiring = 1;
	close(s->ctl);
	s->ctl = -1;
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
	else if (!s->retiring && WEXITSTATUS(status) != 0)
		log_errorx("worker %d exited with status %d", (int)s->pid,
		    WEXITSTATUS(status));
	else
		log_debug("worker %d exited", (int)s->pid);
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
		describe_exit(s, status);
		/*
		 * Status 0 is a worker that chose to end (it reloads a
		 * replaced drop-in module), not one that died.
		 */
		if (!s->retiring && now_ms() - s->started_ms < YOUNG_MS &&
		    !(WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
		    WEXITSTATUS(status) == CRASH_EXIT_HARD_DEADLINE))) {
			m->fast_deaths++;
			m->respawn_at_ms = now_ms() + (BACKOFF_MIN_MS <<
			    (m->fast_deaths > 7 ? 7 : m->fast_deaths - 1));
			if (m->respawn_at_ms - now_ms() > BACKOFF_MAX_MS)
				m->respawn_at_ms = now_ms() + BACKOFF_MAX_MS;
			log_errorx("workers are dying young (%d in a row); "
			    "next start in %lld ms", m->fast_deaths,
			    m->respawn_at_ms - now_ms());
		} else if (!s->retiring) {
			m->fast_deaths = 0;
		}
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

/* SIGHUP: a new config and a new generation, or the old one on errors. */
static void
reload(struct master *m)
{
	struct buf	 errors;
	struct conf	*c;
	struct pipeline	*pl;
	char		 err[1024];
	size_t		 i;
	long long	 minor;

	buf_init(&errors);
	log_info("reloading %s", m->conf->file);
	if (conf_load(m->conf->file, &c, &errors) == 0) {
		for (i = 0; i < c->nhandlers; i++)
			if (c->handlers[i].kind == HANDLER_MODULE &&
			    module_check(c->handlers[i].target, err,
			    sizeof(err)) == -1)
				buf_printf(&errors, "%s:%d: %s\n", c->file,
				    c->handlers[i].target_line, err);
	}
	if (errors.len == 0 && strcmp(c->listen, m->conf->listen) != 0)
		buf_printf(&errors, "%s:0: listen changed (%s); restart "
		    "warmcgi to move the socket\n", c->file, c->listen);
	if (errors.len > 0) {
		log_errorx("reload failed, still serving the old "
		    "configuration:\n%s", errors.data);
		buf_free(&errors);
		if (c != NULL)
			conf_free(c);
		return;
	}
	minor = minor_after(m->minor);
	if ((pl = pipeline_new(c, minor)) == NULL) {
		log_errorx("reload: out of memory");
		conf_free(c);
		return;
	}
	/* The master may unload the old modules: workers have copies. */
	pipeline_free(m->pl);
	if (c->preload && pipeline_preload(pl, &errors) == -1)
		log_errorx("reload: preload: %s", errors.data);
	buf_free(&errors);
	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0)
			retire(&m->slots[i]);
	conf_free(m->conf);
	m->conf = c;
	m->pl = pl;
	m->minor = minor;
	m->gen++;
	m->fast_deaths = 0;
	m->respawn_at_ms = 0;
	log_set_instance(NULL, pipeline_version(pl));
	log_info("reloaded: CURRENT_VERSION_ID %s", pipeline_version(pl));
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
		return;
	}
	log_info("stopping: waiting for requests in progress");
	m->stopping = 1;
	m->stop_deadline_ms = now_ms() + longest_deadline_ms(m->conf) + 1000;
	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0)
			retire(&m->slots[i]);
}

static void
forward(const struct master *m, int sig)
{
	size_t	 i;

	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid != 0)
			kill(m->slots[i].pid, sig);
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
	if (!m->conf->listen_is_tcp)
		unlink(m->conf->listen);
	log_info("stopped");
	exit(0);
}

/*
 * Runs the master for conf with listen_fd until a stop signal: spawns and
 * supervises the workers. Never returns.
 */
void
master_run(struct conf *conf, int listen_fd)
{
	struct master	 m;
	struct sigaction sa;
	struct timespec	 ts;
	sigset_t	 block, none;
	struct buf	 errors;
	long long	 wait_ms, now;
	int		 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };
	size_t		 i;

	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.listen_fd = listen_fd;
	m.minor = minor_after(0);
	m.gen = 1;
	buf_init(&errors);
	if ((m.pl = pipeline_new(conf, m.minor)) == NULL)
		exit(1);
	if (conf->preload && pipeline_preload(m.pl, &errors) == -1) {
		fprintf(stderr, "%s", errors.data);
		exit(1);
	}
	buf_free(&errors);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);
	log_set_instance(NULL, pipeline_version(m.pl));
	log_info("warmcgi %s serving %s on %s with %lld workers",
	    PACKAGE_VERSION, conf->file, conf->listen, conf->workers);
	for (;;) {
		now = now_ms();
		if (!m.stopping && now >= m.respawn_at_ms)
			while (live_workers(&m, 0) < (size_t)m.conf->workers)
				spawn(&m);
		if (m.stopping && (live_workers(&m, 1) == 0 ||
		    now >= m.stop_deadline_ms))
			finish(&m);
		wait_ms = 60000;
		if (!m.stopping && live_workers(&m, 0) <
		    (size_t)m.conf->workers)
			wait_ms = m.respawn_at_ms - now;
		if (m.stopping && m.stop_deadline_ms - now < wait_ms)
			wait_ms = m.stop_deadline_ms - now;
		if (wait_ms < 0)
			wait_ms = 0;
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = wait_ms % 1000 * 1000000;
		ppoll(NULL, 0, &ts, &none);
		if (got_chld) {
			got_chld = 0;
			reap(&m);
		}
		if (got_term) {
			begin_stop(&m);
			got_term = 0;
		}
		if (got_hup) {
			got_hup = 0;
			if (!m.stopping)
				reload(&m);
		}
		if (got_usr1) {
			got_usr1 = 0;
			if (log_reopen() == -1)
				log_warn("reopening the logs");
			forward(&m, SIGUSR1);
		}
	}
}
