/*
 * cgi.h: classic CGI, one process per request (RFC 3875), for `cgi =`
 * handlers and for executables in `dir =` drop-in directories.
 */
#ifndef WARMCGI_CGI_H
#define WARMCGI_CGI_H

#include <stddef.h>

#include "buf.h"

struct req;

enum cgi_end {
	CGI_OK,			/* the script ran and its output was read */
	CGI_NOT_FOUND,		/* no such file: 404 */
	CGI_FORBIDDEN,		/* outside the directory, not executable: 403 */
	CGI_ERROR,		/* could not run it: 500 */
	CGI_DEADLINE,		/* stopped at its deadline: 500 */
	CGI_CANCELED		/* the client went away: 499 */
};

/* Where the script's standard output goes, as it comes. */
struct cgi_sink {
	/*
	 * Takes n bytes. Returns 0, or -1 when the rest is not wanted (the
	 * client is gone, or the response cannot go on): the script is then
	 * killed.
	 */
	int	(*write)(void *, const char *, size_t);
	void	*ctx;
};

/* What cgi_check() requires of the file. */
#define CGI_CHECK_EXEC	1	/* an execute bit (a program, not a .so) */

enum cgi_end	 cgi_check(const char *, const char *, int, char *);
enum cgi_end	 cgi_run(struct req *, const char *, const char *,
		    const struct cgi_sink *, struct buf *);

#endif
