/* test_log.c: JSON escaping, time format and stderr level prefixes. */
#include <string.h>

#include "log.h"
#include "unit.h"

static void
json_escape(void)
{
	char	 out[64];
	size_t	 n;

	n = log_json_escape(out, sizeof(out), "a\"b\\c\n\t\x01", 8);
	ASSERT_MEM(out, n, "a\\\"b\\\\c\\n\\t\\u0001");
	n = log_json_escape(out, sizeof(out), "caf\xc3\xa9", 5);
	ASSERT_MEM(out, n, "caf\xc3\xa9");
	n = log_json_escape(out, sizeof(out), "bad\xff\xc3", 5);
	ASSERT_MEM(out, n, "bad\\ufffd\\ufffd");
	n = log_json_escape(out, sizeof(out), "\xed\xa0\x80", 3);
	ASSERT_MEM(out, n, "\\ufffd\\ufffd\\ufffd");
	n = log_json_escape(out, 5, "ab\ncd", 5);
	ASSERT_MEM(out, n, "ab\\nc");
	n = log_json_escape(out, 3, "ab\ncd", 5);
	ASSERT_MEM(out, n, "ab");
	n = log_json_escape(out, 3, "\x01", 1);
	ASSERT_EQ(n, 0);
}

static void
time_format(void)
{
	char	 out[40];
	size_t	 n;

	n = log_format_time(out, sizeof(out), 0);
	ASSERT_MEM(out, n, "1970-01-01T00:00:00.000000Z");
	n = log_format_time(out, sizeof(out), 1700000000123456LL);
	ASSERT_MEM(out, n, "2023-11-14T22:13:20.123456Z");
	n = log_format_time(out, sizeof(out), 951782400000001LL);
	ASSERT_MEM(out, n, "2000-02-29T00:00:00.000001Z");
	ASSERT_EQ(log_format_time(out, 10, 0), 0);
}

static void
level_prefixes(void)
{
	size_t	 skip;

	ASSERT_EQ(log_level_parse("ERROR: x", 8, &skip), LOG_LEVEL_ERROR);
	ASSERT_EQ(skip, 7);
	ASSERT_EQ(log_level_parse("WARNING:x", 9, &skip), LOG_LEVEL_WARNING);
	ASSERT_EQ(skip, 8);
	ASSERT_EQ(log_level_parse("CRITICAL: y", 11, &skip),
	    LOG_LEVEL_CRITICAL);
	ASSERT_EQ(log_level_parse("<3>boom", 7, &skip), LOG_LEVEL_ERROR);
	ASSERT_EQ(skip, 3);
	ASSERT_EQ(log_level_parse("<7> d", 5, &skip), LOG_LEVEL_DEBUG);
	ASSERT_EQ(log_level_parse("<0>", 3, &skip), LOG_LEVEL_CRITICAL);
	ASSERT_EQ(log_level_parse("<8>x", 4, &skip), -1);
	ASSERT_EQ(log_level_parse("error: x", 8, &skip), -1);
	ASSERT_EQ(log_level_parse("INFO", 4, &skip), -1);
	ASSERT_EQ(log_level_parse("plain", 5, &skip), -1);
	ASSERT_EQ(skip, 0);
}

static void
sb_appenders(void)
{
	char		 out[64];
	struct sb	 sb;

	sb_init(&sb, out, sizeof(out));
	sb_num(&sb, -1234);
	sb_str(&sb, " ");
	sb_hex(&sb, 0x1f);
	sb_str(&sb, " ");
	sb_ms(&sb, 12345);
	sb_str(&sb, " ");
	sb_jstr(&sb, NULL);
	ASSERT_MEM(out, sb.len, "-1234 0x1f 12.345 null");
	sb_init(&sb, out, 4);
	sb_str(&sb, "toolong");
	ASSERT_EQ(sb.len, 4);
}

static void
host_field(void)
{
	char		 out[512];
	struct sb	 sb;

	log_set_host("web \"2\"");
	sb_init(&sb, out, sizeof(out));
	log_record_begin(&sb, 0, LOG_LEVEL_INFO, "abc", "h");
	ASSERT_MEM(out, 53, "{\"time\":\"1970-01-01T00:00:00.000000Z\","
	    "\"level\":\"INFO\",");
	out[sb.len] = '\0';
	ASSERT(strstr(out, ",\"host\":\"web \\\"2\\\"\",\"pid\":") != NULL);
	log_set_host(NULL);	/* back to the hostname */
	sb_init(&sb, out, sizeof(out));
	log_record_begin(&sb, 0, LOG_LEVEL_INFO, NULL, NULL);
	out[sb.len] = '\0';
	ASSERT(strstr(out, ",\"host\":\"") != NULL);
	ASSERT(strstr(out, ",\"host\":null") == NULL);
}

int
main(void)
{
	RUN(json_escape);
	RUN(time_format);
	RUN(level_prefixes);
	RUN(sb_appenders);
	RUN(host_field);
	return unit_done();
}
