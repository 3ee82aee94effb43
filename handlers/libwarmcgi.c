/*
 * libwarmcgi.c: the warmcgi.h API for handlers built as classic CGI
 * executables (cc h.c -lwarmcgi). A module gets these calls from the host;
 * an executable runs in its own process, one per request, and learns
 * about its request from what the host gives every CGI process:
 *
 * - REQUEST_DEADLINE, the soft deadline in ms since the epoch;
 * - SIGTERM at the soft deadline, SIGHUP when the client went away (and
 *   SIGKILL at the hard deadline, which nothing can catch).
 *
 * A constructor installs actions for SIGTERM and SIGHUP, without
 * SA_RESTART, that mark the request done, so that blocking calls return
 * EINTR exactly as WC_DEADLINE_SIGNAL makes them in a module. Values and
 * logging need no host: the process is the request, and wc_log() writes
 * "LEVEL: message" lines on stderr, which the host turns into records.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warmcgi.h"

struct value {
	struct value	*next;
	char		*key;
	char		*value;
};

static long long	 deadline_ms = LLONG_MAX;
static volatile sig_atomic_t got_term, got_hup;
static int		 pipe_w = -1;	/* written by the signal actions */
static int		 done_fd = -1;	/* epoll of the pipe and a timer */
static int		 timer_fd = -1;
static struct value	*values;

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	int	 saved = errno;
	char	 c = 1;

	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	if (pipe_w != -1 && write(pipe_w, &c, 1) == -1)
		errno = saved;
	errno = saved;
}

__attribute__((constructor)) static void
wc_init(void)
{
	struct sigaction sa;
	const char	*s = getenv("REQUEST_DEADLINE");

	if (s != NULL && *s != '\0')
		deadline_ms = strtoll(s, NULL, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: calls get EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void
arm_timer(void)
{
	struct itimerspec its;

	if (timer_fd == -1 || deadline_ms == LLONG_MAX)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = deadline_ms / 1000;
	its.it_value.tv_nsec = deadline_ms % 1000 * 1000000;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

WC_API long long
wc_deadline_ms(void)
{
	return deadline_ms;
}

WC_API long long
wc_time_left_ms(void)
{
	if (deadline_ms == LLONG_MAX)
		return LLONG_MAX;
	return deadline_ms - now_ms();
}

WC_API int
wc_set_timeout_ms(long long ms)
{
	if (ms < 0)
		return -1;
	if (now_ms() + ms < deadline_ms) {
		deadline_ms = now_ms() + ms;
		arm_timer();
	}
	return 0;
}

WC_API int
wc_err(void)
{
	if (got_hup)
		return WC_CANCELED;
	if (got_term || now_ms() >= deadline_ms)
		return WC_DEADLINE_EXCEEDED;
	return WC_OK;
}

WC_API int
wc_done(void)
{
	return wc_err() != WC_OK;
}

WC_API int
wc_done_fd(void)
{
	struct epoll_event ev;
	int		 p[2];
	char		 c = 1;

	if (done_fd != -1)
		return done_fd;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	done_fd = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	epoll_ctl(done_fd, EPOLL_CTL_ADD, p[0], &ev);
	if (timer_fd != -1)
		epoll_ctl(done_fd, EPOLL_CTL_ADD, timer_fd, &ev);
	pipe_w = p[1];
	arm_timer();
	if ((got_term || got_hup) && write(pipe_w, &c, 1) == -1)
		return done_fd;
	return done_fd;
}

WC_API const char *
wc_value(const char *key)
{
	struct value	*v;

	for (v = values; key != NULL && v != NULL; v = v->next)
		if (strcmp(v->key, key) == 0)
			return v->value;
	return NULL;
}

WC_API int
wc_set_value(const char *key, const char *value)
{
	struct value	*v;

	if (key == NULL || (v = calloc(1, sizeof(*v))) == NULL)
		return -1;
	v->key = strdup(key);
	v->value = value ? strdup(value) : NULL;
	if (v->key == NULL || (value != NULL && v->value == NULL)) {
		free(v->key);
		free(v);
		return -1;
	}
	v->next = values;
	values = v;
	return 0;
}

WC_API void
wc_log(int level, const char *fmt, ...)
{
	const char	*name;
	va_list		 ap;

	if (level >= WC_CRITICAL)
		name = "CRITICAL";
	else if (level >= WC_ERROR)
		name = "ERROR";
	else if (level >= WC_WARNING)
		name = "WARNING";
	else if (level >= WC_INFO)
		name = "INFO";
	else
		name = "DEBUG";
	fprintf(stderr, "%s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}
