/* test_route.c: URL to handler, and the path never leaving its dir. */
#include <sys/stat.h>

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

static void
dropin_never_runs_a_so(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/app/hello.so", &r), ROUTE_NOT_FOUND);
	ASSERT_EQ(route_match(c, a, "/app/x.so/y", &r), ROUTE_NOT_FOUND);
	ASSERT_EQ(route_match(c, a, "/cgi-bin/x.so", &r), ROUTE_OK);
	ASSERT_EQ(route_match(c, a, "/app/hello.sox", &r), ROUTE_OK);
}

static void
cgi_file_and_nph(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/git/repo.git/info/refs", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "git");
	ASSERT_STR(r.script_name, "/git");
	ASSERT_STR(r.path_info, "/repo.git/info/refs");
	ASSERT(strstr(r.file, "/nph-prog") != NULL);
	ASSERT_EQ(r.is_module, 0);
	ASSERT_EQ(r.nph, 1);
	/* Dots are fine in PATH_INFO of one program: it picks no file. */
	ASSERT_EQ(route_match(c, a, "/git/.hidden", &r), ROUTE_OK);
	ASSERT_EQ(route_match(c, a, "/cgi-bin/nph-x/y", &r), ROUTE_OK);
	ASSERT_EQ(r.nph, 1);
	ASSERT_EQ(route_match(c, a, "/cgi-bin/x-nph-y", &r), ROUTE_OK);
	ASSERT_EQ(r.nph, 0);
	ASSERT(route_is_nph("nph-a", 5));
	ASSERT(route_is_nph("/d/nph-", 7));
	ASSERT(!route_is_nph("/nph-d/a", 8));
	ASSERT(!route_is_nph("nph", 3));
	ASSERT(!route_is_nph("", 0));
}

static void
no_double_slash(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/slash/env.sh", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "//") == NULL);
	ASSERT(strstr(r.file, "/env.sh") != NULL);
}

int
main(void)
{
	char	 dir[] = "/tmp/test_route.XXXXXX", path[64], prog[64];
	struct buf e;
	FILE	*fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/m.so", dir);
	if ((fp = fopen(path, "w")) != NULL)
		fclose(fp);
	snprintf(prog, sizeof(prog), "%s/nph-prog", dir);
	if ((fp = fopen(prog, "w")) != NULL)
		fclose(fp);
	chmod(prog, 0755);
	buf_init(&e);
	conf_load_string("t.ini", dir,
	    "[handler hello]\nurl = /hello\nmodule = m.so\n"
	    "[handler api]\nurl = /api/\nmodule = m.so\n"
	    "[handler special]\nurl = /api/special\nmodule = m.so\n"
	    "[handler app]\nurl = /app/\ndir = .\n"
	    "[handler cgi]\nurl = /cgi-bin/\ncgi = .\n"
	    "[handler static]\nurl = /static/\nstatic_dir = .\n"
	    "[handler git]\nurl = /git/\ncgi = nph-prog\n"
	    "[handler slash]\nurl = /slash/\ncgi = ./\n", &c, &e);
	if (c == NULL) {
		printf("# %s", e.data);
		return 1;
	}
	a = arena_new(1024);
	RUN(exact_and_prefix);
	RUN(first_match_wins);
	RUN(dropin_names);
	RUN(traversal_refused);
	RUN(dropin_never_runs_a_so);
	RUN(cgi_file_and_nph);
	RUN(no_double_slash);
	arena_free(a);
	conf_free(c);
	buf_free(&e);
	unlink(path);
	unlink(prog);
	rmdir(dir);
	return unit_done();
}
