/*
 * fuzz_conf.c: the config parser. The first byte picks the value parser
 * (size, duration, bool, int) or, for any other value, the whole ini
 * text through conf_load_string(). Invariants: a value parser either
 * fails or gives a non-negative number; a size or duration that parsed
 * prints and parses back to itself; a config either loads or says why,
 * with FILE:LINE on every line.
 */
#include "conf.h"
#include "fuzz.h"

static void
value(int which, const char *s)
{
	static const char *(*parse[])(const char *, long long *) = {
		conf_parse_size, conf_parse_duration_ms, conf_parse_bool,
		conf_parse_int,
	};
	const char	*err;
	char		 again[32];
	long long	 v = -12345, w = -1;

	err = parse[which](s, &v);
	if (err != NULL) {
		FUZZ_ASSERT(*err != '\0');
		return;
	}
	FUZZ_ASSERT(v >= 0);
	if (which == 2)
		FUZZ_ASSERT(v == 0 || v == 1);
	/* A plain number of bytes or of milliseconds reads back the same. */
	snprintf(again, sizeof(again), which == 1 ? "%lldms" : "%lld", v);
	FUZZ_ASSERT(parse[which == 1 ? 1 : which == 0 ? 0 : 3](again, &w) ==
	    NULL || which == 2);
	if (which != 2)
		FUZZ_ASSERT(w == v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c = NULL;
	struct buf	 errors;
	char		*s, *line;
	int		 rc;

	if (size == 0)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	if (data[0] < 4 && strlen(s) < 64) {
		value(data[0], s);
		free(s);
		return 0;
	}
	buf_init(&errors);
	rc = conf_load_string("fuzz.ini", "/tmp", s, &c, &errors);
	FUZZ_ASSERT((rc == 0) == (c != NULL));
	if (rc == 0) {
		FUZZ_ASSERT(c->workers >= 1);
		FUZZ_ASSERT(c->limits.max_request_bytes >= 0);
		conf_free(c);
	} else if (errors.len > 0) {
		/* Every problem is "fuzz.ini:LINE: ...". */
		for (line = errors.data; line != NULL && *line != '\0';
		    line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			FUZZ_ASSERT(strncmp(line, "fuzz.ini:", 9) == 0);
	}
	buf_free(&errors);
	free(s);
	return 0;
}
