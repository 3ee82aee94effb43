/* test_static.c: validators and the 304 decision of static files. */
#include "static.h"
#include "unit.h"

static void
etags(void)
{
	ASSERT(static_etag_matches("\"5f-10\"", "\"5f-10\""));
	ASSERT(static_etag_matches("W/\"5f-10\"", "\"5f-10\""));
	ASSERT(static_etag_matches("\"5f-10\"", "W/\"5f-10\""));
	ASSERT(static_etag_matches("\"a\", \"5f-10\"", "\"5f-10\""));
	ASSERT(static_etag_matches("\"a\" ,\t W/\"5f-10\" ", "\"5f-10\""));
	ASSERT(static_etag_matches("*", "\"5f-10\""));
	ASSERT(!static_etag_matches("\"5f-11\"", "\"5f-10\""));
	ASSERT(!static_etag_matches("5f-10", "\"5f-10\""));
	ASSERT(!static_etag_matches("\"5f-10", "\"5f-10\""));
	ASSERT(!static_etag_matches("", "\"5f-10\""));
}

static void
not_modified(void)
{
	/* 1994-11-06 08:49:37 UTC */
	time_t	 t = 784111777;

	ASSERT(static_not_modified(NULL, "Sun, 06 Nov 1994 08:49:37 GMT",
	    "\"e\"", t));
	ASSERT(static_not_modified(NULL, "Sunday, 06-Nov-94 08:49:37 GMT",
	    "\"e\"", t));
	ASSERT(static_not_modified(NULL, "Sun Nov  6 08:49:37 1994", "\"e\"",
	    t));
	/* Modified after the client's copy. */
	ASSERT(!static_not_modified(NULL, "Sun, 06 Nov 1994 08:49:36 GMT",
	    "\"e\"", t));
	ASSERT(static_not_modified(NULL, "Mon, 07 Nov 1994 00:00:00 GMT",
	    "\"e\"", t));
	/* A date that does not parse is ignored. */
	ASSERT(!static_not_modified(NULL, "yesterday", "\"e\"", t));
	ASSERT(!static_not_modified(NULL, "Sun, 06 Nov 1994 08:49:37 GMT x",
	    "\"e\"", t));
	ASSERT(!static_not_modified(NULL, NULL, "\"e\"", t));
	/* If-None-Match decides alone when present. */
	ASSERT(!static_not_modified("\"other\"",
	    "Mon, 07 Nov 1994 00:00:00 GMT", "\"e\"", t));
	ASSERT(static_not_modified("\"e\"", "Sat, 01 Jan 1994 00:00:00 GMT",
	    "\"e\"", t));
}

int
main(void)
{
	RUN(etags);
	RUN(not_modified);
	return unit_done();
}
