/*
 * timer.c: App Engine's TimerHandler in C. The handler sleeps 70 seconds;
 * at the request's deadline the host interrupts the sleep (EINTR) and
 * marks the request WC_DEADLINE_EXCEEDED, and the handler answers by
 * itself, as Python code caught DeadlineExceededError.
 */
#include <stdio.h>
#include <unistd.h>

#include "warmcgi.h"

int
main(void)
{
	unsigned int	 left = sleep(70);

	if (wc_err() == WC_DEADLINE_EXCEEDED) {
		printf("Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\n\r\n"
		    "The request did not complete in time.\n");
		wc_log(WC_WARNING, "deadline exceeded with %u s of sleep left",
		    left);
		return 0;
	}
	printf("Content-Type: text/plain\r\n\r\nSlept 70 seconds.\n");
	return 0;
}
