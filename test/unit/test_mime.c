/* test_mime.c: file name to Content-Type, and the table nginx gets. */
#include "mime.h"
#include "unit.h"

static void
lookup(void)
{
	ASSERT_STR(mime_type_for("index.html"), "text/html; charset=utf-8");
	ASSERT_STR(mime_type_for("/a/b/INDEX.HTM"),
	    "text/html; charset=utf-8");
	ASSERT_STR(mime_type_for("app.js"), "text/javascript; charset=utf-8");
	ASSERT_STR(mime_type_for("data.json"), "application/json");
	ASSERT_STR(mime_type_for("logo.svg"), "image/svg+xml");
	ASSERT_STR(mime_type_for("photo.JPG"), "image/jpeg");
	ASSERT_STR(mime_type_for("font.woff2"), "font/woff2");
	ASSERT_STR(mime_type_for("x.tar.gz"), "application/gzip");
	ASSERT_STR(mime_type_for("README"), MIME_DEFAULT);
	ASSERT_STR(mime_type_for("file."), MIME_DEFAULT);
	ASSERT_STR(mime_type_for("dir.css/file"), MIME_DEFAULT);
	ASSERT_STR(mime_type_for("x.unknown"), MIME_DEFAULT);
	ASSERT_STR(mime_type_for(".css"), "text/css; charset=utf-8");
}

static void
bare_types(void)
{
	ASSERT_EQ(mime_bare_len("text/css; charset=utf-8"), 8);
	ASSERT_EQ(mime_bare_len("image/png"), 9);
	ASSERT_EQ(mime_bare_len("text/plain ;q=1"), 10);
}

static void
table_is_consistent(void)
{
	const struct mime_entry *t;
	size_t		 n, i, j;

	t = mime_table(&n);
	ASSERT(n > 30);
	for (i = 0; i < n; i++) {
		/* Lowercase, unique extensions; a slash in every type. */
		for (j = 0; t[i].ext[j] != '\0'; j++)
			ASSERT(t[i].ext[j] < 'A' || t[i].ext[j] > 'Z');
		for (j = i + 1; j < n; j++)
			ASSERT(strcmp(t[i].ext, t[j].ext) != 0);
		ASSERT(strchr(t[i].content_type, '/') != NULL);
		/* Only text types carry a charset. */
		ASSERT((strstr(t[i].content_type, "charset") != NULL) ==
		    (strncmp(t[i].content_type, "text/", 5) == 0));
	}
}

int
main(void)
{
	RUN(lookup);
	RUN(bare_types);
	RUN(table_is_consistent);
	return unit_done();
}
