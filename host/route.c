/*
 * route.c: matches the request path against the handlers in file order;
 * the first match wins. An exact url matches only itself; a url ending in
 * '/' matches everything below it and owns it (an unknown name under it is
 * a 404, not a fall-through to a later handler); the url of a static_files
 * handler is a regular expression that must match the whole path, and its
 * captures fill the static_files template (App Engine's app.yaml). Under
 * `dir =` and `cgi = DIR` the first segment names the file (never ".",
 * ".." or a hidden name, and under `dir =` never NAME.so itself: modules
 * are loaded, not run); `module =` and `cgi = FILE` name one file for the
 * whole url. Pure: strings are built in the request's arena; whether files
 * exist is for the caller to find out.
 */
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "route.h"

#define NOT_THIS	(-1)	/* a regex url that does not match */

/*
 * Returns 1 if the n bytes of rel, a path relative to a handler's
 * directory, stay inside it: no segment is "." or "..", and none starts
 * with '.' (hidden files such as .git or .htaccess are never served).
 */
int
route_path_is_safe(const char *rel, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (rel[i] == '\0')
			return 0;
		if ((i == 0 || rel[i - 1] == '/') && rel[i] == '.')
			return 0;
	}
	return 1;
}

static char *
join(struct arena *a, const char *dir, const char *rel, size_t n,
    const char *suffix)
{
	size_t	 dl = strlen(dir), sl = strlen(suffix);
	char	*p;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if ((p = arena_alloc(a, dl + 1 + n + sl + 1)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, rel, n);
	memcpy(p + dl + 1 + n, suffix, sl + 1);
	return p;
}

/*
 * Returns 1 if the program named by the n bytes at name (a file name or a
 * path) is a non-parsed-header script: its last component starts with
 * "nph-" (RFC 3875 section 5).
 */
int
route_is_nph(const char *name, size_t n)
{
	size_t	 i = n;

	while (i > 0 && name[i - 1] != '/')
		i--;
	return n - i >= 4 && strncmp(name + i, "nph-", 4) == 0;
}

/* /app/NAME/rest under a dir or cgi handler. */
static enum route_err
match_named(const struct handler *h, struct arena *a, const char *path,
    struct route *out)
{
	const char	*name = path + h->url_len, *slash;
	size_t		 n;

	slash = strchr(name, '/');
	n = slash ? (size_t)(slash - name) : strlen(name);
	if (n == 0)
		return ROUTE_NOT_FOUND;
	if (!route_path_is_safe(name, n))
		return ROUTE_BAD_PATH;
	/*
	 * In a drop-in directory NAME.so is a module, never a program: the
	 * URL names it without the suffix.
	 */
	if (h->kind == HANDLER_DIR && n >= 3 &&
	    strncmp(name + n - 3, ".so", 3) == 0)
		return ROUTE_NOT_FOUND;
	out->script_name = arena_strndup(a, path, h->url_len + n);
	out->path_info = slash ? slash : "";
	out->file = join(a, h->target, name, n,
	    h->kind == HANDLER_DIR ? ".so" : "");
	out->is_module = h->kind == HANDLER_DIR;
	out->nph = route_is_nph(name, n);
	if (out->script_name == NULL || out->file == NULL)
		return ROUTE_NOMEM;
	return ROUTE_OK;
}

/* /static/rest under a static_dir handler. */
static enum route_err
match_static(const struct handler *h, struct arena *a, const char *path,
    struct route *out)
{
	const char	*rel = path + h->url_len;
	size_t		 n = strlen(rel);

	if (!route_path_is_safe(rel, n))
		return ROUTE_BAD_PATH;
	out->script_name = arena_strndup(a, h->url, h->url_len - 1);
	out->path_info = rel - 1;
	out->file = join(a, h->target, rel, n, "");
	if (out->script_name == NULL || out->file == NULL)
		return ROUTE_NOMEM;
	return ROUTE_OK;
}

/*
 * Writes the static_files template t with \N replaced by capture N of
 * subject (ov: PCRE2's ovector) into dst; returns the length. With dst
 * NULL it only measures.
 */
static size_t
subst(char *dst, const char *t, const char *subject, const PCRE2_SIZE *ov)
{
	size_t	 n = 0, g, len;

	for (; *t != '\0'; t++) {
		if (*t != '\\') {
			if (dst != NULL)
				dst[n] = *t;
			n++;
			continue;
		}
		t++;
		if (*t == '\\') {
			if (dst != NULL)
				dst[n] = '\\';
			n++;
			continue;
		}
		g = (size_t)(*t - '0');
		if (ov[2 * g] == PCRE2_UNSET)
			continue;
		len = ov[2 * g + 1] - ov[2 * g];
		if (dst != NULL)
			memcpy(dst + n, subject + ov[2 * g], len);
		n += len;
	}
	return n;
}

/*
 * A static_files handler: url (a regex) must match path whole. The
 * template after its directory part, with captures filled in, must stay
 * inside that directory (no "..", ".", or hidden segment), and the path as
 * written must match upload when there is one. Returns NOT_THIS when url
 * does not match.
 */
static int
match_files(const struct handler *h, struct arena *a, const char *path,
    struct route *out)
{
	pcre2_match_data *md;
	const PCRE2_SIZE *ov;
	const char	*tmpl = h->static_files + h->files_root_len;
	size_t		 n, rn = h->files_root_len;
	char		*written;
	int		 rc;

	if ((md = pcre2_match_data_create_from_pattern(h->url_re, NULL)) ==
	    NULL)
		return ROUTE_NOMEM;
	if (pcre2_match(h->url_re, (PCRE2_SPTR)path, strlen(path), 0, 0, md,
	    NULL) < 0) {
		pcre2_match_data_free(md);
		return NOT_THIS;
	}
	ov = pcre2_get_ovector_pointer(md);
	n = subst(NULL, tmpl, path, ov);
	rc = ROUTE_NOMEM;
	if ((written = arena_alloc(a, rn + n + 1)) == NULL)
		goto done;
	memcpy(written, h->static_files, rn);
	subst(written + rn, tmpl, path, ov);
	written[rn + n] = '\0';
	out->h = h;
	out->script_name = path;
	out->path_info = "";
	rc = ROUTE_BAD_PATH;
	if (n == 0 || !route_path_is_safe(written + rn, n))
		goto done;
	rc = ROUTE_NOT_FOUND;
	if (h->upload_re != NULL && pcre2_match(h->upload_re,
	    (PCRE2_SPTR)written, rn + n, 0, 0, md, NULL) < 0)
		goto done;
	rc = ROUTE_NOMEM;
	if ((out->file = join(a, h->target, written + rn, n, "")) == NULL)
		goto done;
	rc = ROUTE_OK;
done:
	pcre2_match_data_free(md);
	return rc;
}

/*
 * Finds the handler for path (decoded, starting with '/') and fills out.
 * Returns ROUTE_OK, ROUTE_NOT_FOUND, ROUTE_BAD_PATH or ROUTE_NOMEM; on
 * ROUTE_BAD_PATH and ROUTE_NOT_FOUND under a prefix, out->h is the handler
 * that owns the url (for the logs).
 */
enum route_err
route_match(const struct conf *c, struct arena *a, const char *path,
    struct route *out)
{
	const struct handler *h;
	size_t		 i;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (memchr(path, '\\', strlen(path)) != NULL)
		return ROUTE_BAD_PATH;
	for (i = 0; i < c->nhandlers; i++) {
		h = &c->handlers[i];
		if (h->kind == HANDLER_STATIC_FILES) {
			if ((rc = match_files(h, a, path, out)) != NOT_THIS)
				return (enum route_err)rc;
			continue;
		}
		if (!h->prefix ? strcmp(path, h->url) == 0 :
		    strncmp(path, h->url, h->url_len) == 0)
			break;
	}
	if (i == c->nhandlers)
		return ROUTE_NOT_FOUND;
	out->h = h;
	switch (h->kind) {
	case HANDLER_CGI:
		if (h->cgi_file)
			break;
		/* FALLTHROUGH */
	case HANDLER_DIR:
		return match_named(h, a, path, out);
	case HANDLER_STATIC:
		return match_static(h, a, path, out);
	case HANDLER_STATUS:
	case HANDLER_PING:
		out->script_name = h->url;
		out->path_info = "";
		return ROUTE_OK;
	case HANDLER_STATIC_FILES:
	case HANDLER_MODULE:
	case HANDLER_KIND_UNSET:
		break;
	}
	/* One file for the whole url: a module, or cgi = FILE. */
	out->file = h->target;
	out->is_module = h->kind == HANDLER_MODULE;
	out->nph = h->kind == HANDLER_CGI &&
	    route_is_nph(h->target, strlen(h->target));
	if (h->prefix) {
		out->script_name = arena_strndup(a, h->url, h->url_len - 1);
		out->path_info = path + h->url_len - 1;
	} else {
		out->script_name = h->url;
		out->path_info = "";
	}
	return out->script_name ? ROUTE_OK : ROUTE_NOMEM;
}
