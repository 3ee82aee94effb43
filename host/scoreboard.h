/*
 * scoreboard.h: the memory the master and its workers share. The master
 * maps it before the first fork; each worker owns one slot and writes its
 * state and request counters there with atomic stores (no lock, no system
 * call); the master reads the slots to scale the pool and writes the pool
 * counters; the status page reads everything.
 */
#ifndef WARMCGI_SCOREBOARD_H
#define WARMCGI_SCOREBOARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SCOREBOARD_ROWS		64	/* handlers counted by name */
#define SCOREBOARD_NAME_MAX	64
#define SCOREBOARD_BUCKETS	14	/* latency buckets, the last is +Inf */

struct conf;

enum scoreboard_state {
	SCOREBOARD_FREE,	/* no process */
	SCOREBOARD_STARTING,	/* forked, not yet accepting */
	SCOREBOARD_IDLE,	/* waiting for a request */
	SCOREBOARD_BUSY		/* serving one */
};

/* One handler's counters in one slot; they only grow. */
struct scoreboard_row {
	_Atomic uint64_t status[5];	/* 1xx to 5xx */
	_Atomic uint64_t deadline;	/* went past the soft deadline */
	_Atomic uint64_t canceled;	/* the client went away */
	_Atomic uint64_t latency[SCOREBOARD_BUCKETS];	/* per bucket */
	_Atomic uint64_t latency_sum_us;
};

struct scoreboard_slot {
	/* Written by the master. */
	_Atomic int	 pid;		/* 0: free */
	_Atomic unsigned gen;		/* generation (config load) */
	_Atomic int	 retiring;	/* told to stop */
	_Atomic long long started_ms;	/* wall clock, ms since the epoch */
	/* Written by the worker (by the master before and after it). */
	_Atomic int	 state;		/* enum scoreboard_state */
	_Atomic long long since_ms;	/* monotonic ms of the last change */
	_Atomic int	 row;		/* row of the request in progress */
	_Atomic long long req_start_us;	/* wall clock, of that request */
	_Atomic uint64_t served;	/* requests of this process */
	_Atomic long long rss_bytes;	/* last measured, 0: unknown */
	/* Counters of every process that used the slot. */
	struct scoreboard_row rows[SCOREBOARD_ROWS];
};

/* Pool-wide values; written by the master only. */
struct scoreboard_pool {
	_Atomic int	 master_pid;
	_Atomic long long start_ms;	/* wall clock */
	_Atomic int	 dynamic;
	_Atomic int	 workers_min;
	_Atomic int	 workers_max;
	_Atomic int	 target;	/* workers wanted now */
	_Atomic unsigned gen;
	_Atomic uint64_t spawned;
	_Atomic uint64_t recycled;	/* max_requests, memory, new file */
	_Atomic uint64_t crashed;	/* died by a signal */
	_Atomic uint64_t hard_deadlines;	/* ended at a hard deadline */
	_Atomic uint64_t reloads;
	_Atomic uint64_t storms;	/* crash storms seen */
	_Atomic int	 emergency;	/* in a crash storm now */
	_Atomic long long emergency_since_ms;	/* wall clock */
	_Atomic int	 recent_crashes;	/* in the last interval */
	_Atomic int	 threshold;
	_Atomic long long interval_ms;
	_Atomic int	 draining;	/* new connections are refused */
	char		 version[96];	/* CURRENT_VERSION_ID */
};

struct scoreboard {
	struct scoreboard_pool	*pool;
	struct scoreboard_slot	*slots;
	size_t			 nslots;
	_Atomic unsigned	*nrows;		/* row names in use */
	char			(*names)[SCOREBOARD_NAME_MAX];
	_Atomic unsigned	*used;		/* slots ever used (high water) */
	int			 self;		/* a worker's slot, or -1 */
	size_t			 size;		/* of the mapping */
	void			*base;
};

extern const long long scoreboard_bucket_ms[SCOREBOARD_BUCKETS];

struct scoreboard *scoreboard_new(size_t);
void		 scoreboard_free(struct scoreboard *);
int		*scoreboard_rows(struct scoreboard *, const struct conf *);
int		 scoreboard_row_of(struct scoreboard *, const char *);
void		 scoreboard_starting(struct scoreboard *, size_t, unsigned);
void		 scoreboard_spawned(struct scoreboard *, size_t, int);
void		 scoreboard_reaped(struct scoreboard *, size_t, int);
void		 scoreboard_attach(struct scoreboard *, size_t);
void		 scoreboard_ready(struct scoreboard *);
void		 scoreboard_begin(struct scoreboard *, int, long long);
void		 scoreboard_end(struct scoreboard *, int, int, int, int,
		    long long);
void		 scoreboard_set_rss(struct scoreboard *, long long);
long long	 scoreboard_now_ms(void);
void		 scoreboard_add(_Atomic uint64_t *, uint64_t);

#endif
