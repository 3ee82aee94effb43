/*
 * cliparams.h: the CGI parameters of a request that did not come through
 * a FastCGI front end. For --request they are built from a request line
 * and header fields the way nginx's stock fastcgi_params would send them;
 * in CGI mode they are the web server's environment, with the script's
 * own SCRIPT_NAME moved aside so that routing sees PATH_INFO. Pure: every
 * string is allocated in the caller's arena.
 */
#ifndef WARMCGI_CLIPARAMS_H
#define WARMCGI_CLIPARAMS_H

#include <stddef.h>

#include "arena.h"

enum cliparams_err {
	CLIPARAMS_OK,
	CLIPARAMS_BAD_LINE,	/* not "[METHOD] TARGET [HTTP/x.y]" */
	CLIPARAMS_BAD_TARGET,	/* not /path or http(s)://host/path */
	CLIPARAMS_ESCAPES_ROOT,	/* "/.." above "/": nginx answers 400 */
	CLIPARAMS_BAD_HEADER,	/* not "Name: value" */
	CLIPARAMS_CONTENT_LENGTH, /* Content-Length is computed, not given */
	CLIPARAMS_NOMEM
};

/* A request as given on the command line. */
struct cliparams_in {
	const char	*line;		/* "GET /path?q", "/path", "POST URL" */
	char *const	*headers;	/* "Name: value" */
	size_t		 nheaders;
	int		 has_body;	/* --data was given */
	size_t		 body_len;	/* its length */
};

enum cliparams_err cliparams_build(struct arena *,
		    const struct cliparams_in *, char ***, size_t *);
const char	*cliparams_strerror(enum cliparams_err);
char		**cliparams_cgi(struct arena *, char **, const char **);

#endif
