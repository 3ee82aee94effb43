/*
 * request_id.c: shows the App Engine style identifiers of a request:
 * REQUEST_LOG_ID (unique, sorts by start time), INSTANCE_ID (one per
 * worker process) and CURRENT_VERSION_ID (version.minor; the minor grows
 * with every load of the app).
 */
#include <stdio.h>
#include <stdlib.h>

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	return v ? v : "(unset)";
}

int
main(void)
{
	printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
	printf("REQUEST_LOG_ID=%s\n", env("REQUEST_LOG_ID"));
	printf("INSTANCE_ID=%s\n", env("INSTANCE_ID"));
	printf("CURRENT_VERSION_ID=%s\n", env("CURRENT_VERSION_ID"));
	printf("REQUEST_DEADLINE=%s\n", env("REQUEST_DEADLINE"));
	return 0;
}
