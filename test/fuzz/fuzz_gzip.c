/*
 * fuzz_gzip.c: the compression decision and the deflate stream. The input
 * is "ACCEPT-ENCODING\nUSER-AGENT\nCONTENT-TYPE\nBODY". Invariants:
 * "gzip;q=0" is never accepted, a compressed body inflates back to the
 * body, gzip_wanted() implies that the client accepts gzip and, unless it
 * forces gzip (User-Agent), that the response varies.
 */
#include <zlib.h>

#include "fuzz.h"
#include "gzip.h"

static char *
field(char **p)
{
	char	*s = *p, *nl = strchr(s, '\n');

	if (nl == NULL) {
		*p = s + strlen(s);
		return s;
	}
	*nl = '\0';
	*p = nl + 1;
	return s;
}

static void
round_trip(struct gzip *g, const char *body, size_t len)
{
	struct buf	 out;
	z_stream	 zs;
	unsigned char	*back;

	buf_init(&out);
	FUZZ_ASSERT(gzip_compress(g, body, len, &out) == 0);
	back = malloc(len + 1);
	memset(&zs, 0, sizeof(zs));
	FUZZ_ASSERT(back != NULL && inflateInit2(&zs, 31) == Z_OK);
	zs.next_in = (unsigned char *)out.data;
	zs.avail_in = (uInt)out.len;
	zs.next_out = back;
	zs.avail_out = (uInt)len + 1;
	FUZZ_ASSERT(inflate(&zs, Z_FINISH) == Z_STREAM_END);
	FUZZ_ASSERT(zs.total_out == len && memcmp(back, body, len) == 0);
	inflateEnd(&zs);
	free(back);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gzip *g;
	struct gzip_facts f;
	char		*s = fuzz_str(data, size), *p = s, *ae, *ua, *ct;

	if (g == NULL && (g = gzip_new(1)) == NULL)
		abort();
	ae = field(&p);
	ua = field(&p);
	ct = field(&p);
	memset(&f, 0, sizeof(f));
	f.accept_encoding = ae;
	f.user_agent = ua;
	f.content_type = ct;
	f.content_type_len = strlen(ct);
	f.status = 200;
	f.body_len = strlen(p);
	f.enabled = 1;
	if (strcmp(ae, "gzip;q=0") == 0 || strcmp(ae, "gzip; q=0.000") == 0)
		FUZZ_ASSERT(!gzip_accepts(ae));
	if (gzip_wanted(&f)) {
		FUZZ_ASSERT(gzip_varies(&f) || strstr(ua, "gzip") != NULL);
		FUZZ_ASSERT(gzip_accepts(ae));
	}
	(void)gzip_type_ok(ct, strlen(ct));
	round_trip(g, p, strlen(p));
	free(s);
	return 0;
}
