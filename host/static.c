/*
 * static.c: files of `static_dir` and `static_files` handlers. Only a
 * regular file whose real path is inside the handler's directory is served
 * (route.c has already refused "..", "." and hidden names; realpath() here
 * refuses symlinks that leave). The response carries a Content-Type from
 * mime.c's table (or the handler's mime_type), Cache-Control and Expires
 * from `expiration` (or default_expiration), and ETag and Last-Modified in
 * nginx's format, so that a file keeps its validators whichever of the two
 * serves it; a request whose If-None-Match or If-Modified-Since matches
 * gets 304 (RFC 9110 13.1). Only GET and HEAD are served (405 otherwise,
 * as nginx does). pipeline.c sends what static_prepare() builds, so gzip,
 * http_header lines, HSTS and HEAD work here as everywhere. The validator
 * checks are pure and unit-tested. Runs in the serving thread.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "mime.h"
#include "pipeline.h"
#include "req.h"
#include "static.h"

#define NFIELDS	5

static char *
http_date(struct arena *a, time_t t)
{
	struct tm	 tm;
	char		 tmp[64];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return arena_strdup(a, tmp);
}

/*
 * Returns 1 if an If-None-Match list matches etag with the weak comparison
 * of RFC 9110 8.8.3.2 (a W/ prefix on either side is ignored), or is "*".
 */
int
static_etag_matches(const char *inm, const char *etag)
{
	const char	*p = inm, *e;
	size_t		 n;

	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	n = strlen(etag);
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		e = p;
		while (*e != '\0' && *e != ',')
			e++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - p) == n && strncmp(p, etag, n) == 0)
			return 1;
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* Parses an HTTP date in any of the three forms of RFC 9110 5.6.7. */
static int
parse_http_date(const char *s, time_t *out)
{
	static const char *const forms[] = {
		"%a, %d %b %Y %H:%M:%S GMT",	/* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT",	/* RFC 850 */
		"%a %b %e %H:%M:%S %Y",		/* asctime() */
	};
	struct tm	 tm;
	const char	*end;
	size_t		 i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, forms[i], &tm);
		if (end != NULL && *end == '\0') {
			*out = timegm(&tm);
			return 0;
		}
	}
	return -1;
}

/*
 * Returns 1 if a GET or HEAD with these If-None-Match and
 * If-Modified-Since values (NULL when absent) is answered 304 for a file
 * with this ETag and modification time. If-None-Match, when present,
 * decides alone (RFC 9110 13.2.2); a date that does not parse is ignored.
 */
int
static_not_modified(const char *inm, const char *ims, const char *etag,
    time_t mtime)
{
	time_t	 t;

	if (inm != NULL)
		return static_etag_matches(inm, etag);
	if (ims == NULL || parse_http_date(ims, &t) == -1)
		return 0;
	return mtime <= t;
}

static void
field(struct cgiresp_field *f, const char *name, const char *value)
{
	f->name = name;
	f->name_len = strlen(name);
	f->value = value ? value : "";
	f->value_len = value ? strlen(value) : 0;
}

static int
read_file(int fd, size_t size, struct buf *body)
{
	ssize_t	 n;

	buf_reset(body);
	if (buf_reserve(body, size) == -1)
		return -1;
	while (body->len < size) {
		n = read(fd, body->data + body->len, size - body->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		body->len += (size_t)n;
	}
	body->data[body->len] = '\0';
	return 0;
}

/*
 * Opens r->route.file if its real path is inside root and it is a regular
 * file. Returns the descriptor, or -1 with *end set.
 */
static int
open_inside(struct req *r, const char *root, struct stat *st,
    enum static_end *end)
{
	char	 rfile[PATH_MAX], rroot[PATH_MAX];
	size_t	 n;
	int	 fd;

	*end = STATIC_NOT_FOUND;
	if (realpath(root, rroot) == NULL ||
	    realpath(r->route.file, rfile) == NULL)
		return -1;
	n = strlen(rroot);
	if (strncmp(rfile, rroot, n) != 0 || (rfile[n] != '/' &&
	    strcmp(rroot, "/") != 0))
		return -1;
	if ((fd = open(rfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT && errno != EACCES && errno != ELOOP)
			*end = STATIC_ERROR;
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	if ((long long)st->st_size > r->route.h->limits.max_response_bytes) {
		log_req(r, LOG_LEVEL_ERROR, "%s: larger than "
		    "max_response_size; let nginx serve it (warmcgi --nginx)",
		    rfile);
		close(fd);
		*end = STATIC_ERROR;
		return -1;
	}
	return fd;
}

/*
 * Prepares the response of static handler h for r->route.file: the file's
 * bytes (or nothing for a 304) in body, fields and status in out (strings
 * in r's arena). Returns STATIC_OK, STATIC_NOT_FOUND, STATIC_BAD_METHOD or
 * STATIC_ERROR (logged).
 */
enum static_end
static_prepare(struct req *r, const struct handler *h, struct buf *body,
    struct resp *out)
{
	struct cgiresp_field *f;
	enum static_end	 end;
	struct stat	 st;
	char		*etag;
	int		 fd;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return STATIC_BAD_METHOD;
	if ((fd = open_inside(r, h->target, &st, &end)) == -1)
		return end;
	memset(out, 0, sizeof(*out));
	if ((f = arena_calloc(r->arena, NFIELDS, sizeof(*f))) == NULL ||
	    (etag = arena_printf(r->arena, "\"%llx-%llx\"",
	    (unsigned long long)st.st_mtime,
	    (unsigned long long)st.st_size)) == NULL) {
		close(fd);
		return STATIC_ERROR;
	}
	field(&f[0], "Content-Type", h->mime_type ? h->mime_type :
	    mime_type_for(r->route.file));
	field(&f[1], "ETag", etag);
	field(&f[2], "Last-Modified", http_date(r->arena, st.st_mtime));
	field(&f[3], "Cache-Control", arena_printf(r->arena,
	    "public, max-age=%lld", h->limits.expiration_s));
	field(&f[4], "Expires", http_date(r->arena, time(NULL) +
	    (time_t)h->limits.expiration_s));
	out->fields = f;
	out->nfields = NFIELDS;
	out->status = 200;
	if (static_not_modified(req_param(r->params, "HTTP_IF_NONE_MATCH"),
	    req_param(r->params, "HTTP_IF_MODIFIED_SINCE"), etag,
	    st.st_mtime)) {
		/*
		 * The fields a 200 would carry but Content-Type (RFC 9110
		 * 15.4.5); rep_* let pipeline.c add the same Vary and ETag.
		 */
		out->status = 304;
		out->fields = f + 1;
		out->nfields = NFIELDS - 1;
		out->rep_type = f[0].value;
		out->rep_len = (size_t)st.st_size;
		close(fd);
		return STATIC_OK;
	}
	if (read_file(fd, (size_t)st.st_size, body) == -1) {
		log_req(r, LOG_LEVEL_ERROR, "%s: read: %s", r->route.file,
		    strerror(errno));
		close(fd);
		return STATIC_ERROR;
	}
	close(fd);
	out->body = body->data;
	out->body_len = body->len;
	return STATIC_OK;
}
