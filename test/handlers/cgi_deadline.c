/*
 * cgi_deadline.c: a classic CGI executable linked with -lwarmcgi. It works
 * for up to ?ms= milliseconds in short sleeps, checking wc_done(), and
 * answers by itself when the host says the deadline passed (SIGTERM) or
 * the client left (SIGHUP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warmcgi.h"

int
main(void)
{
	const char	*q = getenv("QUERY_STRING");
	long		 ms = q && strncmp(q, "ms=", 3) == 0 ? atol(q + 3) : 10000;
	long long	 left0 = wc_time_left_ms();
	struct timespec	 ts = { 0, 20 * 1000000 };
	long		 waited = 0;

	fprintf(stderr, "INFO: cgi started left=%lld\n", left0);
	while (waited < ms && !wc_done()) {
		nanosleep(&ts, NULL);
		waited += 20;
	}
	printf("Content-Type: text/plain\r\n\r\n");
	printf("waited=%ld err=%d left0_positive=%d\n", waited, wc_err(),
	    left0 > 0);
	wc_log(WC_WARNING, "cgi finished with err=%d", wc_err());
	return 0;
}
