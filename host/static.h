/*
 * static.h: files served by `static_dir` handlers, with Content-Type,
 * cache headers and validators.
 */
#ifndef WARMCGI_STATIC_H
#define WARMCGI_STATIC_H

#include "buf.h"

struct req;
struct resp;

enum static_end {
	STATIC_OK,
	STATIC_NOT_FOUND,
	STATIC_ERROR
};

const char	*static_mime_type(const char *);
enum static_end	 static_prepare(struct req *, const char *, const char *,
		    long long, struct buf *, struct resp *);

#endif
