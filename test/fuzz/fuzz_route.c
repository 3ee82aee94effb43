/*
 * fuzz_route.c: the URL-to-handler router and path resolver, on any
 * decoded request path. The handlers cover every kind (exact, prefix
 * module, drop-in dir, cgi, static) over a temporary tree. Invariant, the
 * one that matters: a resolved file of a dir, cgi or static handler is
 * the handler's directory, '/', then a relative path that never climbs
 * out of it (no "..", no ".", no hidden name, no NUL, no backslash); and
 * SCRIPT_NAME + PATH_INFO give back the request path.
 */
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "route.h"

static struct conf	*conf;
static struct arena	*arena;

static void
setup(void)
{
	char		 dir[] = "/tmp/fuzz_route.XXXXXX", path[64];
	struct buf	 e;
	FILE		*fp;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/m.so", dir);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fclose(fp);
	buf_init(&e);
	if (conf_load_string("f.ini", dir,
	    "[handler hello]\nurl = /hello\nmodule = m.so\n"
	    "[handler api]\nurl = /api/\nmodule = m.so\n"
	    "[handler app]\nurl = /app/\ndir = .\n"
	    "[handler cgi]\nurl = /cgi-bin/\ncgi = .\n"
	    "[handler static]\nurl = /\nstatic_dir = .\n", &conf, &e) != 0) {
		fprintf(stderr, "%s", e.data);
		abort();
	}
	buf_free(&e);
	if ((arena = arena_new(4096)) == NULL)
		abort();
}

/* The relative part of a resolved file never leaves its directory. */
static void
check_file(const struct handler *h, const char *file)
{
	size_t		 dl = strlen(h->target);
	const char	*rel = file + dl + 1, *seg;
	int		 depth = 0;

	FUZZ_ASSERT(strncmp(file, h->target, dl) == 0 && file[dl] == '/');
	FUZZ_ASSERT(strchr(rel, '\\') == NULL);
	for (seg = rel; *seg != '\0'; ) {
		size_t	 n = strcspn(seg, "/");

		FUZZ_ASSERT(seg[0] != '.');
		if (n > 0)
			depth++;
		seg += n;
		if (*seg == '/')
			seg++;
	}
	FUZZ_ASSERT(depth >= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route	 r;
	enum route_err	 err;
	char		*path;
	size_t		 sl;

	if (conf == NULL)
		setup();
	path = malloc(size + 2);
	FUZZ_ASSERT(path != NULL);
	path[0] = '/';
	memcpy(path + 1, data, size);
	path[size + 1] = '\0';
	err = route_match(conf, arena, path, &r);
	if (err == ROUTE_OK) {
		FUZZ_ASSERT(r.h != NULL && r.file != NULL);
		FUZZ_ASSERT(r.script_name != NULL && r.path_info != NULL);
		sl = strlen(r.script_name);
		FUZZ_ASSERT(strncmp(path, r.script_name, sl) == 0);
		FUZZ_ASSERT(strcmp(path + sl, r.path_info) == 0);
		if (r.h->kind != HANDLER_MODULE)
			check_file(r.h, r.file);
	}
	arena_reset(arena);
	free(path);
	return 0;
}
