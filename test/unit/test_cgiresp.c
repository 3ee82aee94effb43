/* test_cgiresp.c: parsing handler output (RFC 3875 section 6). */
#include "arena.h"
#include "cgiresp.h"
#include "unit.h"

static struct arena	*a;

static enum cgiresp_err
parse(const char *s, struct cgiresp *r)
{
	return cgiresp_parse(a, s, strlen(s), 8192, r);
}

static void
document(void)
{
	struct cgiresp	 r;

	ASSERT_EQ(parse("Content-Type: text/html\r\nX-A:  b \r\n\r\nbody",
	    &r), CGIRESP_OK);
	ASSERT_EQ(r.status, 0);
	ASSERT_EQ(r.nfields, 2);
	ASSERT_MEM(r.fields[1].value, r.fields[1].value_len, "b");
	ASSERT_MEM(r.content_type->value, r.content_type->value_len,
	    "text/html");
	ASSERT_MEM(r.body, r.body_len, "body");
}

static void
status_forms(void)
{
	struct cgiresp	 r;

	ASSERT_EQ(parse("Status: 404 Gone Away\nContent-Type: a/b\n\n", &r),
	    CGIRESP_OK);
	ASSERT_EQ(r.status, 404);
	ASSERT_MEM(r.reason, r.reason_len, "Gone Away");
	ASSERT_EQ(r.nfields, 1);
	ASSERT_EQ(parse("status:201\n\n", &r), CGIRESP_OK);
	ASSERT_EQ(r.status, 201);
	ASSERT(r.reason == NULL);
	ASSERT_EQ(parse("Status: 20x\n\n", &r), CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Status: 2000 OK\n\n", &r), CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Status: 600 Big\n\n", &r), CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Status: 200\nStatus: 201\n\n", &r),
	    CGIRESP_MALFORMED);
}

static void
nph_line(void)
{
	struct cgiresp	 r;

	ASSERT_EQ(parse("HTTP/1.1 202 Accepted Now\r\nContent-Type: t/p\r\n"
	    "\r\nx", &r), CGIRESP_OK);
	ASSERT_EQ(r.status, 202);
	ASSERT_EQ(r.nph, 1);
	ASSERT_MEM(r.reason, r.reason_len, "Accepted Now");
	ASSERT_EQ(parse("HTTP/1.1 abc\r\n\r\n", &r), CGIRESP_MALFORMED);
}

static void
locations(void)
{
	struct cgiresp	 r;

	ASSERT_EQ(parse("Location: /other?q=1\n\n", &r), CGIRESP_OK);
	ASSERT(cgiresp_is_local_redirect(&r));
	ASSERT_EQ(parse("Location: //evil.example/\n\n", &r), CGIRESP_OK);
	ASSERT(!cgiresp_is_local_redirect(&r));
	ASSERT_EQ(parse("Location: http://x/\n\n", &r), CGIRESP_OK);
	ASSERT(!cgiresp_is_local_redirect(&r));
	ASSERT_EQ(parse("Status: 301 Moved\nLocation: /a\n\n", &r),
	    CGIRESP_OK);
	ASSERT(!cgiresp_is_local_redirect(&r));
	ASSERT_EQ(parse("Location: /a\n\nbody", &r), CGIRESP_OK);
	ASSERT(!cgiresp_is_local_redirect(&r));
	ASSERT_EQ(parse("Location:\n\n", &r), CGIRESP_MALFORMED);
}

static void
malformed(void)
{
	struct cgiresp	 r;

	ASSERT_EQ(parse("", &r), CGIRESP_INCOMPLETE);
	ASSERT_EQ(parse("Content-Type: a/b\n", &r), CGIRESP_INCOMPLETE);
	ASSERT_EQ(parse("\n\nbody", &r), CGIRESP_MALFORMED);
	ASSERT_EQ(parse("X-Only: 1\n\n", &r), CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Content-Type text/plain\n\n", &r),
	    CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Content-Type: a\n b\n\n", &r), CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Bad Name: x\nContent-Type: a\n\n", &r),
	    CGIRESP_MALFORMED);
	ASSERT_EQ(parse("Content-Type: a\nContent-Type: b\n\n", &r),
	    CGIRESP_MALFORMED);
}

static void
injection_refused(void)
{
	struct cgiresp	 r;

	ASSERT_EQ(parse("Content-Type: a\r\nX-A: a\rSet-Cookie: x\r\n\r\n",
	    &r), CGIRESP_MALFORMED);
	ASSERT_EQ(cgiresp_parse(a, "Content-Type: a\0b\n\n", 19, 8192, &r),
	    CGIRESP_MALFORMED);
}

static void
header_size_limit(void)
{
	struct cgiresp	 r;
	char		 big[10100];

	memset(big, 'x', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	memcpy(big + 10000, "\r\n\r\nbody", 9);
	ASSERT_EQ(cgiresp_parse(a, big, strlen(big), 8192, &r),
	    CGIRESP_HEADER_TOO_LARGE);
	memset(big, 'x', sizeof(big));
	ASSERT_EQ(cgiresp_parse(a, big, 9000, 8192, &r),
	    CGIRESP_HEADER_TOO_LARGE);
	ASSERT_EQ(cgiresp_parse(a, "Content-Type: a\n\n", 17, 17, &r),
	    CGIRESP_OK);
	ASSERT_EQ(cgiresp_parse(a, "Content-Type: a\n\n", 17, 16, &r),
	    CGIRESP_HEADER_TOO_LARGE);
}

static void
reasons(void)
{
	ASSERT_STR(cgiresp_reason(200), "OK");
	ASSERT_STR(cgiresp_reason(404), "Not Found");
	ASSERT_STR(cgiresp_reason(299), "OK");
}

int
main(void)
{
	a = arena_new(4096);
	RUN(document);
	RUN(status_forms);
	RUN(nph_line);
	RUN(locations);
	RUN(malformed);
	RUN(injection_refused);
	RUN(header_size_limit);
	RUN(reasons);
	arena_free(a);
	return unit_done();
}
