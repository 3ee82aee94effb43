/*
 * scoreboard.c: the shared scoreboard (see scoreboard.h). The master
 * creates it with scoreboard_new() before the first fork, so every worker
 * inherits the same MAP_SHARED pages; nothing is ever remapped.
 *
 * Every field has one writer at a time, so counters grow with a relaxed
 * load and store (no locked instruction, no system call): a slot belongs to
 * the master while it is free and to its worker while that one lives; the
 * master may write a slot's counters again once the worker is reaped (to
 * count the request a crash cut short). Counters are never reset: a slot
 * keeps adding up over the processes that used it, so totals are the sum
 * over all slots and only grow, as Prometheus counters must.
 *
 * Handlers are counted per name in rows; the master gives each handler
 * name a row when a config is loaded (names are kept across reloads, so a
 * handler keeps its counts). Row 0 counts requests no handler matched; a
 * config with more names than rows shares the last row.
 */
#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "scoreboard.h"

/* Upper bounds of the latency buckets, in ms (the last is +Inf). */
const long long scoreboard_bucket_ms[SCOREBOARD_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
	-1
};

/*
 * Returns the monotonic clock in ms (vDSO: no system call).
 */
long long
scoreboard_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Adds n to a counter this process is the only writer of.
 */
void
scoreboard_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

/*
 * Maps a scoreboard with nslots slots, zeroed. Returns NULL on failure
 * (errno set). Call in the master before forking.
 */
struct scoreboard *
scoreboard_new(size_t nslots)
{
	struct scoreboard *sb;
	size_t		 pool, names, size;
	char		*p;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	pool = (sizeof(struct scoreboard_pool) + 63) & ~(size_t)63;
	names = (2 * sizeof(_Atomic unsigned) + SCOREBOARD_ROWS *
	    SCOREBOARD_NAME_MAX + 63) & ~(size_t)63;
	size = pool + names + nslots * sizeof(struct scoreboard_slot);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(sb);
		return NULL;
	}
	sb->base = p;
	sb->size = size;
	sb->pool = (struct scoreboard_pool *)p;
	sb->nrows = (_Atomic unsigned *)(p + pool);
	sb->used = sb->nrows + 1;
	sb->names = (char (*)[SCOREBOARD_NAME_MAX])(p + pool +
	    2 * sizeof(_Atomic unsigned));
	sb->slots = (struct scoreboard_slot *)(p + pool + names);
	sb->nslots = nslots;
	sb->self = -1;
	strcpy(sb->names[0], "(none)");
	atomic_store(sb->nrows, 1);
	atomic_store(&sb->pool->master_pid, (int)getpid());
	atomic_store(&sb->pool->start_ms, wall_ms());
	return sb;
}

/*
 * Unmaps the scoreboard (in this process only) and frees the handle.
 */
void
scoreboard_free(struct scoreboard *sb)
{
	if (sb == NULL)
		return;
	munmap(sb->base, sb->size);
	free(sb);
}

/*
 * Returns the row counting handler name, giving it a new one if needed
 * (master only).
 */
int
scoreboard_row_of(struct scoreboard *sb, const char *name)
{
	unsigned	 i, n = atomic_load(sb->nrows);

	for (i = 0; i < n; i++)
		if (strncmp(sb->names[i], name, SCOREBOARD_NAME_MAX - 1) == 0)
			return (int)i;
	if (n == SCOREBOARD_ROWS)
		return SCOREBOARD_ROWS - 1;
	if (n == SCOREBOARD_ROWS - 1)
		name = "(other)";
	strncpy(sb->names[n], name, SCOREBOARD_NAME_MAX - 1);
	atomic_store_explicit(sb->nrows, n + 1, memory_order_release);
	return (int)n;
}

/*
 * Returns a malloc'ed array mapping each handler of c (by index) to its
 * row, or NULL when out of memory. Master only, before forking.
 */
int *
scoreboard_rows(struct scoreboard *sb, const struct conf *c)
{
	int	*rows;
	size_t	 i;

	if ((rows = calloc(c->nhandlers + 1, sizeof(*rows))) == NULL)
		return NULL;
	for (i = 0; i < c->nhandlers; i++)
		rows[i] = scoreboard_row_of(sb, c->handlers[i].name);
	return rows;
}

/*
 * Prepares slot i for a worker of generation gen, which will not serve
 * before it says so (master, before fork: the worker's own "ready" must
 * come after this).
 */
void
scoreboard_starting(struct scoreboard *sb, size_t i, unsigned gen)
{
	struct scoreboard_slot *s = &sb->slots[i];

	atomic_store(&s->gen, gen);
	atomic_store(&s->retiring, 0);
	atomic_store(&s->started_ms, wall_ms());
	atomic_store(&s->served, 0);
	atomic_store(&s->rss_bytes, 0);
	atomic_store(&s->since_ms, scoreboard_now_ms());
	atomic_store(&s->state, SCOREBOARD_STARTING);
	if (i + 1 > atomic_load(sb->used))
		atomic_store(sb->used, (unsigned)i + 1);
}

/*
 * Records the pid of the worker forked for slot i (master, after fork).
 */
void
scoreboard_spawned(struct scoreboard *sb, size_t i, int pid)
{
	atomic_store(&sb->slots[i].pid, pid);
	scoreboard_add(&sb->pool->spawned, 1);
}

/*
 * Frees slot i after its worker was reaped (master). If the worker died in
 * the middle of a request (crash: answered 500 by crash.c; hard deadline:
 * also a deadline), that request is counted here.
 */
void
scoreboard_reaped(struct scoreboard *sb, size_t i, int hard_deadline)
{
	struct scoreboard_slot *s = &sb->slots[i];
	struct timespec	 ts;
	long long	 now_us;

	if (atomic_load(&s->state) == SCOREBOARD_BUSY) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		sb->self = (int)i;
		scoreboard_end(sb, atomic_load(&s->row), 500, 0,
		    hard_deadline, now_us);
		sb->self = -1;
	}
	atomic_store(&s->state, SCOREBOARD_FREE);
	atomic_store(&s->pid, 0);
}

/*
 * Makes slot i this process's slot (a worker, after fork).
 */
void
scoreboard_attach(struct scoreboard *sb, size_t i)
{
	if (sb != NULL)
		sb->self = (int)i;
}

/*
 * Marks this worker ready to accept.
 */
void
scoreboard_ready(struct scoreboard *sb)
{
	struct scoreboard_slot *s;

	if (sb == NULL || sb->self < 0)
		return;
	s = &sb->slots[sb->self];
	atomic_store(&s->since_ms, scoreboard_now_ms());
	atomic_store_explicit(&s->state, SCOREBOARD_IDLE,
	    memory_order_release);
}

/*
 * Marks this worker busy with a request for row that started at start_us
 * (wall clock).
 */
void
scoreboard_begin(struct scoreboard *sb, int row, long long start_us)
{
	struct scoreboard_slot *s;

	if (sb == NULL || sb->self < 0)
		return;
	s = &sb->slots[sb->self];
	atomic_store_explicit(&s->row, row, memory_order_relaxed);
	atomic_store_explicit(&s->req_start_us, start_us,
	    memory_order_relaxed);
	atomic_store_explicit(&s->state, SCOREBOARD_BUSY,
	    memory_order_release);
}

/*
 * Counts the request that began with scoreboard_begin(): its row, status,
 * whether it was canceled or went past its deadline, and its latency up
 * to end_us; the worker is idle again.
 */
void
scoreboard_end(struct scoreboard *sb, int row, int status, int canceled,
    int deadline, long long end_us)
{
	struct scoreboard_slot *s;
	struct scoreboard_row *r;
	long long	 us;
	int		 b, cls;

	if (sb == NULL || sb->self < 0)
		return;
	s = &sb->slots[sb->self];
	if (row < 0 || row >= SCOREBOARD_ROWS)
		row = 0;
	r = &s->rows[row];
	us = end_us - atomic_load_explicit(&s->req_start_us,
	    memory_order_relaxed);
	if (us < 0)
		us = 0;
	for (b = 0; b < SCOREBOARD_BUCKETS - 1; b++)
		if (us <= scoreboard_bucket_ms[b] * 1000)
			break;
	cls = status / 100 - 1;
	if (cls < 0)
		cls = 0;
	if (cls > 4)
		cls = 4;
	scoreboard_add(&r->status[cls], 1);
	if (canceled)
		scoreboard_add(&r->canceled, 1);
	if (deadline)
		scoreboard_add(&r->deadline, 1);
	scoreboard_add(&r->latency[b], 1);
	scoreboard_add(&r->latency_sum_us, (uint64_t)us);
	scoreboard_add(&s->served, 1);
	atomic_store_explicit(&s->since_ms, scoreboard_now_ms(),
	    memory_order_relaxed);
	atomic_store_explicit(&s->state, SCOREBOARD_IDLE,
	    memory_order_release);
}

/*
 * Records this worker's resident set size.
 */
void
scoreboard_set_rss(struct scoreboard *sb, long long bytes)
{
	if (sb != NULL && sb->self >= 0)
		atomic_store_explicit(&sb->slots[sb->self].rss_bytes, bytes,
		    memory_order_relaxed);
}
