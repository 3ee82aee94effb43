/* test_req.c: params to environ, and request ids. */
#include <stdlib.h>

#include "req.h"
#include "unit.h"

static const char *
get(char **env, const char *name)
{
	size_t	 n = strlen(name);

	for (; *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static size_t
count(char **env, const char *name)
{
	size_t	 n = strlen(name), c = 0;

	for (; *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			c++;
	return c;
}

static void
merge_and_filter(void)
{
	char		*params[] = {
		"FCGI_ROLE=RESPONDER", "REQUEST_METHOD=POST",
		"HTTP_COOKIE=a=1", "HTTP_X_A=one", "HTTP_COOKIE=b=2",
		"HTTP_X_A=two", "HTTP_PROXY=http://evil:8080",
		"CONTENT_TYPE=", "CONTENT_LENGTH=", "PATH_INFO=",
		"HTTP_CONTENT_LENGTH=5", "REQUEST_START=1.5", "HTTPS=",
		NULL
	};
	char		*extra[] = { "A=1", "REQUEST_METHOD=GET", "HTTP_X_A" };
	struct req_env_extra x = { extra, 3 };
	struct req	 r;

	memset(&r, 0, sizeof(r));
	r.arena = arena_new(1024);
	r.params = params;
	ASSERT_EQ(req_build_env(&r, &x, NULL), REQ_OK);
	ASSERT_STR(get(r.env, "HTTP_COOKIE"), "a=1; b=2");
	ASSERT_EQ(count(r.env, "HTTP_COOKIE"), 1);
	ASSERT(get(r.env, "HTTP_X_A") == NULL);
	ASSERT(get(r.env, "HTTP_PROXY") == NULL);
	ASSERT(get(r.env, "FCGI_ROLE") == NULL);
	ASSERT(get(r.env, "CONTENT_TYPE") == NULL);
	ASSERT(get(r.env, "CONTENT_LENGTH") == NULL);
	ASSERT(get(r.env, "PATH_INFO") == NULL);
	ASSERT(get(r.env, "HTTPS") == NULL);
	ASSERT(get(r.env, "HTTP_CONTENT_LENGTH") == NULL);
	ASSERT(get(r.env, "REQUEST_START") == NULL);
	ASSERT_STR(get(r.env, "QUERY_STRING"), "");
	ASSERT_STR(get(r.env, "REQUEST_METHOD"), "GET");
	ASSERT_STR(get(r.env, "A"), "1");
	arena_free(r.arena);
}

static void
nothing_left_from_previous_request(void)
{
	char		*p1[] = { "HTTP_AUTHORIZATION=Bearer secret",
			    "HTTP_COOKIE=session=1", "QUERY_STRING=a", NULL };
	char		*p2[] = { "QUERY_STRING=b", NULL };
	struct req_env_extra x = { NULL, 0 };
	struct req	 r;

	memset(&r, 0, sizeof(r));
	r.arena = arena_new(256);
	r.params = p1;
	ASSERT_EQ(req_build_env(&r, &x, NULL), REQ_OK);
	ASSERT_STR(get(r.env, "HTTP_AUTHORIZATION"), "Bearer secret");
	arena_reset(r.arena);
	r.params = p2;
	ASSERT_EQ(req_build_env(&r, &x, NULL), REQ_OK);
	ASSERT(get(r.env, "HTTP_AUTHORIZATION") == NULL);
	ASSERT(get(r.env, "HTTP_COOKIE") == NULL);
	ASSERT_STR(get(r.env, "QUERY_STRING"), "b");
	ASSERT(r.env[1] == NULL);
	arena_free(r.arena);
}

static void
parse_path(void)
{
	char		*p1[] = { "SCRIPT_NAME=/app/x", "PATH_INFO=/y z",
			    "REQUEST_METHOD=HEAD", NULL };
	char		*p2[] = { "REQUEST_URI=/a%20b/c?q=1", NULL };
	char		*p3[] = { "HTTP_X=0123456789", NULL };
	struct req	 r;

	memset(&r, 0, sizeof(r));
	r.arena = arena_new(256);
	r.params = p1;
	ASSERT_EQ(req_parse(&r, NULL), REQ_OK);
	ASSERT_STR(r.path, "/app/x/y z");
	ASSERT_EQ(r.is_head, 1);
	ASSERT_STR(r.query, "");
	r.params = p2;
	ASSERT_EQ(req_parse(&r, NULL), REQ_OK);
	ASSERT_STR(r.path, "/a b/c");
	ASSERT_STR(r.method, "GET");
	r.params = p3;
	ASSERT_EQ(req_parse(&r, NULL), REQ_OK);
	ASSERT_EQ(r.longest_header, 10);
	ASSERT_STR(r.path, "/");
	arena_free(r.arena);
}

static void
url_decode(void)
{
	char	 s[32];

	strcpy(s, "%41%2f%zz%4");
	ASSERT_EQ(req_url_decode(s, s, strlen(s)), 7);
	ASSERT_STR(s, "A/%zz%4");
}

static void
ids_sort_by_start_and_are_unique(void)
{
	char	 a[REQ_ID_LEN + 1], b[REQ_ID_LEN + 1], c[REQ_ID_LEN + 1];
	size_t	 i;

	req_id_format(a, 1700000000000000LL, 0xdeadbeefULL, 1);
	req_id_format(b, 1700000000000001LL, 0x1ULL, 1);
	req_id_format(c, 1700000000000001LL, 0x1ULL, 2);
	ASSERT_EQ(strlen(a), REQ_ID_LEN);
	for (i = 0; i < REQ_ID_LEN; i++)
		ASSERT(strchr("0123456789abcdef", a[i]) != NULL);
	ASSERT(strcmp(a, b) < 0);
	ASSERT(strcmp(b, c) < 0);
	ASSERT(strncmp(a, "00060a24181e4000", 16) == 0);
}

static void
same_str(const char *a, const char *b)
{
	ASSERT((a == NULL) == (b == NULL));
	if (a != NULL)
		ASSERT_STR(a, b);
}

/* Parses and builds with and without the layout cache: the same. */
static void
same_env(struct req_layout *l, char **params, char **extra, size_t nextra)
{
	struct req_env_extra x = { extra, nextra };
	struct req	 r, c;
	size_t		 i;

	memset(&r, 0, sizeof(r));
	r.arena = arena_new(1024);
	r.params = params;
	c = r;
	ASSERT_EQ(req_parse(&r, NULL), REQ_OK);
	ASSERT_EQ(req_parse(&c, l), REQ_OK);
	same_str(c.method, r.method);
	same_str(c.path, r.path);
	same_str(c.query, r.query);
	same_str(c.remote_addr, r.remote_addr);
	same_str(c.user_agent, r.user_agent);
	same_str(c.request_start, r.request_start);
	same_str(c.content_length, r.content_length);
	ASSERT_EQ(c.longest_header, r.longest_header);
	ASSERT_EQ(c.is_head, r.is_head);
	ASSERT_EQ(req_build_env(&r, &x, NULL), REQ_OK);
	ASSERT_EQ(req_build_env(&c, &x, l), REQ_OK);
	for (i = 0; r.env[i] != NULL && c.env[i] != NULL; i++)
		ASSERT_STR(c.env[i], r.env[i]);
	ASSERT(r.env[i] == NULL && c.env[i] == NULL);
	arena_free(r.arena);
}

static void
layout_cache_gives_the_same_env(void)
{
	struct req_layout *l = req_layout_new();
	char	*get1[] = { "QUERY_STRING=a=1", "REQUEST_METHOD=GET",
		    "CONTENT_TYPE=", "SCRIPT_NAME=/x", "HTTP_HOST=h",
		    "REQUEST_START=1.5", "PATH_INFO=", "HTTP_USER_AGENT=ua",
		    NULL };
	char	*get2[] = { "QUERY_STRING=", "REQUEST_METHOD=HEAD",
		    "CONTENT_TYPE=", "SCRIPT_NAME=/yy", "HTTP_HOST=hhhh",
		    "REQUEST_START=2.5", "PATH_INFO=", "HTTP_USER_AGENT=u",
		    NULL };
	/* First method, last script name: parsed from the layout too. */
	char	*twice1[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/a",
		    "HTTP_X=1", "SCRIPT_NAME=/b", "REQUEST_METHOD=PUT", NULL };
	char	*twice2[] = { "REQUEST_METHOD=HEAD", "SCRIPT_NAME=/c",
		    "HTTP_X=1234", "SCRIPT_NAME=/d", "REQUEST_METHOD=GET",
		    NULL };
	char	*post[] = { "QUERY_STRING=", "REQUEST_METHOD=POST",
		    "CONTENT_TYPE=text/plain", "SCRIPT_NAME=/yy",
		    "HTTP_HOST=hh", "REQUEST_START=2.5", "PATH_INFO=", NULL };
	char	*dup[] = { "HTTP_COOKIE=a=1", "HTTP_COOKIE=b=2", NULL };
	char	*other[] = { "REQUEST_METHOD=GET", "HTTP_X=1", NULL };
	char	*shorter[] = { "REQUEST_METHOD=GET", "HTTP_X=1", "H=1", NULL };
	char	*noeq[] = { "REQUEST_METHOD=GET", "HTTP_X", NULL };
	char	*ex1[] = { "SCRIPT_NAME=/s", "PATH_INFO", "A=1",
		    "HTTP_HOST", "CONTENT_TYPE" };
	char	*ex2[] = { "SCRIPT_NAME=/t", "PATH_INFO=/p", "A=2",
		    "HTTP_HOST", "CONTENT_TYPE" };
	char	*ex3[] = { "SCRIPT_NAME=/t", "PATH_INFO=/p", "A=2",
		    "HTTP_HOSTS", "CONTENT_TYPE" };	/* a longer name */
	char	*longer[] = { "REQUEST_METHOD=GET", "HTTP_XY=1", NULL };
	char	*noname[] = { "=x", "REQUEST_METHOD=GET", "SCRIPT_NAME=/a",
		    NULL };

	ASSERT(l != NULL);
	same_env(l, get1, ex1, 5);	/* records */
	ASSERT_EQ(req_layout_hits(l, 0), 0);
	same_env(l, get1, ex1, 5);	/* reuses */
	ASSERT_EQ(req_layout_hits(l, 0), 1);
	same_env(l, get2, ex1, 5);	/* same names, other values */
	ASSERT_EQ(req_layout_hits(l, 0), 2);
	same_env(l, post, ex1, 5);	/* an empty value is not: records */
	ASSERT_EQ(req_layout_hits(l, 0), 2);
	same_env(l, post, ex2, 5);	/* PATH_INFO now sets */
	same_env(l, post, ex2, 5);
	ASSERT_EQ(req_layout_hits(l, 0), 3);
	same_env(l, dup, ex2, 5);	/* a merge: never reused */
	same_env(l, dup, ex2, 5);
	ASSERT_EQ(req_layout_hits(l, 0), 3);
	same_env(l, other, ex2, 5);
	same_env(l, shorter, ex2, 5);	/* one more parameter */
	same_env(l, other, ex2, 5);	/* one fewer */
	same_env(l, other, ex2, 4);	/* one fewer host pair */
	same_env(l, noeq, ex2, 4);
	same_env(l, noeq, ex2, 4);	/* no '=': never reused */
	ASSERT_EQ(req_layout_hits(l, 0), 3);
	same_env(l, get1, ex1, 5);
	same_env(l, get1, ex1, 5);
	ASSERT_EQ(req_layout_hits(l, 0), 4);
	ASSERT_EQ(req_layout_hits(l, 1), 7);
	same_env(l, twice1, ex1, 5);
	same_env(l, twice2, ex1, 5);	/* merges: parsed from the layout */
	ASSERT_EQ(req_layout_hits(l, 0), 4);
	ASSERT_EQ(req_layout_hits(l, 1), 8);
	same_env(l, post, ex2, 5);
	same_env(l, post, ex3, 5);	/* a name that only starts alike */
	ASSERT_EQ(req_layout_hits(l, 0), 4);
	same_env(l, other, ex2, 5);
	same_env(l, longer, ex2, 5);
	ASSERT_EQ(req_layout_hits(l, 0), 4);
	req_layout_free(l);
	/* An empty name first, into an empty layout (found by fuzz_env). */
	l = req_layout_new();
	ASSERT(l != NULL);
	same_env(l, noname, ex1, 5);
	same_env(l, noname, ex1, 5);
	req_layout_free(l);
}

int
main(void)
{
	RUN(merge_and_filter);
	RUN(nothing_left_from_previous_request);
	RUN(layout_cache_gives_the_same_env);
	RUN(parse_path);
	RUN(url_decode);
	RUN(ids_sort_by_start_and_are_unique);
	return unit_done();
}
