/*
 * secure.h: the `secure` key of a handler. Deciding whether a request
 * must move to https (or away from it) and building the URL to send it
 * to; pipeline.c answers the redirect.
 */
#ifndef WARMCGI_SECURE_H
#define WARMCGI_SECURE_H

#include "arena.h"

/* Where a redirect goes: what the front end passed about the request. */
struct secure_target {
	const char	*host;		/* HTTP_HOST, or NULL */
	const char	*server_name;	/* SERVER_NAME, or NULL */
	const char	*request_uri;	/* REQUEST_URI (raw), or NULL */
	const char	*path;		/* decoded path, if no REQUEST_URI */
	const char	*query;		/* QUERY_STRING, or NULL */
};

int	 secure_is_https(const char *);
int	 secure_redirect_wanted(long long, int);
int	 secure_redirect_status(const char *);
char	*secure_location(struct arena *, int, const struct secure_target *);

#endif
