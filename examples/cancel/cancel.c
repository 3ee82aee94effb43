/*
 * cancel.c: a ten-second job that stops when the client leaves. It works
 * in 100 ms steps and checks wc_done() between them; the host also
 * interrupts the sleep when the request is cancelled or its deadline
 * passes. GET and POST alike (a POST body is read before the job). If the
 * client went away it logs "request canceled", else "done".
 */
#include <stdio.h>
#include <time.h>

#include "warmcgi.h"

int
main(void)
{
	struct timespec	 step = { 0, 100 * 1000000 };
	char		 buf[4096];
	size_t		 body = 0, n;
	int		 i;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		body += n;
	wc_log(WC_INFO, "job started (body %zu bytes)", body);
	for (i = 0; i < 100 && !wc_done(); i++)
		nanosleep(&step, NULL);
	switch (wc_err()) {
	case WC_CANCELED:
		wc_log(WC_WARNING, "request canceled after %d steps", i);
		return 0;	/* nobody is listening any more */
	case WC_DEADLINE_EXCEEDED:
		wc_log(WC_WARNING, "deadline exceeded after %d steps", i);
		printf("Status: 503 Service Unavailable\r\nContent-Type: "
		    "text/plain\r\n\r\nGave up after %d of 100 steps.\n", i);
		return 0;
	}
	wc_log(WC_INFO, "done");
	printf("Content-Type: text/plain\r\n\r\ndone: 100 steps\n");
	return 0;
}
