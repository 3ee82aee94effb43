/*
 * logging.c: a handler's log lines. Every line written on stderr becomes
 * a JSON record of this request in the application log, tagged with its
 * REQUEST_LOG_ID; a "LEVEL:" prefix (or a syslog "<N>") sets the level.
 * wc_log() does the same with printf formatting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warmcgi.h"

int
main(void)
{
	FILE	*fp;

	fprintf(stderr, "DEBUG: a debug line\n");
	fprintf(stderr, "INFO: an info line\n");
	fprintf(stderr, "WARNING: a warning line\n");
	fprintf(stderr, "ERROR: an error line\n");
	fprintf(stderr, "CRITICAL: a critical line\n");
	if ((fp = fopen("/nonexistent/config.json", "r")) == NULL)
		wc_log(WC_ERROR, "cannot read %s: %s", "/nonexistent/config.json",
		    strerror(errno));
	else
		fclose(fp);
	printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
	printf("Wrote one log line at each level and one error with detail.\n"
	    "Look for request_id %s in the application log.\n",
	    getenv("REQUEST_LOG_ID") ? getenv("REQUEST_LOG_ID") : "?");
	return 0;
}
