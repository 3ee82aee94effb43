/*
 * mime.h: the one table of file types, used by static.c to label the files
 * warmcgi serves and by nginxconf.c to give nginx the same table.
 */
#ifndef WARMCGI_MIME_H
#define WARMCGI_MIME_H

#include <stddef.h>

struct mime_entry {
	const char	*ext;		/* lowercase, without the dot */
	const char	*content_type;	/* text types carry their charset */
};

#define MIME_DEFAULT	"application/octet-stream"

const char	*mime_type_for(const char *);
size_t		 mime_bare_len(const char *);
const struct mime_entry *mime_table(size_t *);

#endif
