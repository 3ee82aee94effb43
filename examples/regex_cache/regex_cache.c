/*
 * regex_cache.c: what stays warm. A module is loaded once per worker and
 * its globals live across requests, so expensive setup (here, compiling a
 * regular expression) happens once per worker, not once per request.
 *
 * Keep only caches in globals. Request data (the query, the body, the
 * user) must never be kept there: the next request in this worker may
 * belong to someone else.
 *
 *	GET /regex?q=someone@example.com
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static regex_t		 email;		/* compiled once per worker */
static int		 compiled;	/* how many times we compiled */
static unsigned long	 served;	/* requests this worker served */

static void
decode(char *s)
{
	char	*o = s;
	unsigned int c;

	for (; *s; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s == '%' && sscanf(s + 1, "%2x", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

int
main(void)
{
	const char	*qs = getenv("QUERY_STRING");
	char		 q[512] = "";

	if (!compiled) {
		if (regcomp(&email, "^[^@ ]+@[^@ ]+\\.[a-z]{2,}$",
		    REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
			printf("Status: 500 Internal Server Error\r\n"
			    "Content-Type: text/plain\r\n\r\nregcomp failed\n");
			return 0;
		}
		compiled++;
	}
	served++;
	if (qs != NULL && strncmp(qs, "q=", 2) == 0) {
		snprintf(q, sizeof(q), "%s", qs + 2);
		decode(q);
	}
	printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
	printf("instance: %s\n", getenv("INSTANCE_ID"));
	printf("requests served by this worker: %lu\n", served);
	printf("regex compiled: %d time(s)\n", compiled);
	if (q[0] != '\0')
		printf("\"%s\" %s an e-mail address\n", q,
		    regexec(&email, q, 0, NULL, 0) == 0 ? "is" : "is not");
	return 0;
}
