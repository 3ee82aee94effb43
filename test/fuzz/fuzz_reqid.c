/*
 * fuzz_reqid.c: REQUEST_LOG_ID generation and ordering. The input gives
 * two (start time, random bits, counter) triples. Invariants: an id is
 * 40 lowercase hex digits; ids of different triples differ; an earlier
 * start always sorts first (App Engine's promise: sort the ids, get the
 * requests in start order); with equal starts, the order is that of the
 * random bits, then of the counter.
 */
#include "fuzz.h"
#include "req.h"

struct triple {
	long long	 start_us;
	uint64_t	 bits;
	uint32_t	 counter;
};

static void
take(const uint8_t *d, struct triple *t)
{
	uint64_t	 u;

	memcpy(&u, d, 8);
	/* Start times are since the epoch: non-negative. */
	t->start_us = (long long)(u >> 1);
	memcpy(&t->bits, d + 8, 8);
	memcpy(&t->counter, d + 16, 4);
}

static void
well_formed(const char *id)
{
	size_t	 i;

	FUZZ_ASSERT(strlen(id) == REQ_ID_LEN);
	for (i = 0; i < REQ_ID_LEN; i++)
		FUZZ_ASSERT((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f'));
}

static int
cmp3(const struct triple *a, const struct triple *b)
{
	if (a->start_us != b->start_us)
		return a->start_us < b->start_us ? -1 : 1;
	if (a->bits != b->bits)
		return a->bits < b->bits ? -1 : 1;
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct triple	 a, b;
	char		 ia[REQ_ID_LEN + 1], ib[REQ_ID_LEN + 1];
	int		 c;

	if (size < 40)
		return 0;
	take(data, &a);
	take(data + 20, &b);
	req_id_format(ia, a.start_us, a.bits, a.counter);
	req_id_format(ib, b.start_us, b.bits, b.counter);
	well_formed(ia);
	well_formed(ib);
	c = strcmp(ia, ib);
	c = c < 0 ? -1 : c > 0;
	/* Start times up to 2^64 us (584,000 years) keep their order. */
	FUZZ_ASSERT(c == cmp3(&a, &b));
	return 0;
}
