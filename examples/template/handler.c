/*
 * handler.c: the handler of a new warmcgi project. Replace what main()
 * does; keep its shape. It is a CGI program: the request comes in the
 * environment and on standard input, the response goes out on standard
 * output (header fields, a blank line, the body).
 *
 *	GET  /hello?name=Ada	a greeting
 *	POST /hello		the number of bytes posted
 *
 * Built as hello.so (make), warmcgi loads it once per worker and calls
 * main() for every request; built as hello.cgi (make hello.cgi) the same
 * source runs under any CGI server, one process per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <warmcgi.h>

static unsigned long	 served;	/* per worker: survives requests */

/* Copies the value of key in the query string into out (no decoding). */
static int
query(const char *key, char *out, size_t len)
{
	const char	*q = getenv("QUERY_STRING"), *p;
	size_t		 n = strlen(key);

	for (p = q; p != NULL && *p != '\0'; p = strchr(p, '&') ?
	    strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, key, n) == 0 && p[n] == '=') {
			snprintf(out, len, "%.*s", (int)strcspn(p + n + 1,
			    "&"), p + n + 1);
			return 1;
		}
	}
	return 0;
}

int
main(void)
{
	const char	*method = getenv("REQUEST_METHOD");
	char		 name[64] = "world", buf[8192];
	size_t		 n, total = 0;

	served++;
	if (method != NULL && strcmp(method, "POST") == 0) {
		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			total += n;
		printf("Content-Type: text/plain\r\n\r\n%zu bytes\n", total);
		return 0;
	}
	if (query("name", name, sizeof(name)) && strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	    strlen(name)) {
		wc_log(WC_WARNING, "rejected name %s", name);
		printf("Status: 400 Bad Request\r\n"
		    "Content-Type: text/plain\r\n\r\nletters only\n");
		return 0;
	}
	printf("Content-Type: text/plain\r\n\r\n");
	printf("Hello, %s! (%lld ms left, request %lu of this worker)\n",
	    name, wc_time_left_ms(), served);
	return 0;
}
