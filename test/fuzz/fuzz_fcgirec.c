/*
 * fuzz_fcgirec.c: the FastCGI record checker that stands in front of
 * libfcgi, on any bytes a peer might send. Invariants: records never run
 * past the input; the parameters accepted never exceed
 * FCGIREC_MAX_PARAMS and no accepted pair declares more (so libfcgi's
 * int arithmetic cannot overflow); a prefix of the input is read the same
 * way, up to where it runs out (checking as bytes arrive and checking all
 * at once agree); answers to management records fit their buffer.
 */
#include "fcgirec.h"
#include "fuzz.h"

/* Scans n bytes; writes the kinds seen into out. Returns how many. */
static size_t
scan(const uint8_t *p, size_t n, enum fcgirec_kind *out, size_t max)
{
	struct fcgirec	 s;
	struct fcgirec_rec r;
	enum fcgirec_kind k;
	unsigned char	 ans[96];
	size_t		 o = 0, off = 0;

	fcgirec_init(&s);
	while (o < max) {
		k = fcgirec_next(&s, p + off, n - off, &r);
		out[o++] = k;
		if (k == FCGIREC_NEED || k == FCGIREC_BAD)
			break;
		FUZZ_ASSERT(r.len >= FCGIREC_HEADER_LEN && r.len <= n - off);
		FUZZ_ASSERT(r.content + r.content_len <= p + n);
		FUZZ_ASSERT(s.params_len <= FCGIREC_MAX_PARAMS);
		FUZZ_ASSERT(s.pair_state != 4 || s.skip <= FCGIREC_MAX_PARAMS);
		if (k == FCGIREC_VALUES)
			FUZZ_ASSERT(fcgirec_values_result(r.content,
			    r.content_len, ans, sizeof(ans)) > 0);
		if (k == FCGIREC_MGMT_UNKNOWN)
			FUZZ_ASSERT(fcgirec_unknown_type(r.type, ans,
			    sizeof(ans)) == 16);
		off += r.len;
		if (k == FCGIREC_STDIN_END || k == FCGIREC_ABORT)
			break;
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fcgirec_kind all[256], part[256];
	size_t		 na, np, cut, i;

	na = scan(data, size, all, 256);
	if (size < 2)
		return 0;
	cut = (size_t)data[0] * size / 256;
	np = scan(data, cut, part, 256);
	/* The prefix agrees with the whole, except where it ran out. */
	for (i = 0; i + 1 < np && i < na; i++)
		FUZZ_ASSERT(part[i] == all[i]);
	FUZZ_ASSERT(np <= na || part[np - 1] == FCGIREC_NEED);
	if (np > 0 && part[np - 1] != FCGIREC_NEED && np <= na)
		FUZZ_ASSERT(part[np - 1] == all[np - 1]);
	return 0;
}
