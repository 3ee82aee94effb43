/*
 * cgiresp.c: turns the bytes a handler wrote on stdout into a struct
 * cgiresp. Pure: the field array comes from the request's arena, the
 * strings point into the input.
 *
 * The rules are RFC 3875 section 6 made strict where leniency would be a
 * hole: lines end with LF or CRLF and the block ends at the first empty
 * line; a CR anywhere else, a NUL, a continuation line or a line without a
 * colon is malformed (it is how header injection looks); Status, Location
 * and Content-Type may each appear once; at least one of them, or an NPH
 * status line ("HTTP/1.1 200 OK", RFC 3875 section 5), must be there.
 */
#include <ctype.h>
#include <string.h>

#include "cgiresp.h"

/* RFC 9110 section 5.6.2: token characters of a field name. */
static int
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Returns 1 if f's name is name, ignoring case.
 */
int
cgiresp_name_is(const struct cgiresp_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
	    strncasecmp(f->name, name, f->name_len) == 0;
}

/*
 * Returns the standard reason phrase of an HTTP status ("OK").
 */
const char *
cgiresp_reason(int status)
{
	static const struct {
		int		 code;
		const char	*reason;
	} reasons[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 203, "Non-Authoritative Information" },
		{ 204, "No Content" }, { 205, "Reset Content" },
		{ 206, "Partial Content" }, { 300, "Multiple Choices" },
		{ 301, "Moved Permanently" }, { 302, "Found" },
		{ 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
		{ 408, "Request Timeout" }, { 409, "Conflict" },
		{ 410, "Gone" }, { 411, "Length Required" },
		{ 412, "Precondition Failed" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 416, "Range Not Satisfiable" },
		{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 499, "Client Closed Request" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	if (status >= 200 && status < 300)
		return "OK";
	return "Unknown";
}

/* Parses "NNN[ reason]" into resp. Returns 0 or -1. */
static int
parse_status(const char *v, size_t n, struct cgiresp *resp)
{
	if (n < 3 || !isdigit((unsigned char)v[0]) ||
	    !isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[2]))
		return -1;
	if (n > 3 && v[3] != ' ' && v[3] != '\t')
		return -1;
	resp->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	if (resp->status < 100 || resp->status > 599)
		return -1;
	v += 3;
	n -= 3;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	resp->reason = n > 0 ? v : NULL;
	resp->reason_len = n;
	return 0;
}

/* Finds the end of the header block. Returns its length or 0. */
static size_t
find_blank_line(const char *p, size_t n, size_t *body_off)
{
	size_t	 i;

	if (n >= 1 && p[0] == '\n') {
		*body_off = 1;
		return 0;
	}
	if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
		*body_off = 2;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n') {
			*body_off = i + 2;
			return i + 1;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			*body_off = i + 3;
			return i + 1;
		}
	}
	*body_off = 0;
	return 0;
}

static enum cgiresp_err
bad(struct cgiresp *resp, const char *why)
{
	resp->error = why;
	return CGIRESP_MALFORMED;
}

/* Parses one header line (without its line end) into resp. */
static enum cgiresp_err
parse_line(const char *l, size_t n, int first, struct cgiresp *resp)
{
	struct cgiresp_field *f;
	const char	*colon, *v;
	size_t		 i, vn;

	if (memchr(l, '\r', n) != NULL || memchr(l, '\0', n) != NULL)
		return bad(resp, "CR or NUL inside a header line");
	if (first && n > 5 && strncmp(l, "HTTP/", 5) == 0) {
		/* NPH status line: HTTP/1.x NNN reason. */
		if ((v = memchr(l, ' ', n)) == NULL ||
		    parse_status(v + 1, n - (size_t)(v + 1 - l), resp) == -1)
			return bad(resp, "bad NPH status line");
		resp->nph = 1;
		return CGIRESP_OK;
	}
	if (n == 0 || l[0] == ' ' || l[0] == '\t')
		return bad(resp, "continuation lines are not allowed");
	if ((colon = memchr(l, ':', n)) == NULL)
		return bad(resp, "header line without a colon");
	if (colon == l)
		return bad(resp, "empty header name");
	for (i = 0; l + i < colon; i++)
		if (!is_tchar((unsigned char)l[i]))
			return bad(resp, "bad character in a header name");
	v = colon + 1;
	vn = n - (size_t)(v - l);
	while (vn > 0 && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	f = &resp->fields[resp->nfields];
	f->name = l;
	f->name_len = (size_t)(colon - l);
	f->value = v;
	f->value_len = vn;
	if (cgiresp_name_is(f, "Status")) {
		if (resp->status != 0)
			return bad(resp, "more than one Status");
		if (parse_status(v, vn, resp) == -1)
			return bad(resp, "bad Status");
		return CGIRESP_OK;
	}
	if (cgiresp_name_is(f, "Content-Type")) {
		if (resp->content_type != NULL)
			return bad(resp, "more than one Content-Type");
		resp->content_type = f;
	} else if (cgiresp_name_is(f, "Location")) {
		if (resp->location != NULL)
			return bad(resp, "more than one Location");
		if (vn == 0)
			return bad(resp, "empty Location");
		resp->location = f;
	}
	resp->nfields++;
	return CGIRESP_OK;
}

/*
 * Parses the n bytes at p as a CGI response whose header block may take at
 * most max_header bytes. Returns CGIRESP_OK and fills resp; CGIRESP_
 * INCOMPLETE when no blank line has come yet within the limit;
 * CGIRESP_HEADER_TOO_LARGE; CGIRESP_MALFORMED with resp->error saying why;
 * or CGIRESP_NOMEM.
 */
enum cgiresp_err
cgiresp_parse(struct arena *a, const char *p, size_t n, size_t max_header,
    struct cgiresp *resp)
{
	size_t		 hlen, body_off, nlines = 0, i, len;
	const char	*l, *nl;
	enum cgiresp_err err;

	memset(resp, 0, sizeof(*resp));
	hlen = find_blank_line(p, n, &body_off);
	if (body_off == 0)
		return n > max_header ? CGIRESP_HEADER_TOO_LARGE :
		    CGIRESP_INCOMPLETE;
	if (body_off > max_header)
		return CGIRESP_HEADER_TOO_LARGE;
	for (i = 0; i < hlen; i++)
		nlines += p[i] == '\n';
	resp->fields = arena_calloc(a, nlines + 1, sizeof(*resp->fields));
	if (resp->fields == NULL)
		return CGIRESP_NOMEM;
	for (l = p; l < p + hlen; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(p + hlen - l));
		len = (size_t)(nl - l);
		if (len > 0 && l[len - 1] == '\r')
			len--;
		if ((err = parse_line(l, len, l == p, resp)) != CGIRESP_OK)
			return err;
	}
	if (resp->status == 0 && resp->content_type == NULL &&
	    resp->location == NULL)
		return bad(resp, "no Status, Content-Type or Location");
	resp->header_len = body_off;
	resp->body = p + body_off;
	resp->body_len = n - body_off;
	return CGIRESP_OK;
}

/*
 * Returns 1 if resp is a local redirect (RFC 3875 6.2.2): a Location with
 * an absolute path, no Status and no body. The host serves it internally.
 */
int
cgiresp_is_local_redirect(const struct cgiresp *resp)
{
	const struct cgiresp_field *l = resp->location;

	return l != NULL && l->value[0] == '/' &&
	    (l->value_len < 2 || l->value[1] != '/') && resp->status == 0 &&
	    resp->body_len == 0;
}
