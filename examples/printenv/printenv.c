/*
 * printenv.c: lists every environment variable the handler sees, sorted,
 * one NAME=value per line, then the size of the request body. Useful to
 * see what nginx and warmcgi pass (and that nothing leaks between
 * requests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	char	**copy, buf[4096];
	size_t	 n = 0, i, body = 0, got;

	while (environ[n] != NULL)
		n++;
	if ((copy = malloc((n + 1) * sizeof(*copy))) == NULL)
		return 1;
	memcpy(copy, environ, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp);
	while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0)
		body += got;
	printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
	for (i = 0; i < n; i++)
		printf("%s\n", copy[i]);
	printf("-- body: %zu bytes\n", body);
	free(copy);
	return 0;
}
