/*
 * secure.c: a handler's `secure` key, as App Engine's app.yaml has it.
 * `always` sends a plain HTTP request to the same URL over https, `never`
 * sends an https request to plain HTTP, `optional` serves both. Whether the
 * request came over TLS is what the front end says in the HTTPS parameter
 * (nginx's stock fastcgi_params send "HTTPS on" over TLS and nothing
 * otherwise). The redirect is 301 for GET and HEAD and 308 for other
 * methods, which keeps the method and the body (RFC 9110 15.4.9). Pure;
 * called by pipeline.c before the handler runs.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "secure.h"

/*
 * Returns 1 if the value of the HTTPS parameter (or NULL when absent)
 * means the request came over TLS: present, not empty and not "off".
 */
int
secure_is_https(const char *https)
{
	return https != NULL && *https != '\0' && strcasecmp(https, "off") != 0;
}

/*
 * Returns 1 if a handler with this `secure` value (enum handler_secure)
 * redirects a request that came over https (is_https 1) or not.
 */
int
secure_redirect_wanted(long long secure, int is_https)
{
	return (secure == SECURE_ALWAYS && !is_https) ||
	    (secure == SECURE_NEVER && is_https);
}

/*
 * Returns the status of the redirect for a method: 301 for GET and HEAD,
 * 308 (method and body kept) for the others.
 */
int
secure_redirect_status(const char *method)
{
	return method == NULL || strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0 ? 301 : 308;
}

/*
 * Returns the length of the host name in a Host value without its port,
 * or 0 if it is not a plain name, an IPv4 address or a bracketed IPv6
 * address (then no redirect can be built from it).
 */
static size_t
host_len(const char *h)
{
	size_t	 n;

	if (h == NULL)
		return 0;
	if (h[0] == '[') {
		n = 1 + strspn(h + 1, "0123456789abcdefABCDEF:.");
		if (h[n] != ']')
			return 0;
		n++;
	} else {
		for (n = 0; isalnum((unsigned char)h[n]) || h[n] == '-' ||
		    h[n] == '.'; n++)
			;
	}
	if (n == 0 || (h[n] != '\0' && h[n] != ':'))
		return 0;
	if (h[n] == ':' && strspn(h + n + 1, "0123456789") !=
	    strlen(h + n + 1))
		return 0;
	return n;
}

/* Appends s (n bytes), percent-encoding what a URL may not hold raw. */
static size_t
put_url(char *dst, const char *s, size_t n, const char *also)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	 c;
	size_t		 i, o = 0;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr(also, c) != NULL) {
			if (dst != NULL) {
				dst[o] = '%';
				dst[o + 1] = hex[c >> 4];
				dst[o + 2] = hex[c & 15];
			}
			o += 3;
		} else {
			if (dst != NULL)
				dst[o] = (char)c;
			o++;
		}
	}
	return o;
}

/* Writes the URL (or measures it, with dst NULL); returns its length. */
static size_t
build(char *dst, const char *scheme, const char *host, size_t hl,
    const struct secure_target *t)
{
	size_t	 n, sl = strlen(scheme);

	if (dst != NULL) {
		memcpy(dst, scheme, sl);
		memcpy(dst + sl, "://", 3);
		memcpy(dst + sl + 3, host, hl);
	}
	n = sl + 3 + hl;
	if (t->request_uri != NULL && t->request_uri[0] == '/')
		return n + put_url(dst ? dst + n : NULL, t->request_uri,
		    strlen(t->request_uri), "\"<>\\^`{|}");
	n += put_url(dst ? dst + n : NULL, t->path, strlen(t->path),
	    "\"<>\\^`{|}%?#");
	if (t->query != NULL && *t->query != '\0') {
		if (dst != NULL)
			dst[n] = '?';
		n++;
		n += put_url(dst ? dst + n : NULL, t->query,
		    strlen(t->query), "\"<>\\^`{|}#");
	}
	return n;
}

/*
 * Builds the URL of the same request over https (to_https 1) or plain
 * HTTP: the host from HTTP_HOST or else SERVER_NAME, without its port
 * (the default port of the scheme is meant), then REQUEST_URI as it
 * came, or else the path and the query. Bytes a Location must not hold
 * raw are percent-encoded. Returns the URL in arena a, or NULL when there
 * is no usable host name or no memory.
 */
char *
secure_location(struct arena *a, int to_https, const struct secure_target *t)
{
	const char	*host = t->host, *scheme = to_https ? "https" : "http";
	size_t		 hl, n;
	char		*s;

	if ((hl = host_len(host)) == 0) {
		host = t->server_name;
		if ((hl = host_len(host)) == 0)
			return NULL;
	}
	if ((t->request_uri == NULL || t->request_uri[0] != '/') &&
	    (t->path == NULL || t->path[0] != '/'))
		return NULL;
	n = build(NULL, scheme, host, hl, t);
	if ((s = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	build(s, scheme, host, hl, t);
	s[n] = '\0';
	return s;
}
