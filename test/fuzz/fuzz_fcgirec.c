/*
 * fuzz_fcgirec.c: the FastCGI record checker that stands in front of
 * libfcgi, on any bytes a peer might send. Invariants: records never run
 * past the input; the parameters accepted never exceed
 * FCGIREC_MAX_PARAMS and no accepted pair declares more (so libfcgi's
 * int arithmetic cannot overflow); a prefix of the input is read the same
 * way, up to where it runs out (checking as bytes arrive and checking all
 * at once agree); the same parameters cut into one-byte records (which
 * takes the decoder's byte-by-byte path instead of its fast path) give
 * the same verdict; answers to management records fit their buffer.
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

/*
 * Copies the records of p into out with every PARAMS record of a request
 * (not a management record) cut into one-byte records (padding dropped). Returns the length, or 0 when the
 * input does not split into whole records.
 */
static size_t
split_params(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	size_t	 off = 0, o = 0, clen, len, i;

	while (n - off >= FCGIREC_HEADER_LEN) {
		clen = (size_t)p[off + 4] << 8 | p[off + 5];
		len = FCGIREC_HEADER_LEN + clen + p[off + 6];
		if (len > n - off)
			return 0;
		if (p[off + 1] != FCGIREC_PARAMS || clen == 0 ||
		    (p[off + 2] == 0 && p[off + 3] == 0)) {
			if (o + len > cap)
				return 0;
			memcpy(out + o, p + off, len);
			o += len;
		} else {
			for (i = 0; i < clen; i++) {
				if (o + 9 > cap)
					return 0;
				memcpy(out + o, p + off, 8);
				out[o + 4] = 0;
				out[o + 5] = 1;
				out[o + 6] = 0;
				out[o + 8] = p[off + 8 + i];
				o += 9;
			}
		}
		off += len;
	}
	return off == n ? o : 0;
}

/* The kinds without PARAMS_DATA (how many records carry them varies). */
static size_t
squeeze(enum fcgirec_kind *k, size_t n)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++)
		if (k[i] != FCGIREC_PARAMS_DATA)
			k[o++] = k[i];
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t	 split[9 << 16];
	enum fcgirec_kind one[256];
	size_t		 ns, n1, j;
	enum fcgirec_kind all[256], part[256];
	size_t		 na, np, cut, i;

	na = scan(data, size, all, 256);
	if (na < 256 && size <= 65536 &&
	    (ns = split_params(data, size, split, sizeof(split))) > 0) {
		n1 = scan(split, ns, one, 256);
		if (n1 < 256) {
			/* Same verdict, same records but the parameters'. */
			enum fcgirec_kind a2[256];

			memcpy(a2, all, na * sizeof(a2[0]));
			j = squeeze(a2, na);
			n1 = squeeze(one, n1);
			FUZZ_ASSERT(j == n1);
			FUZZ_ASSERT(memcmp(a2, one, j * sizeof(one[0])) == 0);
		}
	}
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
