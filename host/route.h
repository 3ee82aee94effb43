/*
 * route.h: from the decoded request path to a handler and the names the
 * handler sees (SCRIPT_NAME, PATH_INFO, the file to run or serve). Pure;
 * called by pipeline.c, unit-tested and fuzzed. What it returns never
 * leaves the handler's directory: no "." or ".." segment and no hidden name
 * ever gets through.
 */
#ifndef WARMCGI_ROUTE_H
#define WARMCGI_ROUTE_H

#include "arena.h"
#include "conf.h"
#include "req.h"

enum route_err {
	ROUTE_OK,
	ROUTE_NOT_FOUND,	/* no handler, or no name under a prefix: 404 */
	ROUTE_BAD_PATH,		/* "..", "." or a hidden name: 404 */
	ROUTE_NOMEM
};

enum route_err	 route_match(const struct conf *, struct arena *,
		    const char *, struct route *);
int		 route_path_is_safe(const char *, size_t);
int		 route_is_nph(const char *, size_t);

#endif
