/*
 * warmcgi.h: the API of warmcgi for handlers.
 *
 * A handler is a CGI program: it reads its request from the environment
 * and standard input and writes a CGI response (header fields, a blank
 * line, the body) on standard output. Built as a shared object that
 * exports main() (cc -shared -fPIC h.c -o h.so), warmcgi loads it once per
 * worker and calls main() for every request; built as an executable and
 * linked with -lwarmcgi, it runs as classic CGI. The calls below work the
 * same in both: in a module the host provides them, in an executable
 * libwarmcgi does, from REQUEST_DEADLINE and the signals the host sends.
 *
 * Every request has a deadline (request_timeout, or the handler's
 * timeout). At the deadline the request is "done": wc_done() turns
 * nonzero, wc_err() says why, wc_done_fd() becomes readable, and blocking
 * calls (sleep, read, poll, connect...) return early with EINTR because
 * the host delivers WC_DEADLINE_SIGNAL (a module) or SIGTERM (a classic
 * CGI process) to the handler. The handler then has deadline_grace to
 * write its own answer and return; after that the host answers 500 for it.
 * When the client goes away the request is done too, with WC_CANCELED (a
 * classic CGI process gets SIGHUP).
 *
 * Only wc_ and WC_ names are defined here. The header is C++-safe.
 */
#ifndef WARMCGI_H
#define WARMCGI_H

#include <signal.h>

#define WARMCGI_APIVER	1	/* grows when calls are added */

#if defined(__GNUC__)
#define WC_API	__attribute__((visibility("default")))
#else
#define WC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* wc_err() results. */
#define WC_OK			0	/* not done yet */
#define WC_CANCELED		1	/* the client went away */
#define WC_DEADLINE_EXCEEDED	2	/* the soft deadline passed */

/* wc_log() levels (the same numbers as Python's logging). */
#define WC_DEBUG	10
#define WC_INFO		20
#define WC_WARNING	30
#define WC_ERROR	40
#define WC_CRITICAL	50

/*
 * The signal a module's thread receives at the soft deadline or when the
 * client goes away. The host's action for it marks the request done and
 * returns, so the interrupted call fails with EINTR. A module may install
 * its own action (sigaction) to do more; it must not rely on SA_RESTART.
 */
#define WC_DEADLINE_SIGNAL	SIGXCPU

/*
 * Returns the request's soft deadline in milliseconds since the epoch
 * (the REQUEST_DEADLINE variable).
 */
WC_API long long	wc_deadline_ms(void);

/*
 * Returns the milliseconds left before the soft deadline; 0 or less once
 * it has passed.
 */
WC_API long long	wc_time_left_ms(void);

/*
 * Sets the deadline to ms milliseconds from now, if that is earlier than
 * the current one (like Go's context.WithTimeout, it never extends).
 * Returns 0, or -1 when ms is negative.
 *
 *	wc_set_timeout_ms(1000);	// this search gets one second
 */
WC_API int		wc_set_timeout_ms(long long ms);

/*
 * Returns nonzero once the request is done: cancelled or past its deadline.
 *
 *	while (!wc_done() && more_work())
 *		step();
 */
WC_API int		wc_done(void);

/*
 * Returns why the request is done: WC_OK (it is not), WC_CANCELED or
 * WC_DEADLINE_EXCEEDED.
 */
WC_API int		wc_err(void);

/*
 * Returns a descriptor that becomes readable once the request is done, to
 * poll() beside backend sockets. Do not read or close it.
 *
 *	struct pollfd p[2] = { { backend, POLLIN }, { wc_done_fd(), POLLIN } };
 *	poll(p, 2, -1);
 */
WC_API int		wc_done_fd(void);

/*
 * Returns the request-scoped value of key, or NULL. Values live until the
 * request ends; they never leak into the next request.
 */
WC_API const char	*wc_value(const char *key);

/*
 * Sets key to a copy of value for the rest of the request (NULL removes
 * it). Returns 0, or -1 when out of memory.
 *
 *	wc_set_value("userip", getenv("REMOTE_ADDR"));
 */
WC_API int		wc_set_value(const char *key, const char *value);

/*
 * Logs a printf-style message at level (WC_DEBUG ... WC_CRITICAL) as a
 * record of this request, tagged with its REQUEST_LOG_ID.
 *
 *	wc_log(WC_WARNING, "cache miss for %s", key);
 */
WC_API void		wc_log(int level, const char *fmt, ...)
			    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
