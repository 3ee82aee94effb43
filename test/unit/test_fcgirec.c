/* test_fcgirec.c: checking a front end's FastCGI records. */
#include <stdlib.h>

#include "fcgirec.h"
#include "unit.h"

/* A record: header, content, padding. Returns its length. */
static size_t
rec(unsigned char *out, int type, unsigned id, const void *content,
    size_t len, size_t pad)
{
	fcgirec_header(out, type, id, len);
	out[6] = (unsigned char)pad;
	memcpy(out + 8, content, len);
	memset(out + 8 + len, 0, pad);
	return 8 + len + pad;
}

static size_t
begin(unsigned char *out, unsigned id, int role, int flags)
{
	unsigned char	 b[8] = { 0 };

	b[1] = (unsigned char)role;
	b[2] = (unsigned char)flags;

	return rec(out, FCGIREC_BEGIN_REQUEST, id, b, 8, 0);
}

/* Runs fcgirec_next over n bytes; returns the kinds as letters. */
static const char *
scan(const unsigned char *p, size_t n, struct fcgirec *s)
{
	static char	 out[128];
	static const char letters[] = "NxBpPsSAVU";
	struct fcgirec_rec r;
	enum fcgirec_kind k;
	size_t		 o = 0;

	fcgirec_init(s);
	for (;;) {
		k = fcgirec_next(s, p, n, &r);
		out[o++] = letters[k];
		if (k == FCGIREC_NEED || k == FCGIREC_BAD ||
		    k == FCGIREC_STDIN_END || k == FCGIREC_ABORT ||
		    o == sizeof(out) - 1)
			break;
		p += r.len;
		n -= r.len;
	}
	out[o] = '\0';
	return out;
}

static void
clean_request(void)
{
	unsigned char	 b[512];
	struct fcgirec	 s;
	size_t		 n = 0;
	const unsigned char pairs[] = "\x0e\x03REQUEST_METHODGET"
	    "\x0b\x06SCRIPT_NAME/hello";

	n += begin(b + n, 1, 1, 1);
	n += rec(b + n, FCGIREC_PARAMS, 1, pairs, sizeof(pairs) - 1, 3);
	n += rec(b + n, FCGIREC_PARAMS, 1, "", 0, 0);
	n += rec(b + n, FCGIREC_STDIN, 1, "body", 4, 4);
	n += rec(b + n, FCGIREC_STDIN, 1, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "BpPsS");
	ASSERT_EQ(s.request_id, 1);
	ASSERT_EQ(s.keep_conn, 1);
	/* Every prefix is incomplete, never bad. */
	ASSERT_STR(scan(b, 7, &s), "N");
	ASSERT_STR(scan(b, 20, &s), "BN");
	ASSERT_STR(scan(b, n - 1, &s), "BpPsN");
}

/* A pair's bytes may straddle records, lengths included. */
static void
pairs_across_records(void)
{
	unsigned char	 b[512];
	struct fcgirec	 s;
	size_t		 n = 0;

	n += begin(b + n, 7, 1, 0);
	n += rec(b + n, FCGIREC_PARAMS, 7, "\x80\x00", 2, 0);
	n += rec(b + n, FCGIREC_PARAMS, 7, "\x00\x03\x02NA", 5, 0);
	n += rec(b + n, FCGIREC_PARAMS, 7, "Mvv", 3, 0);
	n += rec(b + n, FCGIREC_PARAMS, 7, "", 0, 0);
	n += rec(b + n, FCGIREC_STDIN, 7, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "BpppPS");
	/* Cut inside the pair: bad at the end of the parameters. */
	n = begin(b, 7, 1, 0);
	n += rec(b + n, FCGIREC_PARAMS, 7, "\x03\x02NA", 4, 0);
	n += rec(b + n, FCGIREC_PARAMS, 7, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "Bpx");
}

/* CVE-2025-23016: lengths whose int sum libfcgi gets wrong. */
static void
crafted_lengths_refused(void)
{
	static const unsigned char lens[][8] = {
		{ 0xc0, 0, 0, 0, 0xbf, 0xff, 0xff, 0xff },
		{ 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe },
		{ 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0 },
		{ 0x80, 0x02, 0, 1, 0x00, 0, 0, 0 },	/* 128K + 1 */
	};
	unsigned char	 b[256];
	struct fcgirec	 s;
	size_t		 i, n;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = begin(b, 1, 1, 0);
		n += rec(b + n, FCGIREC_PARAMS, 1, lens[i], 8, 0);
		ASSERT_STR(scan(b, n, &s), "Bx");
		ASSERT(strstr(s.error, "128 KiB") != NULL);
	}
	/* Exactly the limit is fine (the bytes just have not come). */
	n = begin(b, 1, 1, 0);
	n += rec(b + n, FCGIREC_PARAMS, 1, "\x80\x02\x00\x00\x00", 5, 0);
	ASSERT_STR(scan(b, n, &s), "BpN");
}

static void
params_total_limited(void)
{
	unsigned char	*b = malloc(3 * 70000);
	unsigned char	*chunk = calloc(1, 65535);
	struct fcgirec	 s;
	size_t		 n;

	ASSERT(b != NULL && chunk != NULL);
	/* Pairs of one-byte names and empty values: 65535 / 3 each. */
	for (n = 0; n + 3 <= 65535; n += 3)
		memcpy(chunk + n, "\x01\x00x", 3);
	n = begin(b, 1, 1, 0);
	n += rec(b + n, FCGIREC_PARAMS, 1, chunk, 65535, 0);
	n += rec(b + n, FCGIREC_PARAMS, 1, chunk, 65535, 0);
	n += rec(b + n, FCGIREC_PARAMS, 1, chunk, 65535, 0);
	ASSERT_STR(scan(b, n, &s), "Bppx");
	free(b);
	free(chunk);
}

static void
protocol_violations(void)
{
	unsigned char	 b[256];
	struct fcgirec	 s;
	size_t		 n;

	n = rec(b, FCGIREC_PARAMS, 1, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "x");
	n = begin(b, 1, 2, 0);		/* authorizer */
	ASSERT_STR(scan(b, n, &s), "x");
	n = begin(b, 1, 1, 0);
	n += begin(b + n, 2, 1, 0);
	ASSERT_STR(scan(b, n, &s), "Bx");
	n = begin(b, 1, 1, 0);
	n += rec(b + n, FCGIREC_PARAMS, 2, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "Bx");
	n = begin(b, 1, 1, 0);
	n += rec(b + n, FCGIREC_STDIN, 1, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "Bx");
	n = begin(b, 1, 1, 0);
	n += rec(b + n, 77, 1, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "Bx");
	n = begin(b, 1, 1, 0);
	b[n - 16] = 2;			/* version */
	ASSERT_STR(scan(b, n, &s), "x");
	n = rec(b, FCGIREC_BEGIN_REQUEST, 0, "\0\1\0\0\0\0\0\0", 8, 0);
	ASSERT_STR(scan(b, n, &s), "x");
	n = rec(b, FCGIREC_BEGIN_REQUEST, 1, "\0\1\0\0\0\0\0", 7, 0);
	ASSERT_STR(scan(b, n, &s), "x");
}

static void
abort_and_management(void)
{
	unsigned char	 b[512], out[96];
	struct fcgirec	 s;
	struct fcgirec_rec r;
	size_t		 n;
	const unsigned char gv[] = "\x0e\x00" "FCGI_MAX_CONNS" "\x0e\x00"
	    "FCGI_MAX_CONNS" "\x0f\x00" "FCGI_MPXS_CONNS" "\x03\x00" "XYZ";

	n = begin(b, 1, 1, 0);
	n += rec(b + n, FCGIREC_ABORT_REQUEST, 1, "", 0, 0);
	ASSERT_STR(scan(b, n, &s), "BA");
	n = rec(b, 42, 0, "12345678", 8, 0);
	n += rec(b + n, FCGIREC_GET_VALUES, 0, gv, sizeof(gv) - 1, 0);
	n += begin(b + n, 1, 1, 0);
	ASSERT_STR(scan(b, n, &s), "UVBN");
	/* Each known name answered once, the unknown one left out. */
	fcgirec_init(&s);
	ASSERT_EQ(fcgirec_next(&s, b + 16, n - 16, &r), FCGIREC_VALUES);
	n = fcgirec_values_result(r.content, r.content_len, out, sizeof(out));
	ASSERT_EQ(n, 8 + 17 + 18 + 5);
	ASSERT_EQ(out[1], FCGIREC_GET_VALUES_RESULT);
	ASSERT_EQ(out[5], 35);
	ASSERT_EQ(out[6], 5);
	ASSERT_MEM(out + 8, 19, "\x0e\x01" "FCGI_MAX_CONNS1\x0f\x01");
	ASSERT_EQ(fcgirec_unknown_type(42, out, sizeof(out)), 16);
	ASSERT_EQ(out[1], FCGIREC_UNKNOWN_TYPE);
	ASSERT_EQ(out[8], 42);
	/* A GET_VALUES pair longer than its record is refused. */
	n = rec(b, FCGIREC_GET_VALUES, 0, "\xc0\0\0\0\xbf\xff\xff\xff", 8, 0);
	ASSERT_STR(scan(b, n, &s), "x");
}

static void
management_records_limited(void)
{
	unsigned char	 b[16 * (FCGIREC_MAX_MGMT + 2)];
	struct fcgirec	 s;
	size_t		 n = 0, i;

	for (i = 0; i < FCGIREC_MAX_MGMT + 1; i++)
		n += rec(b + n, 42, 0, "12345678", 8, 0);
	ASSERT(strchr(scan(b, n, &s), 'x') != NULL);
	ASSERT_EQ(strlen(scan(b, n, &s)), FCGIREC_MAX_MGMT + 1);
}

int
main(void)
{
	RUN(clean_request);
	RUN(pairs_across_records);
	RUN(crafted_lengths_refused);
	RUN(params_total_limited);
	RUN(protocol_violations);
	RUN(abort_and_management);
	RUN(management_records_limited);
	return unit_done();
}
