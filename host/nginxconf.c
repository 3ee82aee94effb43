/*
 * nginxconf.c: `warmcgi --nginx` prints the nginx configuration that
 * fronts a warmcgi configuration the way DESIGN.md ("Front ends") expects:
 *
 *   - an upstream for the socket with kept-alive connections (keepalive
 *     and fastcgi_keep_conn on), or for a pool every host without them
 *     (a drained host closes its idle connections, and nginx never sends
 *     a POST again), and at server level the stock
 *     fastcgi_params plus REQUEST_START and an empty HTTP_PROXY, the
 *     limits that match the config (body size, header size, timeouts
 *     longer than the longest a request can take), and Strict-Transport-
 *     Security on nginx's own answers too;
 *   - one location per handler, in an order that makes nginx pick the
 *     handler warmcgi would pick (warmcgi: the first match in file order;
 *     nginx: exact, then the longest prefix, then regular expressions in
 *     order): exact urls are `location =`, prefixes `location ^~` (holding
 *     a copy of each earlier regex handler that may match there, since
 *     that one wins in warmcgi), static_files urls `location ~`; a handler
 *     that an earlier one hides entirely is left out with a comment;
 *   - static handlers served by nginx itself: alias (static_files through
 *     an internal location, so that the file's extension gives the type),
 *     the same types as mime.c, expires and Cache-Control public from
 *     expiration, gzip under warmcgi's rules, add_header for http_header
 *     lines, the refusals of route.c and static.c (dot segments,
 *     directories, symlinks), upload and secure; a static handler nginx
 *     cannot express (a '$' in a path or header) stays with warmcgi;
 *   - an optional response cache, commented out, that keeps requests with
 *     Authorization out of it in both directions;
 *   - for a pool of hosts (upstream_servers, or --upstream): every server
 *     in the upstream with max_fails and fail_timeout, a short
 *     fastcgi_connect_timeout, and fastcgi_next_upstream error timeout,
 *     which nginx applies to a request not yet sent whatever its method,
 *     and to a request sent only when its method is idempotent (not
 *     POST, LOCK, PATCH: no non_idempotent); static handlers stay with
 *     warmcgi, since the files are on the hosts.
 *
 * One function per block, so that new blocks (keep-alive upstreams,
 * several hosts) slot in. Called by main.c; prints, changes nothing.
 */
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf.h"
#include "gzip.h"
#include "mime.h"
#include "nginxconf.h"

#define UPSTREAM	"warmcgi"
#define INTERNAL	"/.warmcgi/"	/* static_files: + NAME + the file */
#define TIMEOUT_MARGIN_S 5	/* beyond the longest a request can take */

/* Indentation: four spaces per level. */
static void
ind(FILE *out, int depth)
{
	fprintf(out, "%*s", depth * 4, "");
}

/* nginx sizes: bytes with a k or m suffix where exact. */
static void
print_size(FILE *out, long long v)
{
	if (v > 0 && v % (1 << 20) == 0)
		fprintf(out, "%lldm", v >> 20);
	else if (v > 0 && v % (1 << 10) == 0)
		fprintf(out, "%lldk", v >> 10);
	else
		fprintf(out, "%lld", v);
}

/*
 * Returns 1 if s can be written as an nginx string: no control character,
 * and no '$' where nginx would read a variable (interp set).
 */
static int
expressible(const char *s, int interp)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (interp && *s == '$'))
			return 0;
	return 1;
}

/*
 * Prints s for the inside of a double-quoted nginx string: nginx's parser
 * turns \\ into \ and \" into ", so s arrives as written.
 */
static void
print_inner(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		fputc(*s, out);
	}
}

/* Prints s between double quotes. */
static void
print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	print_inner(out, s);
	fputc('"', out);
}

/* Prints s bare when nginx reads it as one word, else quoted. */
static void
print_word(FILE *out, const char *s)
{
	if (*s != '\0' && strpbrk(s, " \t;{}\"'#\\$") == NULL)
		fputs(s, out);
	else
		print_quoted(out, s);
}

/* Prints a directory with one '/' after it. */
static void
print_dir_slash(FILE *out, const char *dir)
{
	print_inner(out, dir);
	if (dir[0] == '\0' || dir[strlen(dir) - 1] != '/')
		fputc('/', out);
}

/* Seconds nginx waits for warmcgi: longer than any request can take. */
static long long
timeout_s(const struct limits *l)
{
	return (l->pending_timeout_ms + l->request_timeout_ms +
	    l->deadline_grace_ms + 999) / 1000 + TIMEOUT_MARGIN_S;
}

/* The address nginx connects to. */
static void
print_server_address(FILE *out, const struct conf *c)
{
	const char	*colon;

	if (!c->listen_is_tcp) {
		fprintf(out, "unix:%s", c->listen);
		return;
	}
	/* A wildcard address is reached on the loopback. */
	colon = strrchr(c->listen, ':');
	if (colon == c->listen || strncmp(c->listen, "0.0.0.0:", 8) == 0 ||
	    strncmp(c->listen, "*:", 2) == 0)
		fprintf(out, "127.0.0.1%s", colon);
	else if (strncmp(c->listen, "[::]:", 5) == 0)
		fprintf(out, "[::1]%s", colon);
	else
		fputs(c->listen, out);
}

/*
 * Idle kept-alive connections per nginx worker process. A warmcgi worker
 * watches its idle connections in its epoll set beside the listening
 * socket and never waits on one (worker.c), so they cost it a descriptor
 * each and pin nothing; nginx reuses the most recently released one,
 * whose worker has just become free. With fewer than the requests nginx
 * has in flight, it closes most connections after one response (2
 * workers, 16 clients: keepalive 8 gave 1.75x the rate of a connection
 * per request, 16 2.2x, 32 2.4x). A worker keeps at most 64 (MAX_KEPT in
 * worker.c): 16 per worker keeps up to 4 nginx worker processes within
 * that.
 */
static long long
keepalive_conns(const struct conf *c)
{
	long long	 n = c->workers * 16;

	return n < 32 ? 32 : n > 4096 ? 4096 : n;
}

/* A duration as nginx reads it: "10s", or "1500ms". */
static void
print_duration(FILE *out, long long ms)
{
	if (ms % 1000 == 0)
		fprintf(out, "%llds", ms / 1000);
	else
		fprintf(out, "%lldms", ms);
}

/* The upstream of a pool: every host, and when nginx gives one up. */
static void
print_pool(FILE *out, const struct conf *c)
{
	size_t	 i;

	fputs("# A pool of warmcgi hosts. A host that fails to connect or to "
	    "answer\n# (fastcgi_next_upstream below) upstream_max_fails "
	    "times within\n# upstream_fail_timeout is left out for "
	    "upstream_fail_timeout, then\n# tried again: a host that was "
	    "drained (warmcgi --drain) or down is used\n# again once it "
	    "accepts connections.\n", out);
	fprintf(out, "upstream %s {\n", UPSTREAM);
	for (i = 0; i < c->nupstreams; i++) {
		ind(out, 1);
		fprintf(out, "server %s max_fails=%lld fail_timeout=%llds;\n",
		    c->upstreams[i], c->upstream_max_fails,
		    c->upstream_fail_timeout_s);
	}
	fputs("}\n\n", out);
}

/* The upstream every fastcgi_pass names. */
static void
print_upstream(FILE *out, const struct conf *c)
{
	if (c->nupstreams > 0) {
		print_pool(out, c);
		return;
	}
	fputs("# Kept-alive FastCGI connections (fastcgi_keep_conn on below): "
	    "a warmcgi\n# worker never waits on an idle one, so keepalive "
	    "may exceed workers.\n", out);
	fprintf(out, "upstream %s {\n", UPSTREAM);
	ind(out, 1);
	fputs("server ", out);
	print_server_address(out, c);
	fputs(";\n", out);
	ind(out, 1);
	fprintf(out, "keepalive %lld;\n}\n\n", keepalive_conns(c));
}

/*
 * Strict-Transport-Security on what nginx answers itself (static files,
 * its own errors) and not twice on what warmcgi answers (warmcgi adds it,
 * or passes a handler's own).
 */
static void
print_hsts_map(FILE *out, const struct conf *c)
{
	if (c->hsts[0] == '\0')
		return;
	if (!expressible(c->hsts, 1)) {
		fputs("# hsts holds a '$': nginx cannot add it to its own "
		    "answers.\n\n", out);
		return;
	}
	fputs("# hsts: Strict-Transport-Security on every answer; warmcgi "
	    "adds it to its own.\n", out);
	fputs("map $upstream_http_strict_transport_security $warmcgi_hsts "
	    "{\n", out);
	ind(out, 1);
	fputs("\"\" ", out);
	print_quoted(out, c->hsts);
	fputs(";\n", out);
	ind(out, 1);
	fputs("default \"\";\n}\n\n", out);
}

/*
 * The optional cache: its zone and the Authorization switch, commented
 * out. A '#' right before a word marks a line to uncomment.
 */
static void
print_cache_zone(FILE *out)
{
	fputs("# Optional response cache (see fastcgi_cache in the server "
	    "block): uncomment\n# these two lines too. A request that "
	    "carries Authorization neither uses\n# nor fills it.\n", out);
	fputs("#fastcgi_cache_path /var/cache/nginx/warmcgi levels=1:2 "
	    "keys_zone=warmcgi:10m max_size=1g inactive=60m;\n", out);
	fputs("#map $http_authorization $warmcgi_no_cache { \"\" 0; "
	    "default 1; }\n\n", out);
}

static long long
max_header_bytes(const struct conf *c)
{
	long long	 v = c->limits.max_header_bytes;
	size_t		 i;

	for (i = 0; i < c->nhandlers; i++)
		if (c->handlers[i].limits.max_header_bytes > v)
			v = c->handlers[i].limits.max_header_bytes;
	return v;
}

/* listen, names and the limits of [app]. */
static void
print_server_settings(FILE *out, const struct conf *c, const char *listen)
{
	long long	 hb;

	fprintf(out, "    listen %s;\n", listen);
	fputs("    server_name _;\n", out);
	fputs("    # max_request_size (a handler's own in its location).\n",
	    out);
	fputs("    client_max_body_size ", out);
	print_size(out, c->limits.max_request_bytes);
	fputs(";\n", out);
	/* Room for "Name: " and CRLF, so that warmcgi's own limit decides. */
	hb = (max_header_bytes(c) + 1024 + 1023) / 1024 * 1024;
	fputs("    # One header line must fit a buffer: max_header_size plus "
	    "its name.\n", out);
	fputs("    large_client_header_buffers 4 ", out);
	print_size(out, hb);
	fputs(";\n", out);
	if (c->hsts[0] != '\0' && expressible(c->hsts, 1))
		fputs("    add_header Strict-Transport-Security $warmcgi_hsts "
		    "always;\n", out);
}

/* mime.c's table, for the files nginx serves. */
static void
print_types(FILE *out)
{
	const struct mime_entry *t;
	size_t		 n, i, j;

	t = mime_table(&n);
	fputs("\n    # The file types warmcgi uses (text gets charset=utf-8 "
	    "in static locations).\n    types {\n", out);
	for (i = 0; i < n; i++) {
		/* One line per type, with all its extensions. */
		for (j = 0; j < i; j++)
			if (strcmp(t[j].content_type, t[i].content_type) == 0)
				break;
		if (j < i)
			continue;
		fprintf(out, "        %.*s", (int)mime_bare_len(
		    t[i].content_type), t[i].content_type);
		for (j = i; j < n; j++)
			if (strcmp(t[j].content_type, t[i].content_type) == 0)
				fprintf(out, " %s", t[j].ext);
		fputs(";\n", out);
	}
	fputs("    }\n    default_type " MIME_DEFAULT ";\n", out);
}

/* What every location that passes to warmcgi inherits. */
static void
print_fastcgi_settings(FILE *out, const struct conf *c)
{
	long long	 hb = c->limits.max_response_header_bytes + 4096;

	fputs("\n    # FastCGI to warmcgi: every location below that passes "
	    "inherits these.\n", out);
	fputs("    include fastcgi_params;\n", out);
	fputs("    # When the request reached nginx: pending_timeout (503) "
	    "counts from it.\n", out);
	fputs("    fastcgi_param REQUEST_START $msec;\n", out);
	fputs("    # httpoxy: a client's Proxy: header must never become "
	    "HTTP_PROXY.\n", out);
	fputs("    fastcgi_param HTTP_PROXY \"\";\n", out);
	/*
	 * Not for a pool: a host being drained closes its idle connections,
	 * and nginx does not send a POST again when the connection it was
	 * just written to closes (a GET it does).
	 */
	fprintf(out, "    fastcgi_keep_conn %s;\n",
	    c->nupstreams > 0 ? "off" : "on");
	fputs("    # Longer than pending_timeout + request_timeout + "
	    "deadline_grace: warmcgi\n    # always answers first (a "
	    "handler's own in its location).\n", out);
	fprintf(out, "    fastcgi_read_timeout %llds;\n",
	    timeout_s(&c->limits));
	fprintf(out, "    fastcgi_send_timeout %llds;\n",
	    timeout_s(&c->limits));
	if (c->nupstreams > 0) {
		fputs("    # A pool: a host that does not take the connection "
		    "within this is down\n    # or overloaded; the next "
		    "one is tried (nothing was sent yet).\n", out);
		fputs("    fastcgi_connect_timeout ", out);
		print_duration(out, c->upstream_connect_timeout_ms);
		fputs(";\n", out);
		fputs("    # The next host gets a request that could not be "
		    "sent (refused: the\n    # host is drained, stopped or "
		    "down), and an idempotent one (GET, HEAD,\n    # PUT, "
		    "DELETE, ...) whose host failed while serving it. nginx "
		    "does not\n    # send a POST, LOCK or PATCH twice: "
		    "non_idempotent is left out on purpose.\n", out);
		fputs("    fastcgi_next_upstream error timeout;\n", out);
	}
	fputs("    # Room for max_response_header_size and the fields "
	    "warmcgi adds.\n", out);
	fputs("    fastcgi_buffer_size ", out);
	print_size(out, hb);
	fputs(";\n    fastcgi_buffers 8 ", out);
	print_size(out, hb);
	fputs(";\n", out);
}

/* The optional cache, commented out. */
static void
print_cache_settings(FILE *out)
{
	fputs("\n    # Optional response cache: uncomment with the two lines "
	    "above the server\n"
	    "    # block. nginx stores what a handler marks cacheable "
	    "(Cache-Control:\n"
	    "    # public, max-age=N, or Expires) and honours its Vary; never "
	    "a response\n"
	    "    # with Set-Cookie or Cache-Control private, no-cache or "
	    "no-store, and never\n"
	    "    # for a request with Authorization: that goes to warmcgi and "
	    "is not stored.\n", out);
	fputs("    #fastcgi_cache warmcgi;\n", out);
	fputs("    #fastcgi_cache_key $scheme$request_method$host"
	    "$request_uri;\n", out);
	fputs("    #fastcgi_cache_bypass $warmcgi_no_cache;\n", out);
	fputs("    #fastcgi_no_cache $warmcgi_no_cache;\n", out);
	fputs("    #fastcgi_cache_lock on;\n", out);
	fputs("    #add_header X-Cache-Status $upstream_cache_status "
	    "always;\n", out);
}

/*
 * Returns NULL if nginx can serve static handler h itself, else why not
 * ("" for a handler that is not static).
 */
static const char *
why_not_nginx(const struct conf *c, const struct handler *h)
{
	size_t	 i;

	if (!conf_is_static(h))
		return "";
	if (c->nupstreams > 0)
		return "a pool (upstream_servers): the files are on the "
		    "warmcgi hosts";
	if (!expressible(h->target, 1) || strstr(h->target, "\\E") != NULL ||
	    strstr(c->dir, "\\E") != NULL)
		return "its directory holds characters nginx cannot take";
	if (h->kind == HANDLER_STATIC_FILES &&
	    (!expressible(h->static_files, 1) || !expressible(h->url, 0) ||
	    strchr(h->static_files, '?') != NULL))
		return "static_files holds characters nginx cannot take";
	if (h->upload != NULL && !expressible(h->upload, 0))
		return "upload holds characters nginx cannot take";
	if (h->mime_type != NULL && !expressible(h->mime_type, 0))
		return "mime_type holds characters nginx cannot take";
	for (i = 0; i < h->nheaders; i++)
		if (!expressible(h->headers[i].value, 1))
			return "an http_header value holds a '$'";
	return NULL;
}

/* A handler's limits where they differ from [app]'s (inherited). */
static void
print_limits(FILE *out, const struct conf *c, const struct handler *h,
    int depth)
{
	if (h->limits.max_request_bytes != c->limits.max_request_bytes) {
		ind(out, depth);
		fputs("client_max_body_size ", out);
		print_size(out, h->limits.max_request_bytes);
		fputs(";\n", out);
	}
	if (timeout_s(&h->limits) != timeout_s(&c->limits)) {
		ind(out, depth);
		fprintf(out, "fastcgi_read_timeout %llds;\n",
		    timeout_s(&h->limits));
		ind(out, depth);
		fprintf(out, "fastcgi_send_timeout %llds;\n",
		    timeout_s(&h->limits));
	}
}

/* A location that passes to warmcgi. */
static void
print_fastcgi_body(FILE *out, const struct conf *c, const struct handler *h,
    int depth)
{
	const char	*why = why_not_nginx(c, h);

	if (why != NULL && *why != '\0') {
		ind(out, depth);
		fprintf(out, "# Served by warmcgi: %s.\n", why);
	}
	print_limits(out, c, h, depth);
	if (h->stream) {
		ind(out, depth);
		fputs("fastcgi_buffering off;\n", out);
	}
	ind(out, depth);
	fputs("fastcgi_pass " UPSTREAM ";\n", out);
}

/*
 * secure = always|never: nginx's $https is "on" over TLS, "" otherwise.
 * 301 for GET and HEAD, 308 for other methods (no `if` tests two things,
 * so a variable collects both answers).
 */
static void
print_secure(FILE *out, const struct handler *h, int depth)
{
	const char	*scheme = h->secure == SECURE_ALWAYS ? "https" : "http";

	if (h->secure == SECURE_OPTIONAL)
		return;
	ind(out, depth);
	fprintf(out, "# secure = %s\n", h->secure == SECURE_ALWAYS ?
	    "always" : "never");
	ind(out, depth);
	fputs("set $warmcgi_redirect \"\";\n", out);
	ind(out, depth);
	fprintf(out, "if ($https %s \"on\") { set $warmcgi_redirect a; }\n",
	    h->secure == SECURE_ALWAYS ? "!=" : "=");
	ind(out, depth);
	fputs("if ($request_method !~ \"^(?:GET|HEAD)$\") {\n", out);
	ind(out, depth + 1);
	fputs("set $warmcgi_redirect \"${warmcgi_redirect}b\";\n", out);
	ind(out, depth);
	fputs("}\n", out);
	ind(out, depth);
	fprintf(out, "if ($warmcgi_redirect = a) { return 301 "
	    "%s://$host$request_uri; }\n", scheme);
	ind(out, depth);
	fprintf(out, "if ($warmcgi_redirect = ab) { return 308 "
	    "%s://$host$request_uri; }\n", scheme);
}

/*
 * The refusals of route.c and static.c: below the directory, a segment
 * that starts with '.' or a backslash anywhere; a directory; a symlink
 * (warmcgi follows those that stay inside, nginx none). Then upload,
 * which matches the path as static_files writes it: the file's path
 * itself when that is absolute, else the part after the config's
 * directory.
 */
static void
print_refusals(FILE *out, const struct conf *c, const struct handler *h,
    int depth)
{
	ind(out, depth);
	fputs("if ($request_filename ~ \"^\\\\Q", out);
	print_dir_slash(out, h->target);
	print_inner(out, "\\E(?:(?:.*/)?\\.|.*\\\\)");
	fputs("\") { return 404; }\n", out);
	ind(out, depth);
	fputs("if (-d $request_filename) { return 404; }\n", out);
	ind(out, depth);
	fputs("disable_symlinks on from=", out);
	print_word(out, h->target);
	fputs(";\n", out);
	if (h->upload == NULL)
		return;
	ind(out, depth);
	fputs("if ($request_filename !~ \"", out);
	print_inner(out, "^");
	if (h->static_files[0] != '/') {
		print_inner(out, "\\Q");
		print_dir_slash(out, c->dir);
		print_inner(out, "\\E");
	}
	print_inner(out, "(?:");
	print_inner(out, h->upload);
	print_inner(out, ")$");
	fputs("\") { return 404; }\n", out);
}

/* Prints the bare types of the table that pass test, each once. */
static void
print_table_types(FILE *out, int (*test)(const char *, size_t))
{
	const struct mime_entry *t;
	size_t		 n, i, j, bl;

	t = mime_table(&n);
	for (i = 0; i < n; i++) {
		bl = mime_bare_len(t[i].content_type);
		/* text/html is always in nginx's lists. */
		if (!test(t[i].content_type, bl) ||
		    strncmp(t[i].content_type, "text/html", bl) == 0)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(t[j].content_type, t[i].content_type) == 0)
				break;
		if (j == i)
			fprintf(out, " %.*s", (int)bl, t[i].content_type);
	}
}

/* Types that mime.c sends with "; charset=utf-8". */
static int
has_charset(const char *ct, size_t bl)
{
	return ct[bl] != '\0';
}

/*
 * How nginx sends static files, set once: off here, on in the static
 * locations (nginx must not touch what warmcgi sends).
 */
static void
print_static_settings(FILE *out, const struct conf *c)
{
	fputs("\n    # Static files: gzip under warmcgi's rules and "
	    "charset=utf-8 for text, both\n    # on in the static locations "
	    "only.\n", out);
	fputs("    gzip off;\n", out);
	fprintf(out, "    gzip_comp_level %lld;\n", c->compress_level);
	fprintf(out, "    gzip_min_length %lld;\n",
	    c->limits.compress_min_bytes);
	fputs("    gzip_http_version 1.0;\n    gzip_proxied any;\n"
	    "    gzip_vary on;\n    gzip_types", out);
	print_table_types(out, gzip_type_ok);
	fputs(";\n    charset off;\n    charset_types", out);
	print_table_types(out, has_charset);
	fputs(";\n", out);
}

/* gzip for the files of static handler h, under warmcgi's rules. */
static void
print_gzip(FILE *out, const struct conf *c, const struct handler *h,
    int depth)
{
	if (!h->limits.compress)
		return;
	ind(out, depth);
	fputs("gzip on;\n", out);
	if (h->limits.compress_min_bytes != c->limits.compress_min_bytes) {
		ind(out, depth);
		fprintf(out, "gzip_min_length %lld;\n",
		    h->limits.compress_min_bytes);
	}
	if (h->mime_type != NULL &&
	    gzip_type_ok(h->mime_type, strlen(h->mime_type))) {
		ind(out, depth);
		fputs("gzip_types ", out);
		print_word(out, h->mime_type);
		fputs(";\n", out);
	}
}

/* Content-Type: the table with its charset, or the handler's mime_type. */
static void
print_static_types(FILE *out, const struct handler *h, int depth)
{
	ind(out, depth);
	if (h->mime_type == NULL) {
		fputs("charset utf-8;\n", out);
		return;
	}
	fputs("types { }\n", out);
	ind(out, depth);
	fputs("default_type ", out);
	print_word(out, h->mime_type);
	fputs(";\n", out);
}

/* Cache headers, http_header lines and HSTS. */
static void
print_static_headers(FILE *out, const struct conf *c,
    const struct handler *h, int depth)
{
	size_t	 i;
	int	 own_hsts = 0;

	ind(out, depth);
	fprintf(out, "expires %llds;\n", h->limits.expiration_s);
	ind(out, depth);
	fputs("add_header Cache-Control public;\n", out);
	for (i = 0; i < h->nheaders; i++) {
		ind(out, depth);
		fputs("add_header ", out);
		print_word(out, h->headers[i].name);
		fputc(' ', out);
		print_quoted(out, h->headers[i].value);
		fputs(" always;\n", out);
		if (strcasecmp(h->headers[i].name,
		    "Strict-Transport-Security") == 0)
			own_hsts = 1;
	}
	/* An add_header here hides the server's: repeat HSTS. */
	if (c->hsts[0] != '\0' && expressible(c->hsts, 1) && !own_hsts) {
		ind(out, depth);
		fputs("add_header Strict-Transport-Security $warmcgi_hsts "
		    "always;\n", out);
	}
}

/*
 * The file of a static_files handler, as a URI under its internal
 * location: the captures are saved first (any `if` with a regex, even one
 * that does not match, empties $1..$9), then the template fills them in.
 */
static void
print_files_rewrite(FILE *out, const struct handler *h, int depth)
{
	const char	*t = h->static_files + h->files_root_len;
	unsigned	 seen = 0, g;
	char		 one[2] = { 0, 0 };

	for (; *t != '\0'; t++) {
		if (*t != '\\' || *++t == '\\')
			continue;
		g = (unsigned)(*t - '0');
		if (!(seen & (1U << g))) {
			ind(out, depth);
			fprintf(out, "set $warmcgi_%u $%u;\n", g, g);
		}
		seen |= 1U << g;
	}
	ind(out, depth);
	fprintf(out, "rewrite ^ \"" INTERNAL "%s/", h->name);
	for (t = h->static_files + h->files_root_len; *t != '\0'; t++) {
		if (*t == '\\' && t[1] == '\\') {
			print_inner(out, "\\");
			t++;
		} else if (*t == '\\') {
			fprintf(out, "${warmcgi_%c}", *++t);
		} else {
			one[0] = *t;
			print_inner(out, one);
		}
	}
	fputs("\" last;\n", out);
}

/*
 * Where nginx serves the files of static handler h: under its url for
 * static_dir, under an internal URI for static_files, so that nginx, like
 * warmcgi, takes the type from the file's extension.
 */
static void
print_static_body(FILE *out, const struct conf *c, const struct handler *h,
    int depth)
{
	if (h->kind == HANDLER_STATIC_FILES) {
		ind(out, depth);
		fputs("internal;\n", out);
	}
	ind(out, depth);
	fputs("alias \"", out);
	print_dir_slash(out, h->target);
	fputs("\";\n", out);
	print_secure(out, h, depth);
	print_refusals(out, c, h, depth);
	print_static_types(out, h, depth);
	print_static_headers(out, c, h, depth);
	print_gzip(out, c, h, depth);
}

/* The inside of handler h's location. */
static void
print_body(FILE *out, const struct conf *c, const struct handler *h,
    int depth)
{
	if (why_not_nginx(c, h) != NULL)
		print_fastcgi_body(out, c, h, depth);
	else if (h->kind == HANDLER_STATIC_FILES)
		print_files_rewrite(out, h, depth);
	else
		print_static_body(out, c, h, depth);
}

/* "# [handler NAME] key = value" above a location. */
static void
print_title(FILE *out, const struct handler *h, int depth)
{
	static const char *const keys[] = {
		[HANDLER_MODULE] = "module",
		[HANDLER_DIR] = "dir",
		[HANDLER_CGI] = "cgi",
		[HANDLER_STATIC] = "static_dir",
		[HANDLER_STATIC_FILES] = "static_files",
		[HANDLER_STATUS] = "status_path",
		[HANDLER_PING] = "ping_path",
		[HANDLER_KIND_UNSET] = "?",
	};

	ind(out, depth);
	if (h->kind == HANDLER_STATUS || h->kind == HANDLER_PING) {
		fprintf(out, "# [app] %s = %s (answered by warmcgi)\n",
		    keys[h->kind], h->url);
		return;
	}
	fprintf(out, "# [handler %s] %s = %s\n", h->name, keys[h->kind],
	    h->kind == HANDLER_STATIC_FILES ? h->static_files : h->target);
}

/* A static_files handler's location: its url as a regex. */
static void
print_regex_location(FILE *out, const struct conf *c,
    const struct handler *h, int depth)
{
	print_title(out, h, depth);
	ind(out, depth);
	fputs("location ~ \"^(?:", out);
	print_inner(out, h->url);
	fputs(")$\" {\n", out);
	print_body(out, c, h, depth + 1);
	ind(out, depth);
	fputs("}\n", out);
}

/*
 * Returns the earlier handler that matches every path handler i does, so
 * that warmcgi never reaches i, or NULL.
 */
static const struct handler *
hidden_by(const struct conf *c, size_t i)
{
	const struct handler *h = &c->handlers[i], *e;
	pcre2_match_data *md;
	size_t		 j;
	int		 rc;

	if (h->kind == HANDLER_STATIC_FILES)
		return NULL;
	for (j = 0; j < i; j++) {
		e = &c->handlers[j];
		if (e->kind == HANDLER_STATIC_FILES) {
			if (h->prefix)
				continue;
			md = pcre2_match_data_create_from_pattern(e->url_re,
			    NULL);
			if (md == NULL)
				continue;
			rc = pcre2_match(e->url_re, (PCRE2_SPTR)h->url,
			    h->url_len, 0, 0, md, NULL);
			pcre2_match_data_free(md);
			if (rc >= 0)
				return e;
		} else if (e->prefix ? strncmp(h->url, e->url,
		    e->url_len) == 0 : !h->prefix && strcmp(h->url,
		    e->url) == 0) {
			return e;
		}
	}
	return NULL;
}

/*
 * Returns the length of the literal text every match of a regex starts
 * with ("/img/" for "/img/(.*)\\.png"), 0 when the regex has an
 * alternative at its top level or starts with a special character.
 */
static size_t
literal_prefix(const char *re)
{
	size_t	 i, n = strcspn(re, "\\.[]()*+?{}|^$");
	int	 depth = 0, in_class = 0;

	for (i = 0; re[i] != '\0'; i++) {
		if (re[i] == '\\' && re[i + 1] != '\0')
			i++;
		else if (in_class)
			in_class = re[i] != ']';
		else if (re[i] == '[')
			in_class = 1;
		else if (re[i] == '(')
			depth++;
		else if (re[i] == ')')
			depth--;
		else if (re[i] == '|' && depth == 0)
			return 0;
	}
	/* A quantifier makes the character before it optional. */
	if (n > 0 && re[n] != '\0' && strchr("*+?{", re[n]) != NULL)
		n--;
	return n;
}

/*
 * Returns 1 if static_files handler e may match a path under prefix p:
 * unless their literal beginnings differ.
 */
static int
may_overlap(const struct handler *e, const struct handler *p)
{
	size_t	 n = literal_prefix(e->url);

	if (n > p->url_len)
		n = p->url_len;
	return strncmp(e->url, p->url, n) == 0;
}

/*
 * A prefix handler's location. A regex handler that comes earlier wins in
 * warmcgi, but `^~` stops nginx's regex search: its copy goes inside,
 * where nginx looks first, before a nested location of the prefix itself.
 */
static void
print_prefix_location(FILE *out, const struct conf *c, size_t i)
{
	const struct handler *h = &c->handlers[i];
	size_t		 j;
	int		 nested = 0;

	print_title(out, h, 1);
	fputs("    location ^~ ", out);
	print_word(out, h->url);
	fputs(" {\n", out);
	for (j = 0; j < i; j++) {
		if (c->handlers[j].kind != HANDLER_STATIC_FILES ||
		    !may_overlap(&c->handlers[j], h))
			continue;
		if (!nested)
			fputs("        # Earlier handlers that warmcgi tries "
			    "first.\n", out);
		print_regex_location(out, c, &c->handlers[j], 2);
		nested = 1;
	}
	if (nested) {
		fputs("        location ", out);
		print_word(out, h->url);
		fputs(" {\n", out);
		print_body(out, c, h, 3);
		fputs("        }\n", out);
	} else {
		print_body(out, c, h, 2);
	}
	fputs("    }\n", out);
}

/* Handler i's location, in the order warmcgi tries them. */
static void
print_handler(FILE *out, const struct conf *c, size_t i)
{
	const struct handler *h = &c->handlers[i], *e;

	fputc('\n', out);
	if ((e = hidden_by(c, i)) != NULL) {
		fprintf(out, "    # [handler %s] is never reached: [handler "
		    "%s] comes first and matches\n    # every url it does.\n",
		    h->name, e->name);
		return;
	}
	if (h->kind == HANDLER_STATIC_FILES) {
		print_regex_location(out, c, h, 1);
		if (why_not_nginx(c, h) == NULL) {
			fprintf(out, "    location ^~ " INTERNAL "%s/ {\n",
			    h->name);
			print_static_body(out, c, h, 2);
			fputs("    }\n", out);
		}
		return;
	}
	if (h->prefix) {
		print_prefix_location(out, c, i);
		return;
	}
	print_title(out, h, 1);
	fputs("    location = ", out);
	print_word(out, h->url);
	fputs(" {\n", out);
	print_body(out, c, h, 2);
	fputs("    }\n", out);
}

/* What no handler matches: warmcgi answers 404 and logs it. */
static void
print_catch_all(FILE *out, const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->nhandlers; i++)
		if (c->handlers[i].prefix && strcmp(c->handlers[i].url,
		    "/") == 0 && hidden_by(c, i) == NULL)
			return;
	fputs("\n    # No handler: warmcgi answers 404 (and logs it).\n", out);
	fputs("    location / {\n        fastcgi_pass " UPSTREAM ";\n    }\n",
	    out);
}

/*
 * Prints the nginx configuration for c to out: blocks for the http { }
 * context and one server block listening on listen ("80",
 * "127.0.0.1:8080", "unix:/path").
 */
void
nginxconf_print(FILE *out, const struct conf *c, const char *listen)
{
	size_t	 i;

	fprintf(out, "# nginx configuration for warmcgi, generated by "
	    "`warmcgi --nginx -c %s`.\n", c->file);
	if (c->nupstreams > 0)
		fputs("# Put it inside the http { } block of nginx.conf on the "
		    "machine that runs\n# nginx; listen_allow on every warmcgi "
		    "host must name its address.\n# Including two of these "
		    "files in one nginx: rename \"warmcgi\" in the\n# "
		    "upstream, the maps and the cache.\n\n", out);
	else
		fputs("# Put it inside the http { } block of nginx.conf. "
		    "nginx's user must be able to\n# connect to the socket: "
		    "listen_group names its group. Including two of these\n# "
		    "files in one nginx: rename \"warmcgi\" in the upstream, "
		    "the maps and the cache.\n\n", out);
	print_upstream(out, c);
	print_hsts_map(out, c);
	print_cache_zone(out);
	fputs("server {\n", out);
	print_server_settings(out, c, listen);
	print_types(out);
	print_static_settings(out, c);
	print_fastcgi_settings(out, c);
	print_cache_settings(out);
	for (i = 0; i < c->nhandlers; i++)
		print_handler(out, c, i);
	print_catch_all(out, c);
	fputs("}\n", out);
}
