/*
 * status.h: the status page (status_path): a snapshot of the scoreboard,
 * formatted as JSON or as Prometheus text. Collecting reads shared memory;
 * formatting is pure and unit-tested.
 */
#ifndef WARMCGI_STATUS_H
#define WARMCGI_STATUS_H

#include <stdint.h>

#include "buf.h"
#include "scoreboard.h"

/* One handler's counters, summed over every slot. */
struct status_row {
	char		 name[SCOREBOARD_NAME_MAX];
	uint64_t	 status[5];	/* 1xx to 5xx */
	uint64_t	 deadline;
	uint64_t	 canceled;
	uint64_t	 latency[SCOREBOARD_BUCKETS];	/* per bucket */
	uint64_t	 latency_sum_us;
};

struct status_worker {
	int		 pid;
	unsigned	 gen;
	int		 state;		/* enum scoreboard_state */
	int		 retiring;
	long long	 started_ms;	/* wall clock */
	uint64_t	 served;
	long long	 rss_bytes;
	const char	*handler;	/* of the request in progress */
	long long	 elapsed_ms;	/* of the request in progress */
};

struct status_snap {
	const char	*version;	/* CURRENT_VERSION_ID */
	int		 master_pid;
	long long	 uptime_s;
	long long	 start_s;	/* wall clock, seconds */
	int		 dynamic;
	int		 workers_min, workers_max, target;
	unsigned	 gen;
	int		 workers, idle, busy, starting, stopping;
	uint64_t	 spawned, recycled, crashed, hard_deadlines, reloads;
	int		 emergency;
	long long	 emergency_since_ms;	/* wall clock */
	int		 recent_crashes, threshold;
	long long	 interval_ms;
	uint64_t	 storms;
	struct status_row rows[SCOREBOARD_ROWS];
	size_t		 nrows;
	struct status_worker *w;	/* nw entries */
	size_t		 nw;
};

int	 status_collect(struct scoreboard *, long long, struct status_snap *);
void	 status_snap_free(struct status_snap *);
void	 status_format_json(const struct status_snap *, struct buf *);
void	 status_format_prometheus(const struct status_snap *, struct buf *);
int	 status_wants_prometheus(const char *);

#endif
