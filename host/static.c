/*
 * static.c: files under a `static_dir` handler. Only a regular file whose
 * real path is inside the handler's directory is served (route.c has
 * already refused "..", "." and hidden names; realpath() here refuses
 * symlinks that leave). The response carries a Content-Type from the
 * built-in table, Cache-Control and Expires from `expiration` (or
 * default_expiration), and ETag and Last-Modified; a request whose
 * If-None-Match or If-Modified-Since matches gets 304 (RFC 9110 13.1).
 * pipeline.c sends what static_prepare() builds, so gzip, HSTS and HEAD
 * work here as everywhere. Runs in the serving thread.
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
#include "pipeline.h"
#include "req.h"
#include "static.h"

#define NFIELDS	5

static const struct {
	const char	*ext;
	const char	*type;
} mime[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "webmanifest", "application/manifest+json" },
	{ "xml", "application/xml" },
	{ "rss", "application/rss+xml" },
	{ "atom", "application/atom+xml" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },
	{ "wav", "audio/wav" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
};

/*
 * Returns the Content-Type for a file name from its extension, or
 * application/octet-stream.
 */
const char *
static_mime_type(const char *name)
{
	const char	*dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t		 i;

	if (dot == NULL || (slash != NULL && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(mime) / sizeof(mime[0]); i++)
		if (strcasecmp(dot + 1, mime[i].ext) == 0)
			return mime[i].type;
	return "application/octet-stream";
}

static char *
http_date(struct arena *a, time_t t)
{
	struct tm	 tm;
	char		 tmp[64];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return arena_strdup(a, tmp);
}

/* Returns 1 if an If-None-Match list matches etag (weak comparison). */
static int
etag_matches(const char *inm, const char *etag)
{
	const char	*p = inm, *e;
	size_t		 n = strlen(etag);

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		e = p;
		while (*e != '\0' && *e != ',')
			e++;
		while (e > p && e[-1] == ' ')
			e--;
		if ((size_t)(e - p) == n && strncmp(p, etag, n) == 0)
			return 1;
		p = *e ? e + 1 : e;
	}
	return 0;
}

static int
not_modified(struct req *r, const char *etag, time_t mtime)
{
	const char	*inm = req_param(r->params, "HTTP_IF_NONE_MATCH");
	const char	*ims = req_param(r->params, "HTTP_IF_MODIFIED_SINCE");
	struct tm	 tm;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return 0;
	if (inm != NULL)
		return etag_matches(inm, etag);
	if (ims == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return 0;
	return mtime <= timegm(&tm);
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
 * Prepares the response for file under root, with a cache lifetime of
 * expiration_s seconds: body (the file's bytes, or nothing for a 304) in
 * body, fields and status in out (strings in r's arena). Returns STATIC_OK,
 * STATIC_NOT_FOUND or STATIC_ERROR (logged).
 */
enum static_end
static_prepare(struct req *r, const char *file, const char *root,
    long long expiration_s, struct buf *body, struct resp *out)
{
	struct cgiresp_field *f;
	char		 rfile[PATH_MAX], rroot[PATH_MAX], *etag;
	struct stat	 st;
	size_t		 n;
	int		 fd;

	if (realpath(root, rroot) == NULL || realpath(file, rfile) == NULL)
		return STATIC_NOT_FOUND;
	n = strlen(rroot);
	if (strncmp(rfile, rroot, n) != 0 || rfile[n] != '/')
		return STATIC_NOT_FOUND;
	if ((fd = open(rfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? STATIC_NOT_FOUND : STATIC_ERROR;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return STATIC_NOT_FOUND;
	}
	if ((long long)st.st_size > r->route.h->limits.max_response_bytes) {
		log_req(r, LOG_LEVEL_ERROR, "%s: larger than max_response_size; "
		    "let nginx serve it (warmcgi --nginx)", rfile);
		close(fd);
		return STATIC_ERROR;
	}
	memset(out, 0, sizeof(*out));
	if ((f = arena_calloc(r->arena, NFIELDS, sizeof(*f))) == NULL ||
	    (etag = arena_printf(r->arena, "\"%llx-%llx\"",
	    (unsigned long long)st.st_mtime,
	    (unsigned long long)st.st_size)) == NULL) {
		close(fd);
		return STATIC_ERROR;
	}
	field(&f[0], "Content-Type", static_mime_type(rfile));
	field(&f[1], "ETag", etag);
	field(&f[2], "Last-Modified", http_date(r->arena, st.st_mtime));
	field(&f[3], "Cache-Control", arena_printf(r->arena,
	    "public, max-age=%lld", expiration_s));
	field(&f[4], "Expires", http_date(r->arena, time(NULL) +
	    (time_t)expiration_s));
	out->fields = f;
	out->nfields = NFIELDS;
	if (not_modified(r, etag, st.st_mtime)) {
		out->status = 304;
		out->fields = f + 1;
		out->nfields = NFIELDS - 1;
		close(fd);
		return STATIC_OK;
	}
	out->status = 200;
	if (read_file(fd, (size_t)st.st_size, body) == -1) {
		log_req(r, LOG_LEVEL_ERROR, "%s: read: %s", rfile,
		    strerror(errno));
		close(fd);
		return STATIC_ERROR;
	}
	close(fd);
	out->body = body->data;
	out->body_len = body->len;
	return STATIC_OK;
}
