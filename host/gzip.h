/*
 * gzip.h: response compression. gzip_wanted() decides (pure, unit-tested),
 * gzip_compress() deflates with one zlib stream reused per process.
 */
#ifndef WARMCGI_GZIP_H
#define WARMCGI_GZIP_H

#include <stddef.h>

#include "buf.h"

struct gzip;

/* What the decision looks at. */
struct gzip_facts {
	const char	*accept_encoding;	/* request header, or NULL */
	const char	*user_agent;		/* request header, or NULL */
	const char	*content_type;		/* response, or NULL */
	size_t		 content_type_len;
	int		 encoded;	/* response has Content-Encoding */
	int		 status;
	size_t		 body_len;
	size_t		 min_len;	/* compress_min_size */
	int		 enabled;	/* compress = on */
};

int		 gzip_accepts(const char *);
int		 gzip_type_ok(const char *, size_t);
int		 gzip_varies(const struct gzip_facts *);
int		 gzip_wanted(const struct gzip_facts *);
int		 gzip_vary_has(const char *, size_t, const char *);
struct gzip	*gzip_new(int);
int		 gzip_compress(struct gzip *, const char *, size_t,
		    struct buf *);

#endif
