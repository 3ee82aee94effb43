/*
 * search.c: the Go blog's context example ("Go Concurrency Patterns:
 * Context") in C. Two handlers in one module:
 *
 *   /search?q=golang&timeout=1s[&delay=300ms]   the frontend
 *   /search/backend?q=golang&delay=300ms         a slow backend (JSON)
 *
 * The frontend shortens its deadline to `timeout` (wc_set_timeout_ms, like
 * context.WithTimeout), keeps the client's address as a request value
 * (wc_set_value, like the userip package), and calls the backend over
 * HTTP through nginx with libcurl, giving it only the time left. If the
 * deadline passes or the client leaves, the transfer stops at once (the
 * progress callback checks wc_done()). It then renders the results with
 * the time taken.
 *
 * SEARCH_BACKEND (in [env_variables]) is the backend's URL, for example
 * http://127.0.0.1:8080/search/backend; SEARCH_BACKEND_SOCKET, if set, is
 * a unix socket nginx listens on. The frontend occupies a worker while it
 * waits, so run at least two.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "warmcgi.h"

struct reply {
	char	 data[65536];
	size_t	 len;
};

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the value of key in the query string, in buf (not decoded). */
static const char *
param(const char *key, char *buf, size_t size)
{
	const char	*q = getenv("QUERY_STRING"), *p, *end;
	size_t		 n = strlen(key), len;

	for (p = q; p != NULL && *p != '\0'; p = end ? end + 1 : NULL) {
		end = strchr(p, '&');
		if (strncmp(p, key, n) != 0 || p[n] != '=')
			continue;
		len = end ? (size_t)(end - p - n - 1) : strlen(p + n + 1);
		if (len >= size)
			len = size - 1;
		memcpy(buf, p + n + 1, len);
		buf[len] = '\0';
		return buf;
	}
	return NULL;
}

/* Parses "300ms", "1s" or "2" (seconds) into milliseconds, or -1. */
static long long
duration_ms(const char *s)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (strcmp(end, "ms") == 0)
		return v;
	if (strcmp(end, "s") == 0 || *end == '\0')
		return v * 1000;
	return -1;
}

static int
backend(void)
{
	char		 q[256] = "", d[32] = "";
	long long	 delay = duration_ms(param("delay", d, sizeof(d)));
	struct timespec	 ts;

	param("q", q, sizeof(q));
	if (delay > 0) {
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = delay % 1000 * 1000000;
		if (nanosleep(&ts, NULL) == -1 && wc_done()) {
			wc_log(WC_INFO, "backend: request %s",
			    wc_err() == WC_CANCELED ? "canceled" : "timed out");
			return 0;
		}
	}
	printf("Content-Type: application/json\r\n\r\n");
	printf("{\"query\":\"%s\",\"results\":["
	    "{\"title\":\"The Go Programming Language\","
	    "\"url\":\"https://go.dev/\"},"
	    "{\"title\":\"Go Concurrency Patterns: Context\","
	    "\"url\":\"https://go.dev/blog/context\"}]}\n", q);
	return 0;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct reply	*r = arg;
	size_t		 len = size * n;

	if (len > sizeof(r->data) - 1 - r->len)
		len = sizeof(r->data) - 1 - r->len;
	memcpy(r->data + r->len, p, len);
	r->len += len;
	r->data[r->len] = '\0';
	return size * n;
}

/* libcurl's progress callback: a nonzero return aborts the transfer. */
static int
progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)arg, (void)a, (void)b, (void)c, (void)d;
	return wc_done();
}

/* Prints every "title" of the backend's JSON. */
static void
render(const char *json)
{
	const char	*p = json, *e;

	while ((p = strstr(p, "\"title\":\"")) != NULL) {
		p += 9;
		if ((e = strchr(p, '"')) == NULL)
			break;
		printf("  - %.*s\n", (int)(e - p), p);
		p = e;
	}
}

static int
frontend(void)
{
	static int	 curl_ready;
	const char	*base = getenv("SEARCH_BACKEND");
	const char	*sock = getenv("SEARCH_BACKEND_SOCKET");
	char		 q[256], t[32], d[32] = "0", url[1024], *eq;
	long long	 timeout, start = now_ms();
	struct reply	*r;
	CURL		*c;
	CURLcode	 rc;
	long		 code = 0;
	int		 expired;

	if (param("q", q, sizeof(q)) == NULL || base == NULL) {
		printf("Status: 400 Bad Request\r\nContent-Type: text/plain"
		    "\r\n\r\nusage: /search?q=QUERY[&timeout=1s][&delay=D]\n");
		return 0;
	}
	if ((timeout = duration_ms(param("timeout", t, sizeof(t)))) > 0)
		wc_set_timeout_ms(timeout);
	wc_set_value("userip", getenv("REMOTE_ADDR"));
	param("delay", d, sizeof(d));
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == 0)
		curl_ready = 1;
	if ((r = calloc(1, sizeof(*r))) == NULL || (c = curl_easy_init()) ==
	    NULL) {
		free(r);
		return 1;
	}
	eq = curl_easy_escape(c, q, 0);
	snprintf(url, sizeof(url), "%s?q=%s&delay=%s&userip=%s", base,
	    eq ? eq : "", d, wc_value("userip") ? wc_value("userip") : "");
	curl_free(eq);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (sock != NULL && *sock != '\0')
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)(wc_time_left_ms() > 1 ? wc_time_left_ms() : 1));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || code != 200) {
		/*
		 * curl's own timeout is the time left, so it may fire a
		 * moment before the host's deadline signal: both mean the
		 * deadline passed.
		 */
		expired = wc_err() == WC_DEADLINE_EXCEEDED ||
		    (rc == CURLE_OPERATION_TIMEDOUT && wc_time_left_ms() <= 1);
		wc_log(WC_WARNING, "search backend: %s (err=%d)",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status",
		    wc_err());
		printf("Status: 504 Gateway Timeout\r\nContent-Type: "
		    "text/plain\r\n\r\nsearch for \"%s\" failed after %lld ms: "
		    "%s\n", q, now_ms() - start, expired ?
		    "deadline exceeded" : curl_easy_strerror(rc));
		free(r);
		return 0;
	}
	printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
	printf("Results for \"%s\" (userip %s), in %lld ms:\n", q,
	    wc_value("userip") ? wc_value("userip") : "?", now_ms() - start);
	render(r->data);
	free(r);
	return 0;
}

int
main(void)
{
	const char	*sn = getenv("SCRIPT_NAME");

	if (sn != NULL && strcmp(sn, "/search/backend") == 0)
		return backend();
	return frontend();
}
