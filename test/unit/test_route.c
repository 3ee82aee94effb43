/* test_route.c: URL to handler, and the path never leaving its dir. */
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "route.h"
#include "unit.h"

static struct conf	*c;
static struct arena	*a;

static void
exact_and_prefix(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/hello", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "hello");
	ASSERT_STR(r.script_name, "/hello");
	ASSERT_STR(r.path_info, "");
	ASSERT_EQ(route_match(c, a, "/hello/x", &r), ROUTE_NOT_FOUND);
	ASSERT_EQ(route_match(c, a, "/api/users/7", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "api");
	ASSERT_STR(r.script_name, "/api");
	ASSERT_STR(r.path_info, "/users/7");
	ASSERT_EQ(route_match(c, a, "/nothing", &r), ROUTE_NOT_FOUND);
	ASSERT(r.h == NULL);
}

static void
first_match_wins(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/api/special", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "api");
}

static void
dropin_names(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/app/hello/a/b", &r), ROUTE_OK);
	ASSERT_STR(r.script_name, "/app/hello");
	ASSERT_STR(r.path_info, "/a/b");
	ASSERT(strstr(r.file, "/hello.so") != NULL);
	ASSERT_EQ(route_match(c, a, "/app/hello", &r), ROUTE_OK);
	ASSERT_STR(r.path_info, "");
	ASSERT_EQ(route_match(c, a, "/app/", &r), ROUTE_NOT_FOUND);
	ASSERT_EQ(route_match(c, a, "/cgi-bin/env.sh/x", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "/env.sh") != NULL);
	ASSERT(strstr(r.file, ".so") == NULL);
}

static void
traversal_refused(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/cgi-bin/../etc/passwd", &r),
	    ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/cgi-bin/..", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/cgi-bin/.hidden", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/static/a/../../x", &r),
	    ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/static/.git/config", &r),
	    ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/static/a/./b", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/static/css/site.css", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "/css/site.css") != NULL);
	ASSERT(route_path_is_safe("a/b.c/d", 7));
	ASSERT(!route_path_is_safe("a/..", 4));
	ASSERT(!route_path_is_safe("a\0b", 3));
}

int
main(void)
{
	char	 dir[] = "/tmp/test_route.XXXXXX", path[64];
	struct buf e;
	FILE	*fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/m.so", dir);
	if ((fp = fopen(path, "w")) != NULL)
		fclose(fp);
	buf_init(&e);
	conf_load_string("t.ini", dir,
	    "[handler hello]\nurl = /hello\nmodule = m.so\n"
	    "[handler api]\nurl = /api/\nmodule = m.so\n"
	    "[handler special]\nurl = /api/special\nmodule = m.so\n"
	    "[handler app]\nurl = /app/\ndir = .\n"
	    "[handler cgi]\nurl = /cgi-bin/\ncgi = .\n"
	    "[handler static]\nurl = /static/\nstatic_dir = .\n", &c, &e);
	if (c == NULL) {
		printf("# %s", e.data);
		return 1;
	}
	a = arena_new(1024);
	RUN(exact_and_prefix);
	RUN(first_match_wins);
	RUN(dropin_names);
	RUN(traversal_refused);
	arena_free(a);
	conf_free(c);
	buf_free(&e);
	unlink(path);
	rmdir(dir);
	return unit_done();
}
