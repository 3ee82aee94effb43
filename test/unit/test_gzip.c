/* test_gzip.c: the compression decision and a round trip. */
#include <zlib.h>

#include "gzip.h"
#include "unit.h"

static void
accept_encoding(void)
{
	ASSERT(gzip_accepts("gzip"));
	ASSERT(gzip_accepts("deflate, gzip;q=0.5, br"));
	ASSERT(gzip_accepts("GZIP"));
	ASSERT(gzip_accepts("*"));
	ASSERT(gzip_accepts("x-gzip"));
	ASSERT(!gzip_accepts("gzip;q=0"));
	ASSERT(!gzip_accepts("gzip; q=0.000"));
	ASSERT(!gzip_accepts("*;q=0"));
	ASSERT(!gzip_accepts("*, gzip;q=0"));
	ASSERT(gzip_accepts("gzip;q=0.001"));
	ASSERT(!gzip_accepts("identity;q=0"));
	ASSERT(!gzip_accepts("deflate, br"));
	ASSERT(!gzip_accepts(""));
	ASSERT(!gzip_accepts(NULL));
	ASSERT(!gzip_accepts("gzipper"));
	ASSERT(gzip_accepts(" br ,  gzip ; q=1 "));
}

static void
content_types(void)
{
	ASSERT(gzip_type_ok("text/html; charset=utf-8", 24));
	ASSERT(gzip_type_ok("application/json", 16));
	ASSERT(gzip_type_ok("application/ld+json", 19));
	ASSERT(gzip_type_ok("application/atom+xml", 20));
	ASSERT(gzip_type_ok("image/svg+xml", 13));
	ASSERT(gzip_type_ok("application/javascript", 22));
	ASSERT(!gzip_type_ok("image/png", 9));
	ASSERT(!gzip_type_ok("application/octet-stream", 24));
	ASSERT(!gzip_type_ok(NULL, 0));
}

static void
decision(void)
{
	struct gzip_facts f;

	memset(&f, 0, sizeof(f));
	f.accept_encoding = "gzip";
	f.content_type = "text/plain";
	f.content_type_len = 10;
	f.status = 200;
	f.body_len = 1000;
	f.min_len = 256;
	f.enabled = 1;
	ASSERT(gzip_wanted(&f) && gzip_varies(&f));
	f.body_len = 100;
	ASSERT(!gzip_wanted(&f) && !gzip_varies(&f));
	f.user_agent = "curl gzip";
	ASSERT(gzip_wanted(&f));
	f.user_agent = NULL;
	f.body_len = 1000;
	f.encoded = 1;
	ASSERT(!gzip_wanted(&f));
	f.encoded = 0;
	f.status = 304;
	ASSERT(!gzip_wanted(&f));
	f.status = 200;
	f.accept_encoding = "br";
	ASSERT(!gzip_wanted(&f) && gzip_varies(&f));
	f.accept_encoding = "gzip";
	f.enabled = 0;
	ASSERT(!gzip_wanted(&f));
}

static void
round_trip(void)
{
	struct gzip	*g = gzip_new(6);
	struct buf	 out;
	char		 in[20000], back[20000];
	z_stream	 zs;
	int		 i;

	ASSERT(g != NULL);
	for (i = 0; i < (int)sizeof(in); i++)
		in[i] = "warmcgi "[i % 8];
	buf_init(&out);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(gzip_compress(g, in, sizeof(in), &out), 0);
		ASSERT((unsigned char)out.data[0] == 0x1f);
		ASSERT((unsigned char)out.data[1] == 0x8b);
		memset(&zs, 0, sizeof(zs));
		inflateInit2(&zs, 31);
		zs.next_in = (Bytef *)out.data;
		zs.avail_in = (uInt)out.len;
		zs.next_out = (Bytef *)back;
		zs.avail_out = sizeof(back);
		ASSERT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
		ASSERT_EQ(zs.total_out, sizeof(in));
		ASSERT(memcmp(in, back, sizeof(in)) == 0);
		inflateEnd(&zs);
	}
	buf_free(&out);
}

int
main(void)
{
	RUN(accept_encoding);
	RUN(content_types);
	RUN(decision);
	RUN(round_trip);
	return unit_done();
}
