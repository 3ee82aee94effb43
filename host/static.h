/*
 * static.h: files served by `static_dir` and `static_files` handlers, with
 * Content-Type, cache headers and validators.
 */
#ifndef WARMCGI_STATIC_H
#define WARMCGI_STATIC_H

#include <time.h>

#include "buf.h"

struct handler;
struct req;
struct resp;

enum static_end {
	STATIC_OK,
	STATIC_NOT_FOUND,
	STATIC_BAD_METHOD,	/* not GET or HEAD: 405 */
	STATIC_ERROR
};

int		 static_etag_matches(const char *, const char *);
int		 static_not_modified(const char *, const char *, const char *,
		    time_t);
enum static_end	 static_prepare(struct req *, const struct handler *,
		    struct buf *, struct resp *);

#endif
