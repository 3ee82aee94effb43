/*
 * benchmod.c: the warmcgi module behind the benchmark's other rows
 * (bench/RESULTS.md). PATH_INFO picks the response:
 *
 *	/json	64 KiB of JSON (exactly 65536 bytes), built once per worker
 *		and kept, as an application keeps a cache; gzipped by the
 *		host when the client accepts it;
 *	/echo	the request body, back as application/octet-stream;
 *	/mix	"Hello, World!\n"; with ?sleep=MS it first sleeps MS
 *		milliseconds (the slow requests of the slow/fast mix).
 *
 *	cc -shared -fPIC -O2 benchmod.c -o benchmod.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSON_SIZE	65536

static char	json[JSON_SIZE + 1];
static char	body[1 << 16];

static void
build_json(void)
{
	static const char *names[] = { "ada", "brian", "grace", "ken",
	    "linus", "margaret", "dennis", "barbara" };
	char	 item[256];
	size_t	 len = 1, n;
	int	 i;

	json[0] = '[';
	for (i = 0;; i++) {
		n = (size_t)snprintf(item, sizeof(item), "%s{\"id\":%d,"
		    "\"name\":\"%s\",\"email\":\"%s%d@example.com\","
		    "\"active\":%s,\"score\":%d.%02d,\"tags\":[\"t%d\","
		    "\"t%d\"]}", i ? "," : "", i, names[i % 8], names[i % 8],
		    i, i % 3 ? "true" : "false", (i * 7919) % 1000,
		    (i * 31) % 100, i % 5, i % 11);
		if (len + n + 1 > JSON_SIZE)
			break;
		memcpy(json + len, item, n);
		len += n;
	}
	memset(json + len, ' ', JSON_SIZE - 1 - len);
	json[JSON_SIZE - 1] = ']';
}

static void
echo(void)
{
	size_t	 n;

	fputs("Content-Type: application/octet-stream\r\n\r\n", stdout);
	while ((n = fread(body, 1, sizeof(body), stdin)) > 0)
		fwrite(body, 1, n, stdout);
}

static void
mix(void)
{
	const char	*q = getenv("QUERY_STRING");
	struct timespec	 ts;
	long		 ms;

	if (q != NULL && strncmp(q, "sleep=", 6) == 0 &&
	    (ms = atol(q + 6)) > 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = ms % 1000 * 1000000;
		nanosleep(&ts, NULL);
	}
	fputs("Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "Hello, World!\n", stdout);
}

int
main(void)
{
	const char	*pi = getenv("PATH_INFO");

	if (pi == NULL)
		pi = "";
	if (strcmp(pi, "/json") == 0) {
		if (json[0] == '\0')
			build_json();
		fputs("Content-Type: application/json\r\n\r\n", stdout);
		fwrite(json, 1, JSON_SIZE, stdout);
	} else if (strcmp(pi, "/echo") == 0) {
		echo();
	} else if (strcmp(pi, "/mix") == 0) {
		mix();
	} else {
		fputs("Status: 404 Not Found\r\n"
		    "Content-Type: text/plain\r\n\r\nnot found\n", stdout);
	}
	return 0;
}
