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

static void
static_files(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/img/logo.png", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "img");
	ASSERT_STR(r.script_name, "/img/logo.png");
	ASSERT_STR(r.path_info, "");
	ASSERT(strstr(r.file, "/s/img/logo.png") != NULL);
	ASSERT_EQ(route_match(c, a, "/img/a/b.png", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "/s/img/a/b.png") != NULL);
	/* Two captures, a literal backslash, an unset group. */
	ASSERT_EQ(route_match(c, a, "/v2/css-site", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "/s/site.v2.css") != NULL);
	ASSERT_EQ(route_match(c, a, "/v/css-site", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "/s/site.v.css") != NULL);
	/* Anchored at both ends. */
	ASSERT_EQ(route_match(c, a, "/img/logo.pngx", &r), ROUTE_NOT_FOUND);
	ASSERT_EQ(route_match(c, a, "/x/img/logo.png", &r), ROUTE_NOT_FOUND);
	/* No capture: one file. */
	ASSERT_EQ(route_match(c, a, "/favicon.ico", &r), ROUTE_OK);
	ASSERT(strstr(r.file, "/s/fav.ico") != NULL);
}

static void
static_files_refusals(void)
{
	struct route	 r;

	ASSERT_EQ(route_match(c, a, "/img/../../etc/passwd.png", &r),
	    ROUTE_BAD_PATH);
	ASSERT_STR(r.h->name, "img");
	ASSERT_EQ(route_match(c, a, "/img/a/../../x.png", &r),
	    ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/img/.hidden.png", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/img/a/.git/x.png", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/img/./x.png", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/img/a\\b.png", &r), ROUTE_BAD_PATH);
	/* upload admits lowercase names only. */
	ASSERT_EQ(route_match(c, a, "/img/Logo.png", &r), ROUTE_NOT_FOUND);
	ASSERT_STR(r.h->name, "img");
	/* The capture is empty: no file name. */
	ASSERT_EQ(route_match(c, a, "/raw/", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/raw/..", &r), ROUTE_BAD_PATH);
	ASSERT_EQ(route_match(c, a, "/raw/ok.txt", &r), ROUTE_OK);
}

static void
regex_order(void)
{
	struct route	 r;

	/* A regex handler listed first wins over a later prefix... */
	ASSERT_EQ(route_match(c, a, "/api/doc.png", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "apidoc");
	/* ...and one that does not match lets the next handlers try. */
	ASSERT_EQ(route_match(c, a, "/api/doc.gif", &r), ROUTE_OK);
	ASSERT_STR(r.h->name, "api");
}

int
main(void)
{
	char	 dir[] = "/tmp/test_route.XXXXXX", path[64], prog[64];
	struct buf e;
	FILE	*fp;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/s", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/s/img", dir);
	mkdir(path, 0755);
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
	    "[handler apidoc]\nurl = /api/(doc\\.png)\nstatic_files = s/\\1\n"
	    "[handler api]\nurl = /api/\nmodule = m.so\n"
	    "[handler special]\nurl = /api/special\nmodule = m.so\n"
	    "[handler app]\nurl = /app/\ndir = .\n"
	    "[handler cgi]\nurl = /cgi-bin/\ncgi = .\n"
	    "[handler static]\nurl = /static/\nstatic_dir = .\n"
	    "[handler git]\nurl = /git/\ncgi = nph-prog\n"
	    "[handler slash]\nurl = /slash/\ncgi = ./\n"
	    "[handler img]\nurl = /img/(.+\\.png)\n"
	    "static_files = s/img/\\1\nupload = s/img/[a-z/._]+\n"
	    "[handler css]\nurl = /v(\\d+)?/(css)-(\\w+)\n"
	    "static_files = s/\\3.v\\1.\\2\n"
	    "[handler raw]\nurl = /raw/(.*)\nstatic_files = s/\\1\n"
	    "[handler fav]\nurl = /favicon\\.ico\nstatic_files = s/fav.ico\n",
	    &c, &e);
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
	RUN(static_files);
	RUN(static_files_refusals);
	RUN(regex_order);
	arena_free(a);
	conf_free(c);
	buf_free(&e);
	unlink(path);
	unlink(prog);
	snprintf(path, sizeof(path), "%s/s/img", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/s", dir);
	rmdir(path);
	rmdir(dir);
	return unit_done();
}
