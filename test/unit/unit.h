/*
 * unit.h: a tiny TAP unit-test harness. A test is a void function using
 * the ASSERT macros; main() calls RUN() for each and returns
 * unit_done(). Output: "ok N - name" or "not ok N - name" with the failed
 * assertion on a "#" line, then "1..N".
 */
#ifndef WARMCGI_UNIT_H
#define WARMCGI_UNIT_H

#include <stdio.h>
#include <string.h>

static int	 unit_n, unit_failed, unit_cur_failed;

#define FAIL_AT(...) do {						\
	printf("# %s:%d: ", __FILE__, __LINE__);			\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	unit_cur_failed = 1;						\
	return;								\
} while (0)

#define ASSERT(c) do {							\
	if (!(c))							\
		FAIL_AT("assertion failed: %s", #c);			\
} while (0)

#define ASSERT_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		FAIL_AT("%s == %lld, expected %lld", #a, _a, _b);	\
} while (0)

#define ASSERT_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0)		\
		FAIL_AT("%s == \"%s\", expected \"%s\"", #a,		\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
} while (0)

#define ASSERT_MEM(a, n, b) do {					\
	if ((size_t)(n) != strlen(b) || memcmp((a), (b), (n)) != 0)	\
		FAIL_AT("%s == \"%.*s\", expected \"%s\"", #a,		\
		    (int)(n), (const char *)(a), (b));			\
} while (0)

#define RUN(fn) do {							\
	unit_cur_failed = 0;						\
	fn();								\
	unit_n++;							\
	if (unit_cur_failed)						\
		unit_failed++;						\
	printf("%sok %d - %s\n", unit_cur_failed ? "not " : "",	\
	    unit_n, #fn);						\
} while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

#endif
