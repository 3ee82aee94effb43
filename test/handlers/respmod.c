/*
 * respmod.c: responses for the tests of the response pipeline (gzip,
 * Vary, validators, cache headers, HSTS, http_header, secure). Mounted
 * under a prefix, PATH_INFO picks the response:
 *
 *   /text?n=N      text/plain, N bytes of compressible text
 *   /json?n=N      application/json, N bytes
 *   /binary?n=N    image/png, N bytes that do not compress
 *   /encoded       the request body, sent with Content-Encoding: gzip
 *   /vary?v=V&n=N  text with the handler's own Vary: V (1: "Cookie",
 *                  2: "accept-encoding", 3: "*")
 *   /etag?n=N      text with a strong ETag "v1"
 *   /cache?n=N     Cache-Control: public, max-age=60, a unique line, then
 *                  N bytes of text (default 0)
 *   /own           its own X-Frame-Options and Strict-Transport-Security
 *   /status?code=C text with that status
 *   /method        the method and the body length it got
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long	 served;	/* per worker */

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

/* n bytes of text that gzip shrinks: words from a small list. */
static void
put_text(long n)
{
	static const char *words[] = { "alpha ", "bravo ", "charlie ",
	    "delta ", "echo ", "foxtrot ", "golf\n" };
	unsigned int	 x = 12345;
	long		 i;
	const char	*w;

	for (i = 0; i < n; ) {
		x = x * 1103515245 + 12345;
		for (w = words[(x >> 16) % 7]; *w && i < n; w++, i++)
			putchar(*w);
	}
}

/* n bytes that gzip cannot shrink. */
static void
put_noise(long n)
{
	unsigned long long x = 88172645463325252ULL;
	long		 i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		putchar((int)(x & 0xff));
	}
}

static size_t
copy_stdin(void)
{
	char	 buf[8192];
	size_t	 n, total = 0;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		fwrite(buf, 1, n, stdout);
		total += n;
	}
	return total;
}

int
main(void)
{
	static const char *varies[] = { "", "Cookie", "accept-encoding", "*" };
	const char	*pi = getenv("PATH_INFO");
	const char	*m = getenv("REQUEST_METHOD");
	long		 n = qnum("n", 1000), v;
	char		 buf[8192];
	size_t		 got = 0, k;

	served++;
	if (pi == NULL)
		pi = "/text";
	if (strcmp(pi, "/text") == 0) {
		printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
		put_text(n);
	} else if (strcmp(pi, "/json") == 0) {
		printf("Content-Type: application/json\r\n\r\n[\"");
		put_text(n > 4 ? n - 4 : 0);
		printf("\"]");
	} else if (strcmp(pi, "/binary") == 0) {
		printf("Content-Type: image/png\r\n\r\n");
		put_noise(n);
	} else if (strcmp(pi, "/encoded") == 0) {
		printf("Content-Type: text/plain\r\n"
		    "Content-Encoding: gzip\r\n\r\n");
		copy_stdin();
	} else if (strcmp(pi, "/vary") == 0) {
		v = qnum("v", 1);
		printf("Content-Type: text/plain\r\nVary: %s\r\n\r\n",
		    varies[v >= 0 && v < 4 ? v : 0]);
		put_text(n);
	} else if (strcmp(pi, "/etag") == 0) {
		printf("Content-Type: text/plain\r\nETag: \"v1\"\r\n\r\n");
		put_text(n);
	} else if (strcmp(pi, "/cache") == 0) {
		printf("Content-Type: text/plain\r\n"
		    "Cache-Control: public, max-age=60\r\n\r\n"
		    "pid %d served %lu at %ld\n", (int)getpid(), served,
		    (long)time(NULL));
		put_text(qnum("n", 0));
	} else if (strcmp(pi, "/own") == 0) {
		printf("Content-Type: text/plain\r\n"
		    "X-Frame-Options: SAMEORIGIN\r\n"
		    "Strict-Transport-Security: max-age=5\r\n\r\nown\n");
	} else if (strcmp(pi, "/status") == 0) {
		printf("Status: %ld Whatever\r\n"
		    "Content-Type: text/plain\r\n\r\n", qnum("code", 200));
		put_text(n);
	} else if (strcmp(pi, "/method") == 0) {
		while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0)
			got += k;
		printf("Content-Type: text/plain\r\n\r\n%s %zu\n",
		    m ? m : "?", got);
	} else {
		printf("Status: 404 Not Found\r\nContent-Type: text/plain\r\n"
		    "\r\nno such case: %s\n", pi);
	}
	return 0;
}
