/*
 * mime.c: file name extension to Content-Type. One table serves both
 * static.c (files warmcgi sends itself) and nginxconf.c (the `types`
 * block of the generated nginx config), so a file gets the same type
 * whichever of the two serves it. Text types carry "; charset=utf-8";
 * nginx gets the bare type and adds the charset with `charset_types`.
 * Pure.
 */
#include <string.h>
#include <strings.h>

#include "mime.h"

#define UTF8	"; charset=utf-8"

static const struct mime_entry table[] = {
	{ "html", "text/html" UTF8 },
	{ "htm", "text/html" UTF8 },
	{ "css", "text/css" UTF8 },
	{ "js", "text/javascript" UTF8 },
	{ "mjs", "text/javascript" UTF8 },
	{ "txt", "text/plain" UTF8 },
	{ "md", "text/markdown" UTF8 },
	{ "csv", "text/csv" UTF8 },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "webmanifest", "application/manifest+json" },
	{ "xml", "application/xml" },
	{ "rss", "application/rss+xml" },
	{ "atom", "application/atom+xml" },
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
 * Returns the Content-Type for a file name or path from its extension
 * (after the last '.' of the last segment, in any case), or MIME_DEFAULT.
 * The string is static.
 */
const char *
mime_type_for(const char *name)
{
	const char	*dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t		 i;

	if (dot == NULL || (slash != NULL && dot < slash))
		return MIME_DEFAULT;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(dot + 1, table[i].ext) == 0)
			return table[i].content_type;
	return MIME_DEFAULT;
}

/*
 * Returns the length of the media type at the start of a Content-Type
 * value, without parameters ("text/css; charset=utf-8" gives 8).
 */
size_t
mime_bare_len(const char *ct)
{
	return strcspn(ct, "; \t");
}

/*
 * Returns the whole table and sets *n to its length.
 */
const struct mime_entry *
mime_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
