/*
 * pipeline.c: the one path every request takes. A transport (worker.c for
 * FastCGI, cli.c for --request and CGI mode) fills a struct req and calls
 * pipeline_serve(), which:
 *
 *   1. parses the parameters and routes the decoded path (route.c);
 *   2. enforces the limits: header field size (400), unknown path (404),
 *      the handler's `secure` (301/308 to the other scheme, secure.c),
 *      time spent waiting for a worker (503), body size (413);
 *   3. reads the body, starts the deadlines (deadline.c) and builds the
 *      handler's environment (req.c);
 *   4. runs the handler: a module's main() (module.c), a classic CGI
 *      process (cgi.c) or a static file (static.c);
 *   5. parses the CGI response (cgiresp.c): 502 when malformed or its
 *      header is too large, 500 when the body is too large; serves a local
 *      redirect internally; turns an NPH status line into the status;
 *   6. sends it: the handler's http_header lines, gzip (gzip.c), Vary,
 *      HSTS, Content-Length; HEAD without a body;
 *   7. logs the handler's stderr and the access record (log.c).
 *
 * One struct pipeline per process holds what outlives a request: the
 * loaded modules, the capture streams, the deflate stream, the reusable
 * buffers and the per-request arena.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cgi.h"
#include "cgiresp.h"
#include "crash.h"
#include "deadline.h"
#include "gzip.h"
#include "log.h"
#include "module.h"
#include "pipeline.h"
#include "acl.h"
#include "route.h"
#include "scoreboard.h"
#include "sdk.h"
#include "secure.h"
#include "static.h"
#include "status.h"
#include "transport.h"
#include "warmcgi.h"

#define MAX_REDIRECTS	10
#define ARENA_SIZE	(64 << 10)
#define BODY_KEEP	(4 << 20)

/* A module of a `dir =` handler, found by path. */
struct dropin {
	char		*path;
	struct module	*m;
};

struct pipeline {
	const struct conf *conf;
	char		 version_id[96];	/* CURRENT_VERSION_ID */
	char		 instance_id[INSTANCE_ID_LEN + 1];
	uint64_t	 id_bits;	/* random part of request ids */
	uint32_t	 counter;	/* requests served */
	char		**fixed;	/* this process's env pairs */
	size_t		 nfixed;
	struct module	**mods;		/* per handler, for `module =` */
	struct dropin	*dropins;
	size_t		 ndropins;
	struct capture	*cap;
	struct gzip	*gz;
	struct arena	*arena;
	struct req_layout *layout;	/* of the last environment built */
	struct buf	 head;		/* response header block */
	struct buf	 zbuf;		/* gzip output */
	struct buf	 out;		/* a CGI process's stdout */
	struct buf	 err;		/* a CGI process's partial line */
	struct buf	 file;		/* a static file */
	size_t		 out_max;	/* collect no more stdout than this */
	int		 out_overflow;
	char		*hsts;		/* "Strict-Transport-Security: ..." */
	int		 recycle;	/* end this worker after the request */
	struct scoreboard *sb;		/* counters and status; or NULL */
	int		*rows;		/* per handler: its scoreboard row */
};

static const struct cgiresp_field html_type[] = {
	{ "Content-Type", 12, "text/html; charset=utf-8", 24 },
};

/*
 * Creates the serving state for conf; minor is the minor part of
 * CURRENT_VERSION_ID for this load of the app. Returns NULL when out of
 * memory. No module is loaded yet.
 */
struct pipeline *
pipeline_new(const struct conf *conf, long long minor)
{
	struct pipeline	*pl;

	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return NULL;
	pl->conf = conf;
	snprintf(pl->version_id, sizeof(pl->version_id), "%s.%lld",
	    conf->version, minor);
	pl->mods = calloc(conf->nhandlers + 1, sizeof(*pl->mods));
	pl->arena = arena_new(ARENA_SIZE);
	pl->layout = req_layout_new();
	if (conf->hsts[0] != '\0' && asprintf(&pl->hsts,
	    "Strict-Transport-Security: %s\r\n", conf->hsts) == -1)
		pl->hsts = NULL;
	if (pl->mods == NULL || pl->arena == NULL) {
		pipeline_free(pl);
		return NULL;
	}
	buf_init(&pl->head);
	buf_init(&pl->zbuf);
	buf_init(&pl->out);
	buf_init(&pl->err);
	buf_init(&pl->file);
	return pl;
}

/*
 * Loads every `module =` handler now (preload = on, in the master before
 * the workers fork). Returns 0, or -1 with "FILE:LINE: problem" lines in
 * errors.
 */
int
pipeline_preload(struct pipeline *pl, struct buf *errors)
{
	const struct handler *h;
	char		 err[1024];
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < pl->conf->nhandlers; i++) {
		h = &pl->conf->handlers[i];
		if (h->kind != HANDLER_MODULE || pl->mods[i] != NULL)
			continue;
		if ((pl->mods[i] = module_load(h->target, err, sizeof(err))) ==
		    NULL) {
			buf_printf(errors, "%s:%d: %s\n", pl->conf->file,
			    h->target_line, err);
			rc = -1;
		}
	}
	return rc;
}

static char *
pair(const char *name, const char *value)
{
	char	*s;

	if (asprintf(&s, "%s=%s", name, value) == -1)
		return NULL;
	return s;
}

/*
 * Prepares the calling process to serve: a fresh INSTANCE_ID, the
 * environment every request shares, stdio capture, the watchdog and the
 * crash handlers. Call once, in the process that serves (a worker after
 * fork). Returns 0 or -1 (logged).
 */
int
pipeline_start(struct pipeline *pl)
{
	const struct conf *c = pl->conf;
	unsigned char	 rnd[INSTANCE_ID_LEN / 2 + 8];
	size_t		 i, n = 0;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_error("getrandom");
		return -1;
	}
	for (i = 0; i < INSTANCE_ID_LEN / 2; i++)
		snprintf(pl->instance_id + 2 * i, 3, "%02x", rnd[i]);
	memcpy(&pl->id_bits, rnd + INSTANCE_ID_LEN / 2, 8);
	log_set_instance(pl->instance_id, pl->version_id);
	if ((pl->fixed = calloc(c->nenv + 6, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < c->nenv; i++)
		pl->fixed[n++] = c->env[i].pair;
	pl->fixed[n++] = "GATEWAY_INTERFACE=CGI/1.1";
	pl->fixed[n++] = "SERVER_SOFTWARE=warmcgi/" PACKAGE_VERSION;
	pl->fixed[n++] = pair("CURRENT_VERSION_ID", pl->version_id);
	pl->fixed[n++] = pair("INSTANCE_ID", pl->instance_id);
	if (c->auth_domain[0] != '\0')
		pl->fixed[n++] = pair("AUTH_DOMAIN", c->auth_domain);
	pl->nfixed = n;
	for (i = 0; i < n; i++)
		if (pl->fixed[i] == NULL)
			return -1;
	if ((pl->gz = gzip_new((int)c->compress_level)) == NULL) {
		log_errorx("gzip: out of memory");
		return -1;
	}
	if ((pl->cap = capture_new()) == NULL) {
		log_error("stdio capture");
		return -1;
	}
	if (crash_init(pl->hsts ? pl->hsts : "", pl->hsts ?
	    strlen(pl->hsts) : 0) == -1 || deadline_init() == -1) {
		log_error("watchdog");
		return -1;
	}
	return 0;
}

/*
 * Returns 1 when this worker should end after its request (a drop-in
 * module it loaded was replaced on disk).
 */
int
pipeline_recycle_wanted(const struct pipeline *pl)
{
	return pl->recycle;
}

/*
 * Returns CURRENT_VERSION_ID.
 */
const char *
pipeline_version(const struct pipeline *pl)
{
	return pl->version_id;
}

/*
 * Returns this process's INSTANCE_ID ("" before pipeline_start()).
 */
const char *
pipeline_instance(const struct pipeline *pl)
{
	return pl->instance_id;
}

/*
 * Returns the config the pipeline serves.
 */
const struct conf *
pipeline_conf(const struct pipeline *pl)
{
	return pl->conf;
}

/*
 * Makes the pipeline count its requests in sb and serve status_path from
 * it (master, before forking). Returns 0 or -1 (out of memory).
 */
int
pipeline_set_scoreboard(struct pipeline *pl, struct scoreboard *sb)
{
	free(pl->rows);
	if ((pl->rows = scoreboard_rows(sb, pl->conf)) == NULL)
		return -1;
	pl->sb = sb;
	return 0;
}

/*
 * Releases the pipeline and unloads its modules.
 */
void
pipeline_free(struct pipeline *pl)
{
	size_t	 i;

	if (pl == NULL)
		return;
	for (i = 0; pl->mods != NULL && i < pl->conf->nhandlers; i++)
		module_free(pl->mods[i]);
	for (i = 0; i < pl->ndropins; i++) {
		module_free(pl->dropins[i].m);
		free(pl->dropins[i].path);
	}
	free(pl->dropins);
	free(pl->mods);
	free(pl->rows);
	free(pl->hsts);
	arena_free(pl->arena);
	req_layout_free(pl->layout);
	buf_free(&pl->head);
	buf_free(&pl->zbuf);
	buf_free(&pl->out);
	buf_free(&pl->err);
	buf_free(&pl->file);
	free(pl);
}

/* Appends a decimal number (no printf on the hot path). */
static void
put_num(struct buf *b, unsigned long long v)
{
	char	 tmp[24];
	int	 i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

/*
 * 1 if f's name is the string literal s, ignoring case; the lengths are
 * compared first, without strlen().
 */
#define NAME_IS(f, s)	((f)->name_len == sizeof(s) - 1 &&		\
			    strncasecmp((f)->name, s, sizeof(s) - 1) == 0)

/* Hop-by-hop and recomputed fields a handler may not pass through. */
static int
field_dropped(const struct cgiresp_field *f)
{
	static const struct {
		const char	*name;
		size_t		 len;
	} names[] = {
#define N(s)	{ s, sizeof(s) - 1 }
		N("Content-Length"), N("Connection"), N("Transfer-Encoding"),
		N("Keep-Alive"), N("Proxy-Connection"), N("TE"), N("Trailer"),
		N("Upgrade"),
#undef N
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f->name_len == names[i].len &&
		    strncasecmp(f->name, names[i].name, names[i].len) == 0)
			return 1;
	return 0;
}

#define find_field(resp, s)	find_field_n(resp, s, sizeof(s) - 1)

static const struct cgiresp_field *
find_field_n(const struct resp *resp, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < resp->nfields; i++)
		if (resp->fields[i].name_len == len &&
		    strncasecmp(resp->fields[i].name, name, len) == 0)
			return &resp->fields[i];
	return NULL;
}

static int
status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static void
put_field(struct buf *b, const char *name, size_t nl, const char *value,
    size_t vl)
{
	buf_append(b, name, nl);
	buf_append(b, ": ", 2);
	buf_append(b, value, vl);
	buf_append(b, "\r\n", 2);
}

/* What compression did to a response, for its header block. */
#define SEND_GZIPPED	0x1	/* body compressed: Content-Encoding */
#define SEND_WEAK_ETAG	0x2	/* another representation: W/ ETag */
#define SEND_VARY_AE	0x4	/* Vary: Accept-Encoding */
#define SEND_VARY_UA	0x8	/* Vary: User-Agent (forced gzip) */
#define SEND_STREAMING	0x10	/* no Content-Length */
#define SEND_VARY	(SEND_VARY_AE | SEND_VARY_UA)

/* Appends a handler's Vary with the field names compression needs. */
static void
put_vary(struct buf *b, const struct cgiresp_field *f, int how)
{
	static const struct {
		int		 bit;
		const char	*name;
	} names[] = {
		{ SEND_VARY_AE, "Accept-Encoding" },
		{ SEND_VARY_UA, "User-Agent" },
	};
	const char	*v = f ? f->value : "";
	size_t		 n = f ? f->value_len : 0, i;
	int		 first = n == 0;

	buf_puts(b, "Vary: ");
	buf_append(b, v, n);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(how & names[i].bit) || gzip_vary_has(v, n, names[i].name))
			continue;
		buf_puts(b, first ? "" : ", ");
		buf_puts(b, names[i].name);
		first = 0;
	}
	buf_puts(b, "\r\n");
}

/*
 * Builds the header block of resp in pl->head and writes it. how holds
 * SEND_* bits: what compression did, and streaming (no Content-Length:
 * the body's end is the end of the response). Returns 0, or -1 when the
 * client is gone.
 */
static int
send_head(struct pipeline *pl, struct req *r, const struct resp *resp,
    int how, size_t clen)
{
	struct buf	*b = &pl->head;
	const struct cgiresp_field *f;
	size_t		 i;
	int		 have_hsts = 0;

	buf_reset(b);
	buf_puts(b, r->t->style == TRANSPORT_HTTP ? "HTTP/1.1 " : "Status: ");
	put_num(b, (unsigned long long)resp->status);
	buf_putc(b, ' ');
	if (resp->reason != NULL)
		buf_append(b, resp->reason, resp->reason_len);
	else
		buf_puts(b, cgiresp_reason(resp->status));
	buf_puts(b, "\r\n");
	for (i = 0; i < resp->nfields; i++) {
		f = &resp->fields[i];
		if (field_dropped(f) || ((how & SEND_VARY) &&
		    NAME_IS(f, "Vary")))
			continue;
		if (NAME_IS(f, "Strict-Transport-Security"))
			have_hsts = 1;
		if ((how & SEND_WEAK_ETAG) && NAME_IS(f, "ETag") &&
		    f->value_len > 0 && f->value[0] == '"') {
			/* Another representation: a weak validator. */
			buf_puts(b, "ETag: W/");
			buf_append(b, f->value, f->value_len);
			buf_puts(b, "\r\n");
			continue;
		}
		put_field(b, f->name, f->name_len, f->value, f->value_len);
	}
	if (how & SEND_VARY)
		put_vary(b, find_field(resp, "Vary"), how);
	if (how & SEND_GZIPPED)
		buf_puts(b, "Content-Encoding: gzip\r\n");
	if (pl->hsts != NULL && !have_hsts)
		buf_puts(b, pl->hsts);
	if ((how & SEND_STREAMING) && r->t->style == TRANSPORT_CGI &&
	    find_field(resp, "X-Accel-Buffering") == NULL)
		buf_puts(b, "X-Accel-Buffering: no\r\n");  /* nginx: pass on */
	if (!(how & SEND_STREAMING) && status_has_body(resp->status)) {
		buf_puts(b, "Content-Length: ");
		put_num(b, clen);
		buf_puts(b, "\r\n");
	}
	buf_puts(b, "\r\n");
	r->status = resp->status;
	r->t->head_sent = 1;
	if (b->data == NULL || r->t->write(r->t, b->data, b->len) == -1)
		return -1;
	return 0;
}

static void
client_gone(struct req *r)
{
	if (r->canceled)
		return;
	r->canceled = 1;
	r->status = 499;
	log_req(r, LOG_LEVEL_WARNING, "request canceled");
}

/*
 * Returns resp with the handler's http_header lines added, those whose
 * name the response does not carry already (a handler's own field wins);
 * resp itself when there are none. The copy lives in r's arena.
 */
static const struct resp *
add_conf_headers(struct req *r, const struct resp *resp, struct resp *copy)
{
	const struct handler *h = r->route.h;
	struct cgiresp_field *f;
	const struct conf_header *ch;
	size_t		 i, n;

	if (h == NULL || h->nheaders == 0)
		return resp;
	if ((f = arena_calloc(r->arena, resp->nfields + h->nheaders,
	    sizeof(*f))) == NULL)
		return resp;
	memcpy(f, resp->fields, resp->nfields * sizeof(*f));
	n = resp->nfields;
	for (i = 0; i < h->nheaders; i++) {
		ch = &h->headers[i];
		if (find_field_n(resp, ch->name, ch->name_len) != NULL)
			continue;
		f[n].name = ch->name;
		f[n].name_len = ch->name_len;
		f[n].value = ch->value;
		f[n].value_len = ch->value_len;
		n++;
	}
	*copy = *resp;
	copy->fields = f;
	copy->nfields = n;
	return copy;
}

/*
 * Decides compression for resp: the SEND_* bits. A 304 gets the Vary and
 * the weak ETag the 200 would have had for this client.
 */
static int
compression(struct req *r, const struct limits *lim, const struct resp *resp)
{
	const struct cgiresp_field *ct, *ce;
	struct gzip_facts gf;
	int		 how = 0;

	ct = find_field(resp, "Content-Type");
	ce = find_field(resp, "Content-Encoding");
	memset(&gf, 0, sizeof(gf));
	gf.accept_encoding = r->accept_encoding;
	gf.user_agent = r->user_agent;
	gf.content_type = ct ? ct->value : resp->rep_type;
	gf.content_type_len = ct ? ct->value_len : resp->rep_type ?
	    strlen(resp->rep_type) : 0;
	gf.encoded = ce != NULL;
	gf.status = resp->status;
	gf.body_len = resp->body_len;
	if (resp->status == 304 && resp->rep_type != NULL) {
		gf.status = 200;
		gf.body_len = resp->rep_len;
	}
	gf.min_len = (size_t)lim->compress_min_bytes;
	gf.enabled = (int)lim->compress && !resp->no_gzip;
	if (gzip_varies(&gf))
		how |= SEND_VARY_AE;
	if (gzip_wanted(&gf)) {
		how |= SEND_GZIPPED | SEND_WEAK_ETAG;
		/* Forced by User-Agent: the answer depends on it too. */
		if (!(how & SEND_VARY_AE))
			how |= SEND_VARY_AE | SEND_VARY_UA;
	}
	if (gf.status != resp->status)
		how &= ~SEND_GZIPPED;
	return how;
}

/*
 * Sends resp with the handler's http_header lines, gzip, Vary, HSTS and
 * Content-Length applied; the body is left out for HEAD and for statuses
 * without one. Returns 0, or -1 when the client is gone (the request is
 * then logged as canceled, 499).
 */
int
pipeline_send(struct pipeline *pl, struct req *r, const struct resp *resp)
{
	const struct limits *lim = r->route.h ? &r->route.h->limits :
	    &pl->conf->limits;
	struct resp	 copy;
	const char	*body;
	size_t		 len;
	int		 how;

	resp = add_conf_headers(r, resp, &copy);
	body = resp->body;
	len = resp->body_len;
	how = compression(r, lim, resp);
	if (how & SEND_GZIPPED) {
		if (gzip_compress(pl->gz, body, len, &pl->zbuf) == 0) {
			body = pl->zbuf.data;
			len = pl->zbuf.len;
		} else {
			how &= ~(SEND_GZIPPED | SEND_WEAK_ETAG);
		}
	}
	if (send_head(pl, r, resp, how, len) == -1)
		goto gone;
	if (!r->is_head && status_has_body(resp->status) && len > 0) {
		if (r->t->write(r->t, body, len) == -1)
			goto gone;
		r->bytes = (long long)len;
	}
	buf_trim(&pl->zbuf, BODY_KEEP);
	return 0;
gone:
	client_gone(r);
	return -1;
}

/*
 * Sends only the header block of resp, for a response whose body follows
 * as it is produced (stream = on): no Content-Length and no gzip. Returns
 * 0 or -1 (client gone).
 */
int
pipeline_send_head(struct pipeline *pl, struct req *r,
    const struct resp *resp, int streaming)
{
	struct resp	 copy;

	resp = add_conf_headers(r, resp, &copy);
	if (send_head(pl, r, resp, streaming ? SEND_STREAMING : 0,
	    resp->body_len) == -1) {
		client_gone(r);
		return -1;
	}
	return 0;
}

/*
 * Answers with a status of the host's own: a small HTML page, and extra
 * (a field such as Allow or Location) unless NULL.
 */
static void
send_status(struct pipeline *pl, struct req *r, int status, int empty,
    const struct cgiresp_field *extra)
{
	struct cgiresp_field f[2];
	struct resp	 resp;
	const char	*reason = cgiresp_reason(status);
	char		*page;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	f[0] = html_type[0];
	if (extra != NULL)
		f[1] = *extra;
	resp.fields = f;
	resp.nfields = extra ? 2 : 1;
	resp.no_gzip = 1;
	if (!empty && (page = arena_printf(r->arena, "<!DOCTYPE html>\n"
	    "<html><head><title>%d %s</title></head><body><h1>%s</h1>"
	    "</body></html>\n", status, reason, reason)) != NULL) {
		resp.body = page;
		resp.body_len = strlen(page);
	}
	pipeline_send(pl, r, &resp);
}

/* Answers with a status of the host's own: a small HTML page. */
static void
send_error(struct pipeline *pl, struct req *r, int status, int empty)
{
	send_status(pl, r, status, empty, NULL);
}

/* "NAME=value" in the arena; a NULL value gives "NAME" (unset it). */
static char *
apair(struct arena *a, const char *name, const char *value)
{
	size_t	 nl = strlen(name), vl = value ? strlen(value) : 0;
	char	*p;

	if ((p = arena_alloc(a, nl + vl + 2)) == NULL)
		return NULL;
	memcpy(p, name, nl);
	if (value == NULL) {
		p[nl] = '\0';
		return p;
	}
	p[nl] = '=';
	memcpy(p + nl + 1, value, vl + 1);
	return p;
}

/* Builds r->env for the handler r->route found. */
static int
build_env(struct pipeline *pl, struct req *r)
{
	struct req_env_extra x;
	const char	*docroot, *pi = r->route.path_info;
	char		**p, num[24];
	size_t		 n;
	int		 i = sizeof(num) - 1;
	long long	 v = r->soft_deadline_ms;

	if ((p = arena_alloc(r->arena, (pl->nfixed + 16) * sizeof(*p))) ==
	    NULL)
		return -1;
	memcpy(p, pl->fixed, pl->nfixed * sizeof(*p));
	n = pl->nfixed;
	num[i] = '\0';
	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && i > 0);
	p[n++] = apair(r->arena, "REQUEST_LOG_ID", r->id);
	p[n++] = apair(r->arena, "REQUEST_DEADLINE", num + i);
	if (r->script_prefix != NULL)
		p[n++] = arena_printf(r->arena, "SCRIPT_NAME=%s%s",
		    r->script_prefix, r->route.script_name);
	else
		p[n++] = apair(r->arena, "SCRIPT_NAME", r->route.script_name);
	p[n++] = apair(r->arena, "PATH_INFO", *pi ? pi : NULL);
	docroot = r->document_root;
	if (*pi != '\0' && docroot != NULL && *docroot != '\0')
		p[n++] = arena_printf(r->arena, "PATH_TRANSLATED=%s%s",
		    docroot, pi);
	else
		p[n++] = apair(r->arena, "PATH_TRANSLATED", NULL);
	p[n++] = apair(r->arena, "SCRIPT_FILENAME", r->route.file);
	/* RFC 3875 4.1.9: the address may stand in for the host name. */
	if ((r->remote_host == NULL || *r->remote_host == '\0') &&
	    r->remote_addr != NULL && *r->remote_addr != '\0')
		p[n++] = apair(r->arena, "REMOTE_HOST", r->remote_addr);
	if (r->redirects > 0) {
		/* A local redirect is a new GET without a body. */
		p[n++] = apair(r->arena, "REQUEST_METHOD", "GET");
		p[n++] = apair(r->arena, "QUERY_STRING", r->query);
		p[n++] = apair(r->arena, "REQUEST_URI", arena_printf(r->arena,
		    "%s%s%s", r->path, *r->query ? "?" : "", r->query));
		p[n++] = apair(r->arena, "CONTENT_LENGTH", NULL);
		p[n++] = apair(r->arena, "CONTENT_TYPE", NULL);
	}
	x.pairs = p;
	x.npairs = n;
	while (n > pl->nfixed)
		if (p[--n] == NULL)
			return -1;
	return req_build_env(r, &x, pl->layout) == REQ_OK ? 0 : -1;
}

/*
 * Returns the module of a drop-in path, loading it if needed, or NULL with
 * *status: 0 when there is no NAME.so (the executable NAME runs instead),
 * 403, or 500. Before a file is loaded it must be a regular file whose
 * real path is inside the directory, as for programs. A module replaced on
 * disk since it was loaded is loaded again, beside the old code, and
 * serves this request; the worker then ends, so that a fresh one serves
 * the next requests (unloading code that globals, threads or atexit()
 * handlers may still point into is not safe).
 */
static struct module *
dropin_module(struct pipeline *pl, struct req *r, const char *path,
    int *status)
{
	struct dropin	*d = NULL;
	struct module	*m;
	char		 err[1024];
	size_t		 i;

	for (i = 0; i < pl->ndropins && d == NULL; i++)
		if (strcmp(pl->dropins[i].path, path) == 0)
			d = &pl->dropins[i];
	if (d != NULL && !module_changed(d->m))
		return d->m;
	switch (cgi_check(path, r->route.h->target, 0, NULL)) {
	case CGI_OK:
		break;
	case CGI_NOT_FOUND:
		*status = 0;
		return NULL;
	default:
		*status = 403;
		return NULL;
	}
	*status = 500;
	if (d != NULL) {
		pl->recycle = 1;
		if ((m = module_reload(path, err, sizeof(err))) == NULL) {
			log_req(r, LOG_LEVEL_ERROR, "%s changed on disk and "
			    "does not load: %s", path, err);
			return NULL;
		}
		log_req(r, LOG_LEVEL_INFO, "%s changed on disk; serving the "
		    "new file, this worker is replaced after this request",
		    path);
		/* The old code stays mapped until the worker exits. */
		d->m = m;
		return m;
	}
	d = reallocarray(pl->dropins, pl->ndropins + 1, sizeof(*d));
	if (d == NULL)
		return NULL;
	pl->dropins = d;
	if ((d[pl->ndropins].m = module_load(path, err, sizeof(err))) ==
	    NULL) {
		log_req(r, LOG_LEVEL_ERROR, "%s", err);
		return NULL;
	}
	if ((d[pl->ndropins].path = strdup(path)) == NULL) {
		module_free(d[pl->ndropins].m);
		return NULL;
	}
	return d[pl->ndropins++].m;
}

/* Finds the module of a `module =` handler, loading it the first time. */
static struct module *
route_module(struct pipeline *pl, struct req *r)
{
	const struct handler *h = r->route.h;
	char		 err[1024];

	if (pl->mods[h->index] == NULL &&
	    (pl->mods[h->index] = module_load(h->target, err, sizeof(err))) ==
	    NULL)
		log_req(r, LOG_LEVEL_ERROR, "%s", err);
	return pl->mods[h->index];
}

/* Calls module m. Returns 0, or -1 when it could not be set up. */
static int
run_module(struct pipeline *pl, struct req *r, const struct limits *lim,
    struct module *m, struct buf **out, int *overflow)
{
	int	 status;

	if (m == NULL)
		return -1;
	if (capture_begin(pl->cap, r, r->body, r->body_len,
	    (size_t)(lim->max_response_bytes +
	    lim->max_response_header_bytes)) == -1) {
		log_req(r, LOG_LEVEL_ERROR, "stdio capture failed");
		return -1;
	}
	module_call(m, r->env, &status);
	capture_end(pl->cap);
	if (capture_recycle_wanted(pl->cap))
		pl->recycle = 1;	/* it leaks descriptors */
	*out = capture_out(pl->cap);
	*overflow = capture_overflowed(pl->cap);
	return 0;
}

/* Serves a static file. */
static void
run_static(struct pipeline *pl, struct req *r)
{
	static const struct cgiresp_field allow = {
		"Allow", 5, "GET, HEAD", 9
	};
	struct resp	 resp;

	switch (static_prepare(r, r->route.h, &pl->file, &resp)) {
	case STATIC_OK:
		pipeline_send(pl, r, &resp);
		break;
	case STATIC_NOT_FOUND:
		send_error(pl, r, 404, 0);
		break;
	case STATIC_BAD_METHOD:
		send_status(pl, r, 405, 0, &allow);
		break;
	case STATIC_ERROR:
		send_error(pl, r, 500, 0);
		break;
	}
	buf_trim(&pl->file, BODY_KEEP);
}

/*
 * Answers the built-in status_path (JSON, or Prometheus text with
 * ?format=prometheus; only to clients in status_allow) and ping_path.
 */
static void
run_builtin(struct pipeline *pl, struct req *r)
{
	static const char nostore[] = "no-store";
	struct cgiresp_field f[2];
	struct status_snap snap;
	struct resp	 resp;
	struct buf	 body;
	int		 prom;

	memset(&resp, 0, sizeof(resp));
	resp.status = 200;
	resp.fields = f;
	resp.nfields = 2;
	f[1] = (struct cgiresp_field){ "Cache-Control", 13, nostore,
	    sizeof(nostore) - 1 };
	if (r->route.h->kind == HANDLER_PING) {
		f[0] = (struct cgiresp_field){ "Content-Type", 12,
		    "text/plain", 10 };
		resp.body = "pong\n";
		resp.body_len = 5;
		pipeline_send(pl, r, &resp);
		return;
	}
	if (!acl_match_text(pl->conf->status_allow, r->remote_addr)) {
		log_req(r, LOG_LEVEL_WARNING, "status page refused to %s "
		    "(status_allow)", r->remote_addr ? r->remote_addr : "?");
		send_error(pl, r, 403, 0);
		return;
	}
	buf_init(&body);
	if (pl->sb == NULL ||
	    status_collect(pl->sb, log_now_us() / 1000, &snap) == -1) {
		send_error(pl, r, 500, 0);
		return;
	}
	prom = status_wants_prometheus(r->query);
	if (prom)
		status_format_prometheus(&snap, &body);
	else
		status_format_json(&snap, &body);
	status_snap_free(&snap);
	f[0] = prom ? (struct cgiresp_field){ "Content-Type", 12,
	    "text/plain; version=0.0.4; charset=utf-8", 40 } :
	    (struct cgiresp_field){ "Content-Type", 12, "application/json",
	    16 };
	resp.body = body.data ? body.data : "";
	resp.body_len = body.len;
	pipeline_send(pl, r, &resp);
	buf_free(&body);
}

/* Moves r to the target of a local redirect. Returns 0 or -1. */
static int
redirect(struct req *r, const struct cgiresp_field *loc)
{
	const char	*q = memchr(loc->value, '?', loc->value_len);
	size_t		 pl = q ? (size_t)(q - loc->value) : loc->value_len;
	char		*path;

	if ((path = arena_alloc(r->arena, pl + 1)) == NULL)
		return -1;
	req_url_decode(path, loc->value, pl);
	r->path = path;
	r->query = q ? arena_strndup(r->arena, q + 1,
	    loc->value_len - pl - 1) : "";
	r->method = "GET";
	r->is_head = 0;
	r->body = NULL;
	r->body_len = 0;
	r->redirects++;
	return r->query ? 0 : -1;
}

/*
 * Turns a handler's output into the response, or follows its local
 * redirect. Returns 1 to route again, 0 when the request is answered.
 */
static int
respond(struct pipeline *pl, struct req *r, const struct limits *lim,
    const struct buf *out, int overflow)
{
	struct cgiresp	 cr;
	struct resp	 resp;
	enum cgiresp_err err;

	if (deadline_canceled()) {
		client_gone(r);
		return 0;
	}
	if (overflow) {
		log_req(r, LOG_LEVEL_ERROR, "response larger than "
		    "max_response_size (%lld bytes)", lim->max_response_bytes);
		send_error(pl, r, 500, 1);
		return 0;
	}
	err = cgiresp_parse(r->arena, out->data ? out->data : "", out->len,
	    (size_t)lim->max_response_header_bytes, &cr);
	if (err == CGIRESP_HEADER_TOO_LARGE) {
		log_req(r, LOG_LEVEL_ERROR, "response header block larger "
		    "than max_response_header_size (%lld bytes)",
		    lim->max_response_header_bytes);
		send_error(pl, r, 502, 0);
		return 0;
	}
	if (err != CGIRESP_OK) {
		log_req(r, LOG_LEVEL_ERROR, "malformed CGI response: %s",
		    out->len == 0 ? "no output" : err == CGIRESP_INCOMPLETE ?
		    "no blank line after the header" : cr.error ? cr.error :
		    "out of memory");
		send_error(pl, r, 502, 0);
		return 0;
	}
	if (cr.body_len > (size_t)lim->max_response_bytes) {
		log_req(r, LOG_LEVEL_ERROR, "response larger than "
		    "max_response_size (%lld bytes)", lim->max_response_bytes);
		send_error(pl, r, 500, 1);
		return 0;
	}
	if (cgiresp_is_local_redirect(&cr)) {
		if (r->redirects >= MAX_REDIRECTS) {
			log_req(r, LOG_LEVEL_ERROR, "more than %d local "
			    "redirects", MAX_REDIRECTS);
			send_error(pl, r, 500, 0);
			return 0;
		}
		if (redirect(r, cr.location) == -1) {
			send_error(pl, r, 500, 0);
			return 0;
		}
		return 1;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = cr.status ? cr.status : cr.location ? 302 : 200;
	resp.reason = cr.reason;
	resp.reason_len = cr.reason_len;
	resp.fields = cr.fields;
	resp.nfields = cr.nfields;
	resp.body = cr.body;
	resp.body_len = cr.body_len;
	pipeline_send(pl, r, &resp);
	return 0;
}

/* Buffered CGI output: everything into pl->out, up to pl->out_max. */
static int
collect(void *ctx, const char *p, size_t n)
{
	struct pipeline	*pl = ctx;

	if (pl->out_overflow || n > pl->out_max - pl->out.len) {
		pl->out_overflow = 1;
		return 0;	/* keep reading, so the script can finish */
	}
	if (buf_append(&pl->out, p, n) == -1)
		pl->out_overflow = 1;
	return 0;
}

/*
 * A CGI response sent as it is produced (stream = on, or an nph- program):
 * the header block is collected and parsed, the head goes out at once
 * (no Content-Length, no gzip, X-Accel-Buffering: no for nginx) and the
 * body follows chunk by chunk. A header block that is malformed, or a
 * local redirect, stays in pl->out for respond() to deal with once the
 * program has ended, exactly as when buffered.
 */
struct stream {
	struct pipeline	*pl;
	struct req	*r;
	const struct limits *lim;
	int		 started;	/* head sent: the body passes through */
	int		 frozen;	/* header malformed: collect no more */
	int		 hold;		/* local redirect: collect to the end */
};

/* Writes body bytes to the client. Returns 0, or -1 to stop the program. */
static int
stream_body(struct stream *s, const char *p, size_t n)
{
	struct req	*r = s->r;
	struct pollfd	 pfd;
	long long	 left;
	int		 rc;

	if (n == 0 || r->is_head || !status_has_body(r->status))
		return 0;
	/*
	 * Wait for room in the connection, but not past the hard deadline:
	 * a client that stopped reading must not hold the worker forever.
	 */
	pfd.fd = r->t->conn_fd;
	pfd.events = POLLOUT;
	while (pfd.fd >= 0) {
		left = r->hard_deadline_ms - deadline_now_ms();
		if (left <= 0 || (rc = poll(&pfd, 1, (int)left)) == 0) {
			log_req(r, LOG_LEVEL_ERROR, "client not reading the "
			    "streamed response at the hard deadline");
			return -1;
		}
		if (rc > 0 || errno != EINTR)
			break;
	}
	if (r->t->write(r->t, p, n) == -1 || r->t->flush(r->t) == -1) {
		client_gone(r);
		return -1;
	}
	r->bytes += (long long)n;
	return 0;
}

static int
stream_write(void *ctx, const char *p, size_t n)
{
	struct stream	*s = ctx;
	struct pipeline	*pl = s->pl;
	struct cgiresp	 cr, lr;
	struct resp	 resp;
	enum cgiresp_err err;

	if (s->started)
		return stream_body(s, p, n);
	if (s->frozen)
		return 0;
	collect(pl, p, n);
	if (s->hold)
		return 0;
	err = cgiresp_parse(s->r->arena, pl->out.data, pl->out.len,
	    (size_t)s->lim->max_response_header_bytes, &cr);
	if (err == CGIRESP_INCOMPLETE)
		return 0;
	if (err != CGIRESP_OK) {
		s->frozen = 1;	/* respond() says what is wrong */
		return 0;
	}
	lr = cr;
	lr.body_len = 0;	/* whether a body follows is known at the end */
	if (cgiresp_is_local_redirect(&lr)) {
		s->hold = 1;
		return 0;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = cr.status ? cr.status : cr.location ? 302 : 200;
	resp.reason = cr.reason;
	resp.reason_len = cr.reason_len;
	resp.fields = cr.fields;
	resp.nfields = cr.nfields;
	s->started = 1;
	if (pipeline_send_head(pl, s->r, &resp, 1) == -1)
		return -1;
	return stream_body(s, cr.body, cr.body_len);
}

/*
 * Runs a classic CGI program, confined to dir unless dir is NULL. Returns
 * the HTTP status to answer with if the host answers itself, 0 when *out
 * holds the program's output for respond(), or -1 when the response has
 * been streamed (or the client is gone).
 */
static int
run_cgi(struct pipeline *pl, struct req *r, const struct limits *lim,
    const char *file, const char *dir, struct buf **out, int *overflow)
{
	struct stream	 st = { pl, r, lim, 0, 0, 0 };
	struct cgi_sink	 sink = { collect, pl };
	enum cgi_end	 end;

	if (r->route.h->stream || r->route.nph) {
		sink.write = stream_write;
		sink.ctx = &st;
	}
	buf_trim(&pl->out, BODY_KEEP);
	buf_reset(&pl->err);
	pl->out_overflow = 0;
	pl->out_max = (size_t)(lim->max_response_bytes +
	    lim->max_response_header_bytes);
	end = cgi_run(r, file, dir, &sink, &pl->err);
	*out = &pl->out;
	*overflow = pl->out_overflow;
	if (st.started) {
		if (end == CGI_OK || r->canceled)
			return -1;
		if (end == CGI_CANCELED && deadline_err() == WC_CANCELED) {
			client_gone(r);
			return -1;
		}
		/* Make the cut visible: no clean end of the response. */
		log_req(r, LOG_LEVEL_ERROR, "streamed response cut short");
		if (r->t->abort != NULL)
			r->t->abort(r->t);
		return -1;
	}
	switch (end) {
	case CGI_OK:
		return 0;
	case CGI_NOT_FOUND:
		return 404;
	case CGI_FORBIDDEN:
		return 403;
	case CGI_CANCELED:
		return 499;
	case CGI_DEADLINE:
	case CGI_ERROR:
		break;
	}
	return 500;
}

/*
 * A dir = handler: NAME.so as a module if it is there, else the executable
 * NAME as classic CGI. Returns as run_cgi() does.
 */
static int
run_dropin(struct pipeline *pl, struct req *r, const struct limits *lim,
    struct buf **out, int *overflow)
{
	struct module	*m;
	char		*exe;
	int		 status;

	if ((m = dropin_module(pl, r, r->route.file, &status)) != NULL)
		return run_module(pl, r, lim, m, out, overflow) == -1 ? 500 : 0;
	if (status != 0)
		return status;
	exe = arena_strndup(r->arena, r->route.file,
	    strlen(r->route.file) - 3);
	if (exe == NULL)
		return 500;
	r->route.file = exe;
	r->route.is_module = 0;
	if (build_env(pl, r) == -1)
		return 500;
	return run_cgi(pl, r, lim, exe, r->route.h->target, out, overflow);
}

/* Runs the routed handler; follows local redirects. */
static void
dispatch(struct pipeline *pl, struct req *r)
{
	const struct handler *h;
	struct buf	*out = NULL;
	enum route_err	 rerr;
	int		 overflow = 0, status;

	for (;;) {
		h = r->route.h;
		if (build_env(pl, r) == -1) {
			send_error(pl, r, 500, 0);
			return;
		}
		status = 0;
		if (conf_is_static(h)) {
			run_static(pl, r);
			return;
		}
		if (h->kind == HANDLER_STATUS || h->kind == HANDLER_PING) {
			run_builtin(pl, r);
			return;
		}
		switch (h->kind) {
		case HANDLER_DIR:
			status = run_dropin(pl, r, &h->limits, &out,
			    &overflow);
			break;
		case HANDLER_CGI:
			status = run_cgi(pl, r, &h->limits, r->route.file,
			    h->cgi_file ? NULL : h->target, &out, &overflow);
			break;
		default:
			if (run_module(pl, r, &h->limits, route_module(pl, r),
			    &out, &overflow) == -1)
				status = 500;
			break;
		}
		if (status == -1)
			return;
		if (status == 499) {
			client_gone(r);
			return;
		}
		if (status != 0) {
			send_error(pl, r, status, 0);
			return;
		}
		if (respond(pl, r, &h->limits, out, overflow) == 0)
			return;
		rerr = route_match(pl->conf, r->arena, r->path, &r->route);
		if (rerr != ROUTE_OK) {
			send_error(pl, r, rerr == ROUTE_NOMEM ? 500 : 404, 0);
			return;
		}
	}
}

/* Returns 1 if the request waited longer than pending_timeout. */
static int
waited_too_long(struct req *r, const struct limits *lim, long long *waited)
{
	const char	*s = r->request_start, *dot;
	long long	 ms, scale;

	if (s == NULL || lim->pending_timeout_ms <= 0)
		return 0;
	/* nginx's $msec: seconds, a dot, three digits of milliseconds. */
	for (ms = 0; *s >= '0' && *s <= '9' && ms < LLONG_MAX / 10000; s++)
		ms = ms * 10 + (*s - '0');
	ms *= 1000;
	if (*s == '.')
		for (dot = s + 1, scale = 100; *dot >= '0' && *dot <= '9' &&
		    scale > 0; dot++, scale /= 10)
			ms += (*dot - '0') * scale;
	*waited = r->start_us / 1000 - ms;
	return *waited > lim->pending_timeout_ms;
}

/* Checks the limits known before the body is read. Returns a status, or
 * 0 when the request may go on. */
static int
check_limits(struct req *r, enum route_err rerr, const struct limits *lim)
{
	const char	*cl;
	char		*end;
	long long	 waited;
	unsigned long long n;

	if (r->longest_header > (size_t)lim->max_header_bytes) {
		log_req(r, LOG_LEVEL_WARNING, "a request header field is "
		    "larger than max_header_size (%lld bytes)",
		    lim->max_header_bytes);
		return 400;
	}
	if (rerr == ROUTE_NOMEM)
		return 500;
	if (rerr != ROUTE_OK)
		return 404;
	if (waited_too_long(r, lim, &waited)) {
		log_req(r, LOG_LEVEL_WARNING, "request waited %lld ms for a "
		    "worker (pending_timeout %lld ms); shed", waited,
		    lim->pending_timeout_ms);
		return 503;
	}
	cl = r->content_length;
	if (cl != NULL && *cl != '\0') {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (*end != '\0' || errno != 0 || *cl == '-')
			return 400;
		if (n > (unsigned long long)lim->max_request_bytes) {
			log_req(r, LOG_LEVEL_WARNING, "request body of %llu "
			    "bytes is larger than max_request_size (%lld)", n,
			    lim->max_request_bytes);
			return 413;
		}
	}
	return 0;
}

/*
 * Answers the redirect the handler's `secure` asks for, if any. Returns 1
 * when the request is answered (redirected, or 400 when there is no host
 * name to redirect to), 0 when it goes on.
 */
static int
secure_redirect(struct pipeline *pl, struct req *r)
{
	struct cgiresp_field loc = { "Location", 8, NULL, 0 };
	struct secure_target t;
	int		 https;

	/* The default: no need to look for HTTPS among the parameters. */
	if (r->route.h->secure == SECURE_OPTIONAL)
		return 0;
	https = secure_is_https(req_param(r->params, "HTTPS"));
	if (!secure_redirect_wanted(r->route.h->secure, https))
		return 0;
	t.host = req_param(r->params, "HTTP_HOST");
	t.server_name = req_param(r->params, "SERVER_NAME");
	t.request_uri = req_param(r->params, "REQUEST_URI");
	t.path = r->path;
	t.query = r->query;
	if ((loc.value = secure_location(r->arena, !https, &t)) == NULL) {
		log_req(r, LOG_LEVEL_WARNING, "secure = %s: no host name to "
		    "redirect to", https ? "never" : "always");
		send_error(pl, r, 400, 0);
		return 1;
	}
	loc.value_len = strlen(loc.value);
	send_status(pl, r, secure_redirect_status(r->method), 0, &loc);
	return 1;
}

/*
 * Serves request r completely: on return the response has been sent
 * through r->t and ended with r->t->end (or the client is gone), and the
 * access record is written.
 * r->params, r->t and r->start_us must be set; the rest is filled here.
 */
void
pipeline_serve(struct pipeline *pl, struct req *r)
{
	const struct limits *lim;
	enum route_err	 rerr;
	int		 status, rc, row, late = 0;

	r->arena = pl->arena;
	r->end_us = 0;
	r->status = 0;
	r->bytes = 0;
	r->canceled = 0;
	r->redirects = 0;
	r->stderr_lines = 0;
	r->body = NULL;
	r->body_len = 0;
	r->t->head_sent = 0;
	if (++pl->counter == 0)
		pl->counter = 1;
	req_id_format(r->id, r->start_us, pl->id_bits, pl->counter);
	sdk_begin(r);
	req_parse(r, pl->layout);
	rerr = route_match(pl->conf, r->arena, r->path, &r->route);
	lim = r->route.h ? &r->route.h->limits : &pl->conf->limits;
	row = r->route.h && pl->rows ? pl->rows[r->route.h->index] : 0;
	scoreboard_begin(pl->sb, row, r->start_us);
	r->soft_deadline_ms = r->start_us / 1000 + lim->request_timeout_ms;
	r->hard_deadline_ms = r->soft_deadline_ms + lim->deadline_grace_ms;
	if ((status = check_limits(r, rerr, lim)) != 0) {
		send_error(pl, r, status, 0);
		goto done;
	}
	if (secure_redirect(pl, r))
		goto done;
	rc = r->t->read_body(r->t, (size_t)lim->max_request_bytes, &r->body,
	    &r->body_len);
	if (rc == 1) {
		send_error(pl, r, 413, 0);
		goto done;
	}
	if (rc == -1) {
		client_gone(r);
		goto done;
	}
	deadline_begin(r, r->t->conn_fd);
	dispatch(pl, r);
	late = deadline_err() == WC_DEADLINE_EXCEEDED;
	r->watched = deadline_end();
done:
	/*
	 * The response goes out before the accounting and the access record
	 * (the transport leaves r's parameters valid). Without an end (CGI
	 * mode, --request) it is already out.
	 */
	if (r->t->end != NULL)
		r->t->end(r->t, r);
	r->end_us = log_now_us();
	scoreboard_end(pl->sb, row, r->status, r->canceled, late, r->end_us);
	log_access(r);
	sdk_end();
	arena_reset(pl->arena);
}
