/*
 * status.c: what status_path answers. status_collect() copies the shared
 * scoreboard into a plain snapshot (the pool, one row of counters per
 * handler summed over every slot, one entry per live worker, with its
 * resident size from /proc unless max_worker_memory measures it); the
 * formatters turn a snapshot into JSON or into the Prometheus text format
 * (version 0.0.4) and are pure. pipeline.c calls them for the built-in
 * HANDLER_STATUS, in whichever worker took the request.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"

static const char *state_names[] = { "free", "starting", "idle", "busy" };
static const char *class_names[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

static void
sum_row(struct status_row *to, const struct scoreboard_row *r)
{
	int	 i;

	for (i = 0; i < 5; i++)
		to->status[i] += atomic_load_explicit(&r->status[i],
		    memory_order_relaxed);
	to->deadline += atomic_load_explicit(&r->deadline,
	    memory_order_relaxed);
	to->canceled += atomic_load_explicit(&r->canceled,
	    memory_order_relaxed);
	for (i = 0; i < SCOREBOARD_BUCKETS; i++)
		to->latency[i] += atomic_load_explicit(&r->latency[i],
		    memory_order_relaxed);
	to->latency_sum_us += atomic_load_explicit(&r->latency_sum_us,
	    memory_order_relaxed);
}

static void
collect_pool(const struct scoreboard_pool *p, long long now_ms,
    struct status_snap *s)
{
	s->version = p->version;
	s->master_pid = atomic_load(&p->master_pid);
	s->start_s = atomic_load(&p->start_ms) / 1000;
	s->uptime_s = (now_ms - atomic_load(&p->start_ms)) / 1000;
	s->dynamic = atomic_load(&p->dynamic);
	s->workers_min = atomic_load(&p->workers_min);
	s->workers_max = atomic_load(&p->workers_max);
	s->target = atomic_load(&p->target);
	s->gen = atomic_load(&p->gen);
	s->spawned = atomic_load(&p->spawned);
	s->recycled = atomic_load(&p->recycled);
	s->crashed = atomic_load(&p->crashed);
	s->hard_deadlines = atomic_load(&p->hard_deadlines);
	s->reloads = atomic_load(&p->reloads);
	s->storms = atomic_load(&p->storms);
	s->emergency = atomic_load(&p->emergency);
	s->emergency_since_ms = atomic_load(&p->emergency_since_ms);
	s->recent_crashes = atomic_load(&p->recent_crashes);
	s->threshold = atomic_load(&p->threshold);
	s->interval_ms = atomic_load(&p->interval_ms);
}

/* Reads a process's resident set size from /proc; 0 if unknown. */
static long long
proc_rss(int pid)
{
	char		 path[64], text[128], *p;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if ((p = strchr(text, ' ')) == NULL)
		return 0;
	return strtoll(p + 1, NULL, 10) * sysconf(_SC_PAGESIZE);
}

static void
collect_worker(const struct scoreboard *sb, const struct scoreboard_slot *sl,
    long long now_ms, struct status_snap *s)
{
	struct status_worker *w = &s->w[s->nw++];
	int	 row;

	w->pid = atomic_load(&sl->pid);
	w->gen = atomic_load(&sl->gen);
	w->state = atomic_load_explicit(&sl->state, memory_order_acquire);
	w->retiring = atomic_load(&sl->retiring);
	w->started_ms = atomic_load(&sl->started_ms);
	w->served = atomic_load(&sl->served);
	w->rss_bytes = atomic_load(&sl->rss_bytes);
	if (w->rss_bytes == 0 && w->pid > 0)
		w->rss_bytes = proc_rss(w->pid);
	if (w->state == SCOREBOARD_BUSY) {
		row = atomic_load(&sl->row);
		if (row < 0 || row >= SCOREBOARD_ROWS)
			row = 0;
		w->handler = sb->names[row];
		w->elapsed_ms = now_ms - atomic_load(&sl->req_start_us) / 1000;
	}
	if (w->state < SCOREBOARD_STARTING || w->state > SCOREBOARD_BUSY)
		w->state = SCOREBOARD_STARTING;
	s->workers++;
	if (w->retiring)
		s->stopping++;
	if (w->state == SCOREBOARD_STARTING)
		s->starting++;
	else if (w->state == SCOREBOARD_IDLE)
		s->idle++;
	else
		s->busy++;
}

/*
 * Fills s from the scoreboard; now_ms is the wall clock. Returns 0, or -1
 * when out of memory. Release with status_snap_free().
 */
int
status_collect(struct scoreboard *sb, long long now_ms, struct status_snap *s)
{
	const struct scoreboard_slot *sl;
	size_t		 i, used, r;

	memset(s, 0, sizeof(*s));
	collect_pool(sb->pool, now_ms, s);
	s->nrows = atomic_load_explicit(sb->nrows, memory_order_acquire);
	if (s->nrows > SCOREBOARD_ROWS)
		s->nrows = SCOREBOARD_ROWS;
	for (r = 0; r < s->nrows; r++)
		snprintf(s->rows[r].name, sizeof(s->rows[r].name), "%s",
		    sb->names[r]);
	used = atomic_load(sb->used);
	if (used > sb->nslots)
		used = sb->nslots;
	if ((s->w = calloc(used + 1, sizeof(*s->w))) == NULL)
		return -1;
	for (i = 0; i < used; i++) {
		sl = &sb->slots[i];
		for (r = 0; r < s->nrows; r++)
			sum_row(&s->rows[r], &sl->rows[r]);
		if (atomic_load(&sl->pid) != 0)
			collect_worker(sb, sl, now_ms, s);
	}
	return 0;
}

/*
 * Releases what status_collect() allocated.
 */
void
status_snap_free(struct status_snap *s)
{
	free(s->w);
	s->w = NULL;
}

/*
 * Returns 1 if the query string asks for the Prometheus text format
 * (format=prometheus), 0 for JSON.
 */
int
status_wants_prometheus(const char *query)
{
	const char	*p = query;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "format=prometheus", 17) == 0 &&
		    (p[17] == '\0' || p[17] == '&'))
			return 1;
		if ((p = strchr(p, '&')) != NULL)
			p++;
	}
	return 0;
}

/* Appends s as a JSON string (or a Prometheus label value), quoted. */
static void
put_str(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, *s);
		} else if (*s == '\n') {
			buf_puts(b, "\\n");
		} else if ((unsigned char)*s >= 0x20) {
			buf_putc(b, *s);
		}
	}
	buf_putc(b, '"');
}

static uint64_t
row_total(const struct status_row *r)
{
	uint64_t	 n = 0;
	int		 i;

	for (i = 0; i < 5; i++)
		n += r->status[i];
	return n;
}

static void
json_counters(struct buf *b, const struct status_row *r)
{
	uint64_t	 cum = 0;
	int		 i;

	buf_printf(b, "{\"total\":%llu,\"status\":{",
	    (unsigned long long)row_total(r));
	for (i = 0; i < 5; i++)
		buf_printf(b, "%s\"%s\":%llu", i ? "," : "", class_names[i],
		    (unsigned long long)r->status[i]);
	buf_printf(b, "},\"deadline_exceeded\":%llu,\"canceled\":%llu,"
	    "\"latency_ms\":{\"buckets\":{", (unsigned long long)r->deadline,
	    (unsigned long long)r->canceled);
	for (i = 0; i < SCOREBOARD_BUCKETS; i++) {
		cum += r->latency[i];
		if (scoreboard_bucket_ms[i] < 0)
			buf_printf(b, "%s\"+Inf\":%llu", i ? "," : "",
			    (unsigned long long)cum);
		else
			buf_printf(b, "%s\"%lld\":%llu", i ? "," : "",
			    scoreboard_bucket_ms[i], (unsigned long long)cum);
	}
	buf_printf(b, "},\"sum\":%.3f}}", (double)r->latency_sum_us / 1000);
}

static void
json_pool(struct buf *b, const struct status_snap *s)
{
	buf_printf(b, "\"pool\":{\"mode\":\"%s\",\"workers\":%d,\"busy\":%d,"
	    "\"idle\":%d,\"starting\":%d,\"stopping\":%d,\"target\":%d,"
	    "\"workers_min\":%d,\"workers_max\":%d,\"generation\":%u,"
	    "\"spawned\":%llu,\"recycled\":%llu,\"crashed\":%llu,"
	    "\"hard_deadlines\":%llu,\"reloads\":%llu},",
	    s->dynamic ? "dynamic" : "static", s->workers, s->busy, s->idle,
	    s->starting, s->stopping, s->target, s->workers_min,
	    s->workers_max, s->gen, (unsigned long long)s->spawned,
	    (unsigned long long)s->recycled, (unsigned long long)s->crashed,
	    (unsigned long long)s->hard_deadlines,
	    (unsigned long long)s->reloads);
	buf_printf(b, "\"emergency\":{\"active\":%s,", s->emergency ?
	    "true" : "false");
	if (s->emergency)
		buf_printf(b, "\"since\":%lld,", s->emergency_since_ms / 1000);
	buf_printf(b, "\"recent_crashes\":%d,\"threshold\":%d,"
	    "\"interval_s\":%.3f,\"storms\":%llu},", s->recent_crashes,
	    s->threshold, (double)s->interval_ms / 1000,
	    (unsigned long long)s->storms);
}

static void
json_workers(struct buf *b, const struct status_snap *s)
{
	const struct status_worker *w;
	size_t		 i;

	buf_puts(b, "\"workers\":[");
	for (i = 0; i < s->nw; i++) {
		w = &s->w[i];
		buf_printf(b, "%s{\"pid\":%d,\"generation\":%u,\"state\":"
		    "\"%s\",\"stopping\":%s,\"started\":%lld,\"requests\":%llu,"
		    "\"rss_bytes\":%lld", i ? "," : "", w->pid, w->gen,
		    state_names[w->state], w->retiring ? "true" : "false",
		    w->started_ms / 1000, (unsigned long long)w->served,
		    w->rss_bytes);
		if (w->handler != NULL) {
			buf_puts(b, ",\"handler\":");
			put_str(b, w->handler);
			buf_printf(b, ",\"elapsed_ms\":%lld", w->elapsed_ms);
		}
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

/*
 * Appends the snapshot as one JSON object (and a newline) to b.
 */
void
status_format_json(const struct status_snap *s, struct buf *b)
{
	struct status_row all;
	size_t		 r;
	int		 i;

	memset(&all, 0, sizeof(all));
	for (r = 0; r < s->nrows; r++) {
		for (i = 0; i < 5; i++)
			all.status[i] += s->rows[r].status[i];
		all.deadline += s->rows[r].deadline;
		all.canceled += s->rows[r].canceled;
		for (i = 0; i < SCOREBOARD_BUCKETS; i++)
			all.latency[i] += s->rows[r].latency[i];
		all.latency_sum_us += s->rows[r].latency_sum_us;
	}
	buf_puts(b, "{\"version\":");
	put_str(b, s->version ? s->version : "");
	buf_printf(b, ",\"master_pid\":%d,\"start_time\":%lld,"
	    "\"uptime_s\":%lld,", s->master_pid, s->start_s, s->uptime_s);
	json_pool(b, s);
	buf_puts(b, "\"requests\":");
	json_counters(b, &all);
	buf_puts(b, ",\"handlers\":{");
	for (r = 0; r < s->nrows; r++) {
		if (r > 0)
			buf_putc(b, ',');
		put_str(b, s->rows[r].name);
		buf_putc(b, ':');
		json_counters(b, &s->rows[r]);
	}
	buf_puts(b, "},");
	json_workers(b, s);
	buf_puts(b, "}\n");
}

static void
prom_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_gauge(struct buf *b, const char *name, const char *help, long long v)
{
	prom_head(b, name, "gauge", help);
	buf_printf(b, "%s %lld\n", name, v);
}

static void
prom_counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	prom_head(b, name, "counter", help);
	buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
prom_pool(struct buf *b, const struct status_snap *s)
{
	static const char *states[] = { "idle", "busy", "starting" };
	int	 v[3];
	size_t	 i;

	prom_head(b, "warmcgi_info", "gauge", "Version of the app served.");
	buf_puts(b, "warmcgi_info{version=");
	put_str(b, s->version ? s->version : "");
	buf_printf(b, ",mode=\"%s\"} 1\n", s->dynamic ? "dynamic" : "static");
	prom_gauge(b, "warmcgi_start_time_seconds", "When the master "
	    "started, in seconds since the epoch.", s->start_s);
	v[0] = s->idle;
	v[1] = s->busy;
	v[2] = s->starting;
	prom_head(b, "warmcgi_workers", "gauge", "Worker processes by state.");
	for (i = 0; i < 3; i++)
		buf_printf(b, "warmcgi_workers{state=\"%s\"} %d\n", states[i],
		    v[i]);
	prom_gauge(b, "warmcgi_workers_stopping", "Workers finishing their "
	    "last request.", s->stopping);
	prom_gauge(b, "warmcgi_workers_target", "Workers the pool wants now.",
	    s->target);
	prom_gauge(b, "warmcgi_workers_min", "workers_min.", s->workers_min);
	prom_gauge(b, "warmcgi_workers_max", "workers_max.", s->workers_max);
	prom_counter(b, "warmcgi_workers_spawned_total", "Workers started.",
	    s->spawned);
	prom_counter(b, "warmcgi_workers_recycled_total", "Workers replaced "
	    "after max_requests, max_worker_memory or a changed module.",
	    s->recycled);
	prom_counter(b, "warmcgi_workers_crashed_total", "Workers that died "
	    "of a signal.", s->crashed);
	prom_counter(b, "warmcgi_workers_hard_deadline_total", "Workers ended "
	    "by a request's hard deadline.", s->hard_deadlines);
	prom_counter(b, "warmcgi_reloads_total", "Configuration reloads.",
	    s->reloads);
	prom_gauge(b, "warmcgi_emergency", "1 during a crash storm "
	    "(emergency_restart_threshold).", s->emergency);
	prom_counter(b, "warmcgi_crash_storms_total", "Crash storms.",
	    s->storms);
}

static void
prom_label(struct buf *b, const char *metric, const char *handler,
    const char *more)
{
	buf_printf(b, "%s{handler=", metric);
	put_str(b, handler);
	buf_printf(b, "%s} ", more ? more : "");
}

static void
prom_requests(struct buf *b, const struct status_snap *s)
{
	const struct status_row *row;
	char		 le[64];
	uint64_t	 cum;
	size_t		 r;
	int		 i;

	prom_head(b, "warmcgi_requests_total", "counter", "Requests by "
	    "handler and status class.");
	for (r = 0; r < s->nrows; r++)
		for (i = 0; i < 5; i++) {
			snprintf(le, sizeof(le), ",code=\"%s\"",
			    class_names[i]);
			prom_label(b, "warmcgi_requests_total",
			    s->rows[r].name, le);
			buf_printf(b, "%llu\n",
			    (unsigned long long)s->rows[r].status[i]);
		}
	prom_head(b, "warmcgi_deadline_exceeded_total", "counter", "Requests "
	    "that went past their soft deadline.");
	for (r = 0; r < s->nrows; r++) {
		prom_label(b, "warmcgi_deadline_exceeded_total",
		    s->rows[r].name, NULL);
		buf_printf(b, "%llu\n",
		    (unsigned long long)s->rows[r].deadline);
	}
	prom_head(b, "warmcgi_requests_canceled_total", "counter", "Requests "
	    "whose client went away.");
	for (r = 0; r < s->nrows; r++) {
		prom_label(b, "warmcgi_requests_canceled_total",
		    s->rows[r].name, NULL);
		buf_printf(b, "%llu\n",
		    (unsigned long long)s->rows[r].canceled);
	}
	prom_head(b, "warmcgi_request_duration_seconds", "histogram",
	    "Time from taking a request to its end.");
	for (r = 0; r < s->nrows; r++) {
		row = &s->rows[r];
		cum = 0;
		for (i = 0; i < SCOREBOARD_BUCKETS; i++) {
			cum += row->latency[i];
			if (scoreboard_bucket_ms[i] < 0)
				snprintf(le, sizeof(le), ",le=\"+Inf\"");
			else
				snprintf(le, sizeof(le), ",le=\"%g\"",
				    (double)scoreboard_bucket_ms[i] / 1000);
			prom_label(b, "warmcgi_request_duration_seconds_bucket",
			    row->name, le);
			buf_printf(b, "%llu\n", (unsigned long long)cum);
		}
		prom_label(b, "warmcgi_request_duration_seconds_sum",
		    row->name, NULL);
		buf_printf(b, "%.6f\n", (double)row->latency_sum_us / 1e6);
		prom_label(b, "warmcgi_request_duration_seconds_count",
		    row->name, NULL);
		buf_printf(b, "%llu\n", (unsigned long long)cum);
	}
}

/*
 * Appends the snapshot in the Prometheus text exposition format to b.
 */
void
status_format_prometheus(const struct status_snap *s, struct buf *b)
{
	prom_pool(b, s);
	prom_requests(b, s);
}
