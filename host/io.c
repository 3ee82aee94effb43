/*
 * io.c: io_write_all(), for log records (log.c), the emergency answer of
 * the crash path (crash.c) and the responses of --request and CGI mode
 * (cli.c). Async-signal-safe: write() and errno only.
 */
#include <errno.h>
#include <unistd.h>

#include "io.h"

/*
 * Writes the n bytes at p to fd, retrying after EINTR and short writes.
 * Returns 0, or -1 when a write fails (errno set) or writes nothing.
 */
int
io_write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
