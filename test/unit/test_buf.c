/* test_buf.c: the growable buffer and the per-request arena. */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "unit.h"

static void
append_and_printf(void)
{
	struct buf	 b;
	int		 i;

	buf_init(&b);
	ASSERT_EQ(buf_puts(&b, "abc"), 0);
	ASSERT_EQ(buf_printf(&b, "-%d-%s", 42, "x"), 0);
	ASSERT_STR(b.data, "abc-42-x");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%04d", i);
	ASSERT_EQ(b.len, 8 + 4000);
	ASSERT_EQ(b.data[b.len], '\0');
	buf_reset(&b);
	ASSERT_EQ(b.len, 0);
	ASSERT(b.cap >= 4009);
	buf_trim(&b, 16);
	ASSERT(b.data == NULL);
	buf_free(&b);
}

static void
reserve_overflow_fails(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_puts(&b, "x");
	ASSERT_EQ(buf_reserve(&b, (size_t)-1), -1);
	ASSERT_STR(b.data, "x");
	buf_free(&b);
}

static void
arena_reuses_first_chunk(void)
{
	struct arena	*a = arena_new(128);
	char		*p, *q, *big;

	ASSERT(a != NULL);
	p = arena_strdup(a, "hello");
	ASSERT_STR(p, "hello");
	big = arena_alloc(a, 10000);
	ASSERT(big != NULL);
	big[9999] = 1;
	q = arena_printf(a, "%s-%d", "n", 7);
	ASSERT_STR(q, "n-7");
	ASSERT(((uintptr_t)arena_alloc(a, 3) & 15) == 0);
	arena_reset(a);
	ASSERT(arena_strdup(a, "again") == p);
	ASSERT(arena_calloc(a, (size_t)-1, 16) == NULL);
	arena_free(a);
}

int
main(void)
{
	RUN(append_and_printf);
	RUN(reserve_overflow_fails);
	RUN(arena_reuses_first_chunk);
	return unit_done();
}
