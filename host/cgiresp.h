/*
 * cgiresp.h: parsing a handler's CGI response (RFC 3875 section 6) into a
 * status, the header fields and the body. Pure; used by pipeline.c for
 * modules and classic CGI alike, unit-tested and fuzzed.
 */
#ifndef WARMCGI_CGIRESP_H
#define WARMCGI_CGIRESP_H

#include <stddef.h>

#include "arena.h"

enum cgiresp_err {
	CGIRESP_OK,
	CGIRESP_INCOMPLETE,	/* no blank line yet (more may come) */
	CGIRESP_MALFORMED,	/* answer 502 */
	CGIRESP_HEADER_TOO_LARGE, /* answer 502 */
	CGIRESP_NOMEM
};

struct cgiresp_field {
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* leading and trailing blanks cut */
	size_t		 value_len;
};

struct cgiresp {
	int		 status;	/* 0: none given */
	const char	*reason;	/* reason phrase, or NULL */
	size_t		 reason_len;
	int		 nph;		/* status came from an HTTP/1.x line */
	const struct cgiresp_field *content_type;	/* or NULL */
	const struct cgiresp_field *location;		/* or NULL */
	struct cgiresp_field *fields;	/* every field but Status */
	size_t		 nfields;
	size_t		 header_len;	/* bytes up to the body */
	const char	*body;
	size_t		 body_len;
	const char	*error;		/* why it is malformed */
};

enum cgiresp_err cgiresp_parse(struct arena *, const char *, size_t, size_t,
		    struct cgiresp *);
int		 cgiresp_is_local_redirect(const struct cgiresp *);
const char	*cgiresp_reason(int);
int		 cgiresp_name_is(const struct cgiresp_field *, const char *);

#endif
