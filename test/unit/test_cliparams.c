/* test_cliparams.c: --request's parameters, and CGI mode's. */
#include <stdlib.h>

#include "cliparams.h"
#include "unit.h"

static struct arena	*a;

static const char *
get(char **v, const char *name)
{
	size_t	 n = strlen(name);

	for (; *v != NULL; v++)
		if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
			return *v + n + 1;
	return NULL;
}

static char **
build(const char *line, char *const *headers, size_t nheaders, int body,
    size_t len)
{
	struct cliparams_in in = { line, headers, nheaders, body, len };
	char		**out;
	size_t		 bad;

	if (cliparams_build(a, &in, &out, &bad) != CLIPARAMS_OK)
		return NULL;
	return out;
}

static enum cliparams_err
fails(const char *line, char *const *headers, size_t nheaders, size_t *bad)
{
	struct cliparams_in in = { line, headers, nheaders, 0, 0 };
	char		**out;

	return cliparams_build(a, &in, &out, bad);
}

static void
get_like_nginx(void)
{
	char	**v = build("GET /t/a%20b?x=1&y=%20", NULL, 0, 0, 0);

	ASSERT(v != NULL);
	ASSERT_STR(get(v, "REQUEST_METHOD"), "GET");
	ASSERT_STR(get(v, "SCRIPT_NAME"), "/t/a b");
	ASSERT_STR(get(v, "DOCUMENT_URI"), "/t/a b");
	ASSERT_STR(get(v, "REQUEST_URI"), "/t/a%20b?x=1&y=%20");
	ASSERT_STR(get(v, "QUERY_STRING"), "x=1&y=%20");
	ASSERT_STR(get(v, "SERVER_PROTOCOL"), "HTTP/1.1");
	ASSERT_STR(get(v, "HTTP_HOST"), "localhost");
	ASSERT_STR(get(v, "SERVER_NAME"), "localhost");
	ASSERT_STR(get(v, "SERVER_PORT"), "80");
	ASSERT_STR(get(v, "REMOTE_ADDR"), "127.0.0.1");
	ASSERT_STR(get(v, "REQUEST_SCHEME"), "http");
	ASSERT(get(v, "CONTENT_LENGTH") == NULL);
	ASSERT(get(v, "CONTENT_TYPE") == NULL);
	ASSERT(get(v, "HTTPS") == NULL);
	ASSERT(get(v, "PATH_INFO") == NULL);
}

static void
method_defaults(void)
{
	char	**v;

	v = build("/hello", NULL, 0, 0, 0);
	ASSERT(v != NULL);
	ASSERT_STR(get(v, "REQUEST_METHOD"), "GET");
	ASSERT_STR(get(v, "QUERY_STRING"), "");
	v = build("/hello", NULL, 0, 1, 3);
	ASSERT(v != NULL);
	ASSERT_STR(get(v, "REQUEST_METHOD"), "POST");
	ASSERT_STR(get(v, "CONTENT_LENGTH"), "3");
	ASSERT_STR(get(v, "CONTENT_TYPE"),
	    "application/x-www-form-urlencoded");
	v = build("  PUT   /x   HTTP/1.0 ", NULL, 0, 1, 0);
	ASSERT(v != NULL);
	ASSERT_STR(get(v, "REQUEST_METHOD"), "PUT");
	ASSERT_STR(get(v, "SERVER_PROTOCOL"), "HTTP/1.0");
	ASSERT_STR(get(v, "CONTENT_LENGTH"), "0");
}

static void
headers_become_http_vars(void)
{
	char	*h[] = { "X-Forwarded-For:  10.0.0.1 ",
		"Content-Type: text/csv", "accept-encoding:gzip", "Host: example.com:8080", "X-A: 1",
		"X-A: 2", "X-Empty:" };
	char	**v = build("POST /up", h, 7, 1, 10);

	ASSERT(v != NULL);
	ASSERT_STR(get(v, "HTTP_X_FORWARDED_FOR"), "10.0.0.1");
	ASSERT_STR(get(v, "CONTENT_TYPE"), "text/csv");
	ASSERT_STR(get(v, "HTTP_CONTENT_TYPE"), "text/csv");
	ASSERT_STR(get(v, "HTTP_ACCEPT_ENCODING"), "gzip");
	ASSERT_STR(get(v, "HTTP_HOST"), "example.com:8080");
	ASSERT_STR(get(v, "SERVER_NAME"), "example.com");
	ASSERT_STR(get(v, "HTTP_X_A"), "1");	/* both sent; req.c merges */
	ASSERT_STR(get(v, "HTTP_X_EMPTY"), "");
}

static void
absolute_urls(void)
{
	char	**v;

	v = build("GET https://example.org/p?q=1", NULL, 0, 0, 0);
	ASSERT(v != NULL);
	ASSERT_STR(get(v, "HTTPS"), "on");
	ASSERT_STR(get(v, "REQUEST_SCHEME"), "https");
	ASSERT_STR(get(v, "SERVER_PORT"), "443");
	ASSERT_STR(get(v, "HTTP_HOST"), "example.org");
	ASSERT_STR(get(v, "SCRIPT_NAME"), "/p");
	ASSERT_STR(get(v, "REQUEST_URI"), "/p?q=1");
	v = build("http://[::1]:8080?a=b", NULL, 0, 0, 0);
	ASSERT(v != NULL);
	ASSERT_STR(get(v, "SERVER_PORT"), "8080");
	ASSERT_STR(get(v, "SERVER_NAME"), "[::1]");
	ASSERT_STR(get(v, "SCRIPT_NAME"), "/");
	ASSERT_STR(get(v, "QUERY_STRING"), "a=b");
}

static void
paths_are_normalized_like_nginx(void)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "/", "/" }, { "//", "/" }, { "/a//b", "/a/b" },
		{ "/a/./b", "/a/b" }, { "/a/b/..", "/a/" }, { "/a/..", "/" },
		{ "/a/b/../c/.", "/a/c/" }, { "/a/", "/a/" },
		{ "/a/%2e%2e/y", "/y" }, { "/a/...", "/a/..." },
		{ "/a/b%2F..%2Fc", "/a/c" }, { "/x#frag", "/x" },
	};
	char	 line[64], **v;
	size_t	 i, bad;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "GET %s", cases[i].in);
		v = build(line, NULL, 0, 0, 0);
		ASSERT(v != NULL);
		ASSERT_STR(get(v, "SCRIPT_NAME"), cases[i].out);
	}
	ASSERT_EQ(fails("GET /..", NULL, 0, &bad), CLIPARAMS_ESCAPES_ROOT);
	ASSERT_EQ(fails("GET /a/../../b", NULL, 0, &bad),
	    CLIPARAMS_ESCAPES_ROOT);
	ASSERT_EQ(fails("GET /a%00b", NULL, 0, &bad), CLIPARAMS_BAD_TARGET);
}

static void
bad_input(void)
{
	char	*h1[] = { "X-Ok: 1", "no colon" };
	char	*h2[] = { "Bad Name: 1" };
	char	*h3[] = { "Content-Length: 5" };
	char	*h4[] = { ": empty name" };
	size_t	 bad = 99;

	ASSERT_EQ(fails("", NULL, 0, &bad), CLIPARAMS_BAD_LINE);
	ASSERT_EQ(fails("get /x", NULL, 0, &bad), CLIPARAMS_BAD_LINE);
	ASSERT_EQ(fails("GET /x HTTP/1.1 extra", NULL, 0, &bad),
	    CLIPARAMS_BAD_LINE);
	ASSERT_EQ(fails("GET /x HTTP/11", NULL, 0, &bad), CLIPARAMS_BAD_LINE);
	ASSERT_EQ(fails("GET x", NULL, 0, &bad), CLIPARAMS_BAD_TARGET);
	ASSERT_EQ(fails("GET ftp://h/x", NULL, 0, &bad),
	    CLIPARAMS_BAD_TARGET);
	ASSERT_EQ(fails("GET http:///x", NULL, 0, &bad),
	    CLIPARAMS_BAD_TARGET);
	ASSERT_EQ(fails("GET http://u@h/x", NULL, 0, &bad),
	    CLIPARAMS_BAD_TARGET);
	ASSERT_EQ(fails("GET http://h:x/", NULL, 0, &bad),
	    CLIPARAMS_BAD_TARGET);
	ASSERT_EQ(fails("GET /x", h1, 2, &bad), CLIPARAMS_BAD_HEADER);
	ASSERT_EQ(bad, 1);
	ASSERT_EQ(fails("GET /x", h2, 1, &bad), CLIPARAMS_BAD_HEADER);
	ASSERT_EQ(fails("GET /x", h3, 1, &bad), CLIPARAMS_CONTENT_LENGTH);
	ASSERT_EQ(fails("GET /x", h4, 1, &bad), CLIPARAMS_BAD_HEADER);
	ASSERT(strstr(cliparams_strerror(CLIPARAMS_BAD_LINE), "METHOD"));
}

static void
cgi_routes_on_path_info(void)
{
	char		*env[] = { "PATH=/bin", "SCRIPT_NAME=/cgi-bin/app.ini",
		"PATH_INFO=/t/hello", "QUERY_STRING=a=1", NULL };
	char		*root[] = { "SCRIPT_NAME=/app", "PATH_INFO=", NULL };
	const char	*mount;
	char		**v;

	v = cliparams_cgi(a, env, &mount);
	ASSERT(v != NULL);
	ASSERT_STR(mount, "/cgi-bin/app.ini");
	ASSERT_STR(get(v, "SCRIPT_NAME"), "");
	ASSERT_STR(get(v, "PATH_INFO"), "/t/hello");
	ASSERT_STR(get(v, "PATH"), "/bin");
	ASSERT_STR(get(v, "QUERY_STRING"), "a=1");
	v = cliparams_cgi(a, root, &mount);
	ASSERT(v != NULL);
	ASSERT_STR(mount, "/app");
	ASSERT_STR(get(v, "PATH_INFO"), "/");
	v = cliparams_cgi(a, NULL, &mount);
	ASSERT(v != NULL);
	ASSERT_STR(mount, "");
	ASSERT_STR(get(v, "PATH_INFO"), "/");
}

int
main(void)
{
	a = arena_new(4096);
	RUN(get_like_nginx);
	RUN(method_defaults);
	RUN(headers_become_http_vars);
	RUN(absolute_urls);
	RUN(paths_are_normalized_like_nginx);
	RUN(bad_input);
	RUN(cgi_routes_on_path_info);
	arena_free(a);
	return unit_done();
}
