/* test_status.c: status page formats, from a snapshot built by hand and
 * from a scoreboard fed like workers feed it. */
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "unit.h"

static int
contains(const struct buf *b, const char *s)
{
	return b->data != NULL && strstr(b->data, s) != NULL;
}

static void
fill(struct status_snap *s)
{
	static struct status_worker w[2];

	memset(s, 0, sizeof(*s));
	memset(w, 0, sizeof(w));
	s->version = "1.42";
	s->master_pid = 7;
	s->dynamic = 1;
	s->workers_min = 1;
	s->workers_max = 8;
	s->target = 2;
	s->workers = 2;
	s->busy = 1;
	s->idle = 1;
	s->spawned = 3;
	s->recycled = 1;
	s->crashed = 0;
	s->nrows = 2;
	strcpy(s->rows[0].name, "(none)");
	s->rows[0].status[3] = 2;
	s->rows[0].latency[0] = 2;
	strcpy(s->rows[1].name, "app\"x");
	s->rows[1].status[1] = 5;
	s->rows[1].status[4] = 1;
	s->rows[1].deadline = 1;
	s->rows[1].canceled = 2;
	s->rows[1].latency[0] = 3;
	s->rows[1].latency[7] = 2;
	s->rows[1].latency[SCOREBOARD_BUCKETS - 1] = 1;
	s->rows[1].latency_sum_us = 1500000;
	w[0].pid = 11;
	w[0].state = SCOREBOARD_BUSY;
	w[0].handler = "app\"x";
	w[0].elapsed_ms = 12;
	w[1].pid = 12;
	w[1].state = SCOREBOARD_IDLE;
	w[1].served = 4;
	s->w = w;
	s->nw = 2;
}

static void
json(void)
{
	struct status_snap s;
	struct buf	 b;

	fill(&s);
	buf_init(&b);
	status_format_json(&s, &b);
	ASSERT(contains(&b, "{\"version\":\"1.42\",\"master_pid\":7,"));
	ASSERT(contains(&b, "\"pool\":{\"mode\":\"dynamic\",\"workers\":2,"
	    "\"busy\":1,\"idle\":1,"));
	ASSERT(contains(&b, "\"spawned\":3,\"recycled\":1,\"crashed\":0,"));
	ASSERT(contains(&b, "\"requests\":{\"total\":8,\"status\":"
	    "{\"1xx\":0,\"2xx\":5,\"3xx\":0,\"4xx\":2,\"5xx\":1}"));
	ASSERT(contains(&b, "\"app\\\"x\":{\"total\":6,"));
	ASSERT(contains(&b, "\"deadline_exceeded\":1,\"canceled\":2,"));
	ASSERT(contains(&b, "\"buckets\":{\"5\":3,\"10\":3,"));
	ASSERT(contains(&b, "\"1000\":5,"));
	ASSERT(contains(&b, "\"60000\":5,\"+Inf\":6},\"sum\":1500.000}"));
	ASSERT(contains(&b, "{\"pid\":11,\"generation\":0,\"state\":\"busy\""));
	ASSERT(contains(&b, "\"handler\":\"app\\\"x\",\"elapsed_ms\":12}"));
	ASSERT(contains(&b, "\"state\":\"idle\",\"stopping\":false,"
	    "\"started\":0,\"requests\":4,"));
	ASSERT(b.data[b.len - 1] == '\n');
	buf_free(&b);
}

static void
prometheus(void)
{
	struct status_snap s;
	struct buf	 b;

	fill(&s);
	buf_init(&b);
	status_format_prometheus(&s, &b);
	ASSERT(contains(&b, "# TYPE warmcgi_workers gauge\n"
	    "warmcgi_workers{state=\"idle\"} 1\n"
	    "warmcgi_workers{state=\"busy\"} 1\n"));
	ASSERT(contains(&b, "\nwarmcgi_workers_spawned_total 3\n"));
	ASSERT(contains(&b, "\nwarmcgi_info{version=\"1.42\",mode=\"dynamic\"}"
	    " 1\n"));
	ASSERT(contains(&b, "\nwarmcgi_requests_total{handler=\"app\\\"x\","
	    "code=\"2xx\"} 5\n"));
	ASSERT(contains(&b, "\nwarmcgi_requests_total{handler=\"(none)\","
	    "code=\"4xx\"} 2\n"));
	ASSERT(contains(&b, "\nwarmcgi_deadline_exceeded_total{handler="
	    "\"app\\\"x\"} 1\n"));
	ASSERT(contains(&b, "\nwarmcgi_requests_canceled_total{handler="
	    "\"app\\\"x\"} 2\n"));
	ASSERT(contains(&b, "# TYPE warmcgi_request_duration_seconds "
	    "histogram\n"));
	ASSERT(contains(&b, "\nwarmcgi_request_duration_seconds_bucket{handler"
	    "=\"app\\\"x\",le=\"0.005\"} 3\n"));
	ASSERT(contains(&b, "\nwarmcgi_request_duration_seconds_bucket{handler"
	    "=\"app\\\"x\",le=\"2.5\"} 5\n"));
	ASSERT(contains(&b, "\nwarmcgi_request_duration_seconds_bucket{handler"
	    "=\"app\\\"x\",le=\"+Inf\"} 6\n"));
	ASSERT(contains(&b, "\nwarmcgi_request_duration_seconds_sum{handler="
	    "\"app\\\"x\"} 1.500000\n"));
	ASSERT(contains(&b, "\nwarmcgi_request_duration_seconds_count{handler="
	    "\"app\\\"x\"} 6\n"));
	buf_free(&b);
}

static void
query(void)
{
	ASSERT(status_wants_prometheus("format=prometheus"));
	ASSERT(status_wants_prometheus("a=1&format=prometheus"));
	ASSERT(status_wants_prometheus("format=prometheus&b"));
	ASSERT(!status_wants_prometheus("format=prometheusx"));
	ASSERT(!status_wants_prometheus("xformat=prometheus"));
	ASSERT(!status_wants_prometheus("format=json"));
	ASSERT(!status_wants_prometheus(""));
	ASSERT(!status_wants_prometheus(NULL));
}

static void
scoreboard_counts(void)
{
	struct scoreboard *sb;
	struct status_snap s;
	int		 row;

	ASSERT((sb = scoreboard_new(4)) != NULL);
	row = scoreboard_row_of(sb, "hello");
	ASSERT_EQ(row, 1);
	ASSERT_EQ(scoreboard_row_of(sb, "hello"), 1);
	scoreboard_starting(sb, 1, 3);
	scoreboard_spawned(sb, 1, 1234);
	scoreboard_attach(sb, 1);
	scoreboard_ready(sb);
	scoreboard_begin(sb, row, 1000000);
	scoreboard_end(sb, row, 200, 0, 0, 1004000);	/* 4 ms */
	scoreboard_begin(sb, row, 2000000);
	scoreboard_end(sb, row, 499, 1, 1, 2000500);
	scoreboard_begin(sb, row, 3000000);		/* in progress */
	ASSERT(status_collect(sb, 3010, &s) == 0);
	ASSERT_EQ(s.nrows, 2);
	ASSERT_STR(s.rows[1].name, "hello");
	ASSERT_EQ(s.rows[1].status[1], 1);
	ASSERT_EQ(s.rows[1].status[3], 1);
	ASSERT_EQ(s.rows[1].canceled, 1);
	ASSERT_EQ(s.rows[1].deadline, 1);
	ASSERT_EQ(s.rows[1].latency[0], 2);
	ASSERT_EQ(s.rows[1].latency_sum_us, 4500);
	ASSERT_EQ(s.nw, 1);
	ASSERT_EQ(s.w[0].pid, 1234);
	ASSERT_EQ(s.w[0].gen, 3);
	ASSERT_EQ(s.w[0].state, SCOREBOARD_BUSY);
	ASSERT_STR(s.w[0].handler, "hello");
	ASSERT_EQ(s.w[0].elapsed_ms, 10);
	ASSERT_EQ(s.busy, 1);
	ASSERT_EQ(s.spawned, 1);
	status_snap_free(&s);
	/* The worker crashed: the master counts its request as a 500. */
	scoreboard_reaped(sb, 1, 0);
	ASSERT(status_collect(sb, 3010, &s) == 0);
	ASSERT_EQ(s.rows[1].status[4], 1);
	ASSERT_EQ(s.nw, 0);
	status_snap_free(&s);
	scoreboard_free(sb);
}

int
main(void)
{
	RUN(json);
	RUN(prometheus);
	RUN(query);
	RUN(scoreboard_counts);
	return unit_done();
}
