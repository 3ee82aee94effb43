/*
 * testmod.c: a module that misbehaves on purpose, for the integration
 * tests. Mounted under a prefix, PATH_INFO picks the behaviour:
 *
 *   /hello /env /echo /status?code=N /stderr /raw /mixed /bigheader?n=N
 *   /bigbody?n=N /redirect?to=PATH /loop /clientredirect /nph /malformed
 *   /injection /noblank /empty /crash /abort /fpe /stackoverflow /exit?N
 *   /_exit?N /sleep?ms=N /spin?ms=N /ignore /value?set=X /global?ms=N
 *   /closestdout /readpast /settimeout?to=N&ms=M /donefd?ms=N /ownaction
 *   /blockread /blockpoll /leakfd?n=N[&at=FD] /thread?ms=N
 *   /bigwrite?mb=N[&raw=1]
 *   /fdcount
 *   /eat?mb=N (allocate and touch N MB, abort() if malloc fails)
 *   /grow?mb=N (the same, kept: the worker's RSS grows) /ids (uid, gid)
 *   /work?ms=N (pool tests: logs "work start" and "work end" with the
 *   X-Test-Id header around a sleep, answers who served it)
 */
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warmcgi.h"

extern char **environ;

static unsigned long	 hits;		/* per worker: never reset */

/*
 * TESTMOD_LOAD_MS: loading takes that long (a slow constructor, as a big
 * framework's), in each process that loads the module.
 */
__attribute__((constructor)) static void
slow_load(void)
{
	const char	*v = getenv("TESTMOD_LOAD_MS");
	struct timespec	 ts;
	long		 ms = v != NULL ? atol(v) : 0;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static long
qnum(const char *key, long def)
{
	const char	*q = getenv("QUERY_STRING"), *p;
	size_t		 n = strlen(key);

	for (p = q; p != NULL && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 :
	    NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
	return def;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
text(void)
{
	printf("Content-Type: text/plain\r\n\r\n");
}

/*
 * Leaves one descriptor open: the lowest free (at = 0), or moved to at or
 * above, where the host's probe of the lowest free one cannot see it.
 */
static int
leak_one(int at)
{
	int	 fd, moved;

	if ((fd = open("/dev/null", O_RDONLY)) == -1 || at <= 0)
		return fd;
	moved = fcntl(fd, F_DUPFD, at);
	close(fd);
	return moved;
}

static const char *
errname(int e)
{
	return e == WC_OK ? "ok" : e == WC_CANCELED ? "canceled" :
	    "deadline";
}

static volatile int	 depth_limit = -1;	/* never reached */
static char		*kept;			/* /grow: never freed */

/* Allocates and touches mb MB in 1 MB pieces; abort()s when out of memory,
 * like an xmalloc would. Returns the pieces, chained. */
static char *
eat(long mb)
{
	char	*head = NULL, *p;
	long	 i;

	for (i = 0; i < mb; i++) {
		if ((p = malloc(1 << 20)) == NULL) {
			fprintf(stderr, "CRITICAL: out of memory after %ld MB\n",
			    i);
			abort();
		}
		memset(p, 'x', 1 << 20);
		*(char **)p = head;
		head = p;
	}
	return head;
}

static void
release(char *p)
{
	char	*next;

	for (; p != NULL; p = next) {
		next = *(char **)p;
		free(p);
	}
}

static int
recurse(int n)
{
	volatile char	 pad[4096];

	pad[0] = (char)n;
	if (n == depth_limit)
		return 0;
	return recurse(n + 1) + pad[0];
}

static void
do_sleep(void)
{
	long		 ms = qnum("ms", 1000);
	long long	 t0 = now_ms();
	struct timespec	 ts = { ms / 1000, ms % 1000 * 1000000 };
	int		 rc, e;

	fprintf(stderr, "INFO: sleep started pid=%d\n", (int)getpid());
	rc = nanosleep(&ts, NULL);
	e = errno;

	text();
	printf("slept %lld ms rc=%d errno=%s err=%s late=%lld\n",
	    now_ms() - t0, rc, rc == -1 && e == EINTR ? "EINTR" : "0",
	    errname(wc_err()), now_ms() - wc_deadline_ms());
	fprintf(stderr, "WARNING: sleep ended with %s\n", errname(wc_err()));
}

/*
 * A request of the pool tests: reads the body, logs its start and end
 * (records written at once, so that a host killed meanwhile leaves the
 * start) around a sleep of ms, and answers which host, worker and version
 * served it (WC_TEST_HOST comes from [env_variables]).
 */
static void
do_work(void)
{
	const char	*id = getenv("HTTP_X_TEST_ID"), *v;
	const char	*m = getenv("REQUEST_METHOD");
	long		 ms = qnum("ms", 0);
	struct timespec	 ts = { ms / 1000, ms % 1000 * 1000000 };
	char		 buf[4096];
	size_t		 n, total = 0;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		total += n;
	id = id ? id : "-";
	wc_log(WC_INFO, "work start %s %s", m, id);
	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR &&
	    !wc_done())
		;
	wc_log(WC_INFO, "work end %s %s", m, id);
	text();
	v = getenv("WC_TEST_HOST");
	printf("id=%s host=%s method=%s bytes=%zu instance=%s version=%s "
	    "request=%s\n", id, v ? v : "-", m, total,
	    getenv("INSTANCE_ID"), getenv("CURRENT_VERSION_ID"),
	    getenv("REQUEST_LOG_ID"));
}

/* Blocks in read() or poll() on a pipe nobody writes to. */
static void
do_block(int use_poll)
{
	int		 p[2], rc, e;
	char		 c;
	struct pollfd	 pfd;

	if (pipe(p) == -1)
		return;
	if (use_poll) {
		pfd.fd = p[0];
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, -1);
	} else {
		rc = (int)read(p[0], &c, 1);
	}
	e = errno;
	close(p[0]);
	close(p[1]);
	text();
	printf("%s rc=%d errno=%s err=%s\n", use_poll ? "poll" : "read", rc,
	    rc == -1 && e == EINTR ? "EINTR" : "0", errname(wc_err()));
}

static volatile sig_atomic_t own_ran;

static void
own_action(int sig)
{
	(void)sig;
	own_ran = 1;
}

static void
do_ownaction(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = own_action;
	sigemptyset(&sa.sa_mask);
	sigaction(WC_DEADLINE_SIGNAL, &sa, &old);
	own_ran = 0;
	while (!own_ran && !wc_done())
		pause();
	sigaction(WC_DEADLINE_SIGNAL, &old, NULL);
	text();
	printf("own action ran=%d err=%s\n", (int)own_ran, errname(wc_err()));
}

static void
do_donefd(void)
{
	struct pollfd	 p = { wc_done_fd(), POLLIN, 0 };
	long long	 t0 = now_ms();
	sigset_t	 set;
	int		 rc;

	/* Block the signal: the descriptor alone must wake us. */
	sigemptyset(&set);
	sigaddset(&set, WC_DEADLINE_SIGNAL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	wc_set_timeout_ms(qnum("ms", 300));
	rc = poll(&p, 1, 5000);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	text();
	printf("poll=%d revents=%d after %lld ms err=%s\n", rc, p.revents,
	    now_ms() - t0, errname(wc_err()));
}

/* Outlives its request, then writes to stderr (between requests). */
static void *
late_writer(void *arg)
{
	struct timespec	 ts = { 0, (long)(intptr_t)arg * 1000000 };

	nanosleep(&ts, NULL);
	fprintf(stderr, "WARNING: late line from a thread\n");
	return NULL;
}

/* Ends with pthread_exit(), not by returning. */
static void *
exiting(void *arg)
{
	pthread_exit(arg);
}

/*
 * Starts a thread that outlives the request (?ms=), or with ?join=1 one
 * that ends before main() returns (?pexit=1: through pthread_exit()).
 */
static void
do_thread(void)
{
	pthread_t	 t;
	long		 ms = qnum("ms", 300);
	int		 join = (int)qnum("join", 0);

	if (join) {
		if (pthread_create(&t, NULL, qnum("pexit", 0) ? exiting :
		    late_writer, NULL) == 0)
			pthread_join(t, NULL);
		text();
		printf("thread joined\n");
		return;
	}
	if (pthread_create(&t, NULL, late_writer, (void *)(intptr_t)ms) == 0)
		pthread_detach(t);
	text();
	printf("thread started\n");
}

/* Writes mb MiB of body, with stdio or with write(1). */
static void
do_bigwrite(void)
{
	static char	 chunk[1 << 20];
	long		 i, mb = qnum("mb", 100);
	int		 raw = (int)qnum("raw", 0);

	memset(chunk, 'x', sizeof(chunk));
	text();
	fflush(stdout);
	for (i = 0; i < mb; i++) {
		if (raw) {
			if (write(1, chunk, sizeof(chunk)) < 0)
				return;
		} else {
			fwrite(chunk, 1, sizeof(chunk), stdout);
		}
	}
}

static int
fdcount(void)
{
	DIR		*d = opendir("/proc/self/fd");
	int		 n = 0;

	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	return n - 3;	/* ".", ".." and the directory itself */
}

int
main(void)
{
	const char	*pi = getenv("PATH_INFO"), *v;
	char		 buf[65536];
	size_t		 n, total = 0;
	long		 i, k;

	hits++;
	if (pi == NULL)
		pi = "/hello";
	if (strcmp(pi, "/hello") == 0) {
		text();
		printf("hello from testmod\n");
	} else if (strcmp(pi, "/env") == 0) {
		text();
		for (i = 0; environ[i] != NULL; i++)
			printf("%s\n", environ[i]);
	} else if (strcmp(pi, "/echo") == 0) {
		v = getenv("CONTENT_TYPE");
		printf("Content-Type: %s\r\n\r\n", v ? v :
		    "application/octet-stream");
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			fwrite(buf, 1, n, stdout);
	} else if (strcmp(pi, "/status") == 0) {
		printf("Status: %ld Custom Reason\r\nContent-Type: text/plain"
		    "\r\n\r\nstatus body\n", qnum("code", 200));
	} else if (strcmp(pi, "/stderr") == 0) {
		fprintf(stderr, "INFO: first line\nERROR: second line\n"
		    "<4>syslog warning\nno prefix here\n");
		text();
		printf("logged\n");
	} else if (strcmp(pi, "/stderrjunk") == 0) {
		fprintf(stderr, "WARNING: bad \xff\x01 \"q\" \\ end\npartial");
		text();
		printf("junk logged\n");
	} else if (strcmp(pi, "/raw") == 0) {
		const char	 m[] = "Content-Type: text/plain\r\n\r\nraw write\n";

		if (write(1, m, sizeof(m) - 1) < 0)
			return 1;
	} else if (strcmp(pi, "/rawerr") == 0) {
		const char	 m[] = "WARNING: straight to fd 2\n";

		if (write(2, m, sizeof(m) - 1) < 0)
			return 1;
		text();
		printf("wrote to fd 2\n");
	} else if (strcmp(pi, "/replacefd") == 0) {
		int	 fd = (int)qnum("fd", 1), nul;

		if ((nul = open("/dev/null", O_WRONLY)) == -1 ||
		    dup2(nul, fd) == -1)
			return 1;
		close(nul);
		text();
		printf("fd %d is /dev/null now\n", fd);
	} else if (strcmp(pi, "/mixed") == 0) {
		printf("Content-Type: text/plain\r\n\r\nA");
		fflush(stdout);
		if (write(1, "B", 1) < 0)
			return 1;
		printf("C\n");
	} else if (strcmp(pi, "/bigheader") == 0) {
		k = qnum("n", 10000);
		printf("Content-Type: text/plain\r\nX-Big: ");
		for (i = 0; i < k; i++)
			putchar('x');
		printf("\r\n\r\nbig header\n");
	} else if (strcmp(pi, "/bigbody") == 0) {
		k = qnum("n", 1000);
		text();
		for (i = 0; i < k; i++)
			putchar('a' + (int)(i % 26));
	} else if (strcmp(pi, "/redirect") == 0) {
		printf("Location: /t/hello?from=redirect\r\n\r\n");
	} else if (strcmp(pi, "/loop") == 0) {
		printf("Location: /t/loop\r\n\r\n");
	} else if (strcmp(pi, "/clientredirect") == 0) {
		printf("Location: https://example.com/elsewhere\r\n\r\n");
	} else if (strcmp(pi, "/nph") == 0) {
		printf("HTTP/1.1 201 Created Here\r\nContent-Type: text/plain"
		    "\r\n\r\nnph body\n");
	} else if (strcmp(pi, "/malformed") == 0) {
		printf("Content-Type text/plain\r\n\r\nno colon\n");
	} else if (strcmp(pi, "/injection") == 0) {
		printf("Content-Type: text/plain\r\nX-A: a\rSet-Cookie: evil=1"
		    "\r\n\r\ninjected\n");
	} else if (strcmp(pi, "/noblank") == 0) {
		printf("Content-Type: text/plain\r\n");
	} else if (strcmp(pi, "/empty") == 0) {
		/* nothing at all */
	} else if (strcmp(pi, "/crash") == 0) {
		text();
		printf("partial output that must not be sent\n");
		fflush(stdout);
		*(volatile int *)0 = 1;
	} else if (strcmp(pi, "/abort") == 0) {
		abort();
	} else if (strcmp(pi, "/fpe") == 0) {
		volatile int	 zero = 0, num = 12345;

		/* Both volatile: 1 / x compiles to a compare, not idiv. */
		printf("%d\n", num / zero);
	} else if (strcmp(pi, "/stackoverflow") == 0) {
		printf("%d\n", recurse(0));
	} else if (strcmp(pi, "/exit") == 0 || strcmp(pi, "/_exit") == 0) {
		text();
		printf("before exit\n");
		if (pi[1] == '_') {
			fflush(stdout);
			_exit((int)qnum("code", 3));
		}
		exit((int)qnum("code", 3));
	} else if (strcmp(pi, "/sleep") == 0) {
		do_sleep();
	} else if (strcmp(pi, "/work") == 0) {
		do_work();
	} else if (strcmp(pi, "/spin") == 0) {
		long long	 end = now_ms() + qnum("ms", 60000);

		while (now_ms() < end)
			;
		text();
		printf("spun\n");
	} else if (strcmp(pi, "/ignore") == 0) {
		signal(WC_DEADLINE_SIGNAL, SIG_IGN);
		for (;;)
			pause();
	} else if (strcmp(pi, "/value") == 0) {
		v = wc_value("key");
		text();
		printf("before=%s\n", v ? v : "(none)");
		if ((v = getenv("QUERY_STRING")) && strncmp(v, "set=", 4) == 0)
			wc_set_value("key", v + 4);
		v = wc_value("key");
		printf("after=%s\n", v ? v : "(none)");
	} else if (strcmp(pi, "/global") == 0) {
		struct timespec	 ts = { 0, qnum("ms", 0) * 1000000 };

		nanosleep(&ts, NULL);
		text();
		printf("hits=%lu pid=%d\n", hits, (int)getpid());
	} else if (strcmp(pi, "/closestdout") == 0) {
		text();
		printf("closed after this\n");
		fclose(stdout);
	} else if (strcmp(pi, "/readpast") == 0) {
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			total += n;
		n = fread(buf, 1, sizeof(buf), stdin);
		text();
		printf("read %zu then %zu\n", total, n);
	} else if (strcmp(pi, "/settimeout") == 0) {
		long long	 before = wc_deadline_ms();

		wc_set_timeout_ms(qnum("to", 200));
		do_sleep();
		printf("shortened=%d\n", wc_deadline_ms() < before);
	} else if (strcmp(pi, "/donefd") == 0) {
		do_donefd();
	} else if (strcmp(pi, "/ownaction") == 0) {
		do_ownaction();
	} else if (strcmp(pi, "/blockread") == 0) {
		do_block(0);
	} else if (strcmp(pi, "/blockpoll") == 0) {
		do_block(1);
	} else if (strcmp(pi, "/leakfd") == 0) {
		for (i = 0; i < qnum("n", 1); i++)
			if (leak_one((int)qnum("at", 0)) == -1)
				break;
		text();
		printf("leaked fds=%d\n", fdcount());
	} else if (strcmp(pi, "/fdcount") == 0) {
		text();
		printf("fds=%d pid=%d\n", fdcount(), (int)getpid());
	} else if (strcmp(pi, "/thread") == 0) {
		do_thread();
	} else if (strcmp(pi, "/bigwrite") == 0) {
		do_bigwrite();
	} else if (strcmp(pi, "/eat") == 0) {
		release(eat(qnum("mb", 64)));
		text();
		printf("ate %ld MB\n", qnum("mb", 64));
	} else if (strcmp(pi, "/grow") == 0) {
		char	*p = eat(qnum("mb", 64)), *last = p;

		while (last != NULL && *(char **)last != NULL)
			last = *(char **)last;
		if (last != NULL)
			*(char **)last = kept;
		kept = p;
		text();
		printf("grew %ld MB pid=%d\n", qnum("mb", 64), (int)getpid());
	} else if (strcmp(pi, "/ids") == 0) {
		gid_t	 groups[64];
		int	 ng = getgroups(64, groups);

		text();
		printf("uid=%d euid=%d gid=%d egid=%d groups=%d", (int)getuid(),
		    (int)geteuid(), (int)getgid(), (int)getegid(), ng);
		for (i = 0; i < ng; i++)
			printf(" %d", (int)groups[i]);
		printf(" pid=%d\n", (int)getpid());
	} else {
		printf("Status: 404 Not Found\r\nContent-Type: text/plain\r\n"
		    "\r\nno such test\n");
	}
	return 0;
}
