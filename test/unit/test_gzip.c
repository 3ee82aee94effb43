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
accept_encoding_more(void)
{
	/* Case of names and of q; blanks around every part. */
	ASSERT(gzip_accepts("Gzip;Q=0.5"));
	ASSERT(gzip_accepts("X-GZIP"));
	ASSERT(!gzip_accepts("GZIP;Q=0"));
	ASSERT(gzip_accepts("\tgzip\t;\tq=1"));
	ASSERT(gzip_accepts("deflate,gzip"));
	ASSERT(gzip_accepts(",,gzip,,"));
	/* identity;q=0 refuses identity; gzip still needs admitting. */
	ASSERT(!gzip_accepts("identity;q=0"));
	ASSERT(gzip_accepts("identity;q=0, gzip"));
	ASSERT(gzip_accepts("identity;q=0, *"));
	ASSERT(gzip_accepts("identity, *;q=0.1"));
	/* An explicit gzip wins over *, whichever comes first. */
	ASSERT(!gzip_accepts("gzip;q=0, *"));
	ASSERT(gzip_accepts("*;q=0, gzip"));
	ASSERT(gzip_accepts("*;q=0, gzip;q=0.1"));
	/* q-values: three decimals, 1 at most; other parameters ignored. */
	ASSERT(gzip_accepts("gzip;q=1.000"));
	ASSERT(gzip_accepts("gzip;q=0.0001") == 0);
	ASSERT(gzip_accepts("gzip;level=9;q=0.2"));
	ASSERT(!gzip_accepts("gzip;level=9;q=0"));
	ASSERT(gzip_accepts("gzip;level=9"));
	/* Lookalike names are other codings. */
	ASSERT(!gzip_accepts("gzip2, xgzip, gz"));
	ASSERT(!gzip_accepts("*gzip"));
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
	/* Case, parameters, and only the given length counts. */
	ASSERT(gzip_type_ok("TEXT/CSS", 8));
	ASSERT(gzip_type_ok("Application/JSON; charset=utf-8", 31));
	ASSERT(gzip_type_ok("text/plain;charset=utf-8", 24));
	ASSERT(gzip_type_ok("application/vnd.api+json", 24));
	ASSERT(gzip_type_ok("application/problem+XML", 23));
	ASSERT(gzip_type_ok("application/x-javascript", 24));
	ASSERT(gzip_type_ok("application/xml", 15));
	ASSERT(!gzip_type_ok("application/xmlfoo", 18));
	ASSERT(!gzip_type_ok("application/json", 11));
	ASSERT(!gzip_type_ok("image/jpeg", 10));
	ASSERT(!gzip_type_ok("application/gzip", 16));
	ASSERT(!gzip_type_ok("application/zip", 15));
	ASSERT(!gzip_type_ok("font/woff2", 10));
	ASSERT(!gzip_type_ok("text", 4));
	ASSERT(!gzip_type_ok("+json", 5));
	ASSERT(!gzip_type_ok("", 0));
}

static void
vary(void)
{
	ASSERT(gzip_vary_has("Accept-Encoding", 15, "Accept-Encoding"));
	ASSERT(gzip_vary_has("accept-encoding", 15, "Accept-Encoding"));
	ASSERT(gzip_vary_has("Cookie, ACCEPT-ENCODING", 23,
	    "Accept-Encoding"));
	ASSERT(gzip_vary_has(" Cookie ,\tAccept-Encoding\t, Origin", 35,
	    "Accept-Encoding"));
	ASSERT(gzip_vary_has("*", 1, "Accept-Encoding"));
	ASSERT(gzip_vary_has(" * ", 3, "User-Agent"));
	ASSERT(!gzip_vary_has("X-Accept-Encoding", 17, "Accept-Encoding"));
	ASSERT(!gzip_vary_has("Accept-Encoding-X", 17, "Accept-Encoding"));
	ASSERT(!gzip_vary_has("Cookie", 6, "Accept-Encoding"));
	ASSERT(!gzip_vary_has("", 0, "Accept-Encoding"));
	ASSERT(!gzip_vary_has("Accept", 6, "Accept-Encoding"));
	/* Only n bytes count. */
	ASSERT(!gzip_vary_has("Cookie, Accept-Encoding", 6,
	    "Accept-Encoding"));
	ASSERT(gzip_vary_has("User-Agent, Accept-Encoding", 10,
	    "user-agent"));
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
	ASSERT(!gzip_varies(&f));
	f.enabled = 1;
	/* Forced: any type, any size, but never twice, never without a body. */
	f.user_agent = "Mozilla/5.0 gzip";
	f.content_type = "image/png";
	f.content_type_len = 9;
	f.body_len = 10;
	ASSERT(gzip_wanted(&f) && !gzip_varies(&f));
	f.accept_encoding = "gzip;q=0";
	ASSERT(!gzip_wanted(&f));
	f.accept_encoding = "gzip";
	f.status = 204;
	ASSERT(!gzip_wanted(&f));
	f.status = 200;
	f.body_len = 0;
	ASSERT(!gzip_wanted(&f));
	f.body_len = 10;
	f.encoded = 1;
	ASSERT(!gzip_wanted(&f));
	f.encoded = 0;
	f.user_agent = "Mozilla/5.0";
	ASSERT(!gzip_wanted(&f));
	/* Statuses: 1xx, 204 and 304 have no body; 404 and 500 do. */
	f.content_type = "text/html";
	f.content_type_len = 9;
	f.body_len = 1000;
	f.status = 404;
	ASSERT(gzip_wanted(&f));
	f.status = 500;
	ASSERT(gzip_wanted(&f));
	f.status = 101;
	ASSERT(!gzip_wanted(&f) && !gzip_varies(&f));
	f.status = 304;
	ASSERT(!gzip_varies(&f));
	/* The minimum is inclusive. */
	f.status = 200;
	f.body_len = 256;
	ASSERT(gzip_wanted(&f));
	f.body_len = 255;
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
	RUN(accept_encoding_more);
	RUN(content_types);
	RUN(vary);
	RUN(decision);
	RUN(round_trip);
	return unit_done();
}
