/*
 * log.c: application and access logs as JSON lines. Each record is built in
 * a fixed per-thread buffer and written with one write() (O_APPEND files, or
 * a dup of stderr for "-"), so records from several workers never
 * interleave and logging never allocates. The master opens the files before
 * forking; SIGUSR1 makes each process reopen them in place (dup2 onto the
 * same descriptor). A failed write (disk full, file deleted) loses that
 * record and nothing else: serving goes on.
 *
 * Access records can be batched (log_batch_access(), in workers): under
 * load a worker gathers them, up to PIPE_BUF bytes so that one write()
 * stays whole even on a pipe, and writes them together; it writes what it
 * holds before it waits for work, and the watchdog writes it for a request
 * that runs longer than a few milliseconds. One write() per record costs
 * about a microsecond on ext4, a batch a third of that per record.
 *
 * Handler text (stderr lines, messages) is untrusted: it always goes through
 * sb_json(), which escapes control characters and replaces invalid UTF-8.
 * sb_* and the encoders use no locks and no malloc, so the crash handler in
 * crash.c formats its records with them too.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "req.h"

#define RECORD_MAX	16384	/* longer records are cut */

static const char *level_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"
};

static int	 app_fd = -1;		/* -1: stderr not yet duplicated */
static int	 access_fd = -1;
static char	*app_path;		/* NULL for "-" */
static char	*access_path;
static char	 instance_id[INSTANCE_ID_LEN + 1];
static char	 version[64];
static char	 host[256];		/* "host" of every record */
static int	 min_level = LOG_LEVEL_DEBUG;
static pid_t	 pid;			/* cached: getpid() is a syscall */
static char	 ident[512];		/* ,"host":..,"pid":..,"instance_id":.. */
static size_t	 ident_len;		/* 0: not built yet */
static __thread char record[RECORD_MAX];

/*
 * Access records not written yet. The serving thread appends; the
 * watchdog and the crash path may write them out: `busy` guards them.
 */
static struct {
	char		 buf[4096];	/* PIPE_BUF */
	size_t		 len;
	atomic_flag	 busy;
	int		 on;		/* log_batch_access(1) was called */
} batch = { .busy = ATOMIC_FLAG_INIT };

/*
 * Points sb at the caller's buffer of cap bytes.
 */
void
sb_init(struct sb *sb, char *p, size_t cap)
{
	sb->p = p;
	sb->len = 0;
	sb->cap = cap;
}

/*
 * Appends n bytes, or as many as fit.
 */
void
sb_mem(struct sb *sb, const void *p, size_t n)
{
	if (n > sb->cap - sb->len)
		n = sb->cap - sb->len;
	memcpy(sb->p + sb->len, p, n);
	sb->len += n;
}

/*
 * Appends a C string.
 */
void
sb_str(struct sb *sb, const char *s)
{
	sb_mem(sb, s, strlen(s));
}

/*
 * Appends n bytes of s escaped for a JSON string (without quotes).
 */
void
sb_json(struct sb *sb, const char *s, size_t n)
{
	sb->len += log_json_escape(sb->p + sb->len, sb->cap - sb->len, s, n);
}

/*
 * Appends a C string as a quoted JSON string, or null for NULL.
 */
void
sb_jstr(struct sb *sb, const char *s)
{
	if (s == NULL) {
		sb_str(sb, "null");
		return;
	}
	sb_mem(sb, "\"", 1);
	sb_json(sb, s, strlen(s));
	sb_mem(sb, "\"", 1);
}

/*
 * Appends a decimal number.
 */
void
sb_num(struct sb *sb, long long v)
{
	char			 tmp[24];
	int			 i = sizeof(tmp);
	unsigned long long	 u;

	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		tmp[--i] = '-';
	sb_mem(sb, tmp + i, sizeof(tmp) - (size_t)i);
}

/*
 * Appends a number in lowercase hexadecimal with a 0x prefix.
 */
void
sb_hex(struct sb *sb, unsigned long long v)
{
	char	 tmp[18];
	int	 i = sizeof(tmp);

	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v != 0);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	sb_mem(sb, tmp + i, sizeof(tmp) - (size_t)i);
}

/*
 * Appends microseconds as milliseconds with three decimals ("12.345").
 */
void
sb_ms(struct sb *sb, long long us)
{
	char	 frac[4];
	int	 f;

	if (us < 0)
		us = 0;
	sb_num(sb, us / 1000);
	f = (int)(us % 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + f / 100);
	frac[2] = (char)('0' + f / 10 % 10);
	frac[3] = (char)('0' + f % 10);
	sb_mem(sb, frac, 4);
}

/*
 * Appends an RFC 3339 UTC time with microseconds, quoted.
 */
void
sb_time(struct sb *sb, long long us)
{
	char	 tmp[40];

	sb_mem(sb, "\"", 1);
	sb_mem(sb, tmp, log_format_time(tmp, sizeof(tmp), us));
	sb_mem(sb, "\"", 1);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	unsigned int	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * 1 for the bytes a JSON string holds as they are: printable ASCII but
 * quote and backslash.
 */
static const unsigned char json_plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1
};

/*
 * Escapes n bytes of s as the inside of a JSON string into dst (cap
 * bytes): quote, backslash and control characters are escaped, invalid
 * UTF-8 becomes U+FFFD. An escape or character that does not fit whole is
 * left out, and so is everything after it. Returns the bytes written.
 * Async-signal-safe.
 */
size_t
log_json_escape(char *dst, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char		 esc[8];
	const char	*out;
	size_t		 i = 0, o = 0, k, w;

	while (i < n) {
		/* Fast path: a run of printable ASCII needs no escape. */
		for (k = i; k < n && json_plain[u[k]]; k++)
			;
		if (k > i) {
			w = k - i;
			if (w > cap - o)
				w = cap - o;
			memcpy(dst + o, s + i, w);
			o += w;
			i += w;
			if (i < k)
				break;
			continue;
		}
		k = 1;
		out = esc;
		if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\', esc[1] = (char)u[i], w = 2;
		} else if (u[i] == '\n') {
			esc[0] = '\\', esc[1] = 'n', w = 2;
		} else if (u[i] == '\r') {
			esc[0] = '\\', esc[1] = 'r', w = 2;
		} else if (u[i] == '\t') {
			esc[0] = '\\', esc[1] = 't', w = 2;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			w = 6;
		} else if ((k = utf8_len(u + i, n - i)) == 0) {
			out = "\\ufffd";
			w = 6;
			k = 1;
		} else {
			out = s + i;
			w = k;
		}
		if (w > cap - o)
			break;
		memcpy(dst + o, out, w);
		o += w;
		i += k;
	}
	return o;
}

/*
 * Formats us (microseconds since the epoch) as 2026-01-02T03:04:05.123456Z
 * into dst (at least 28 bytes, NUL included). Returns the length.
 * Async-signal-safe: no gmtime, no locale.
 */
size_t
log_format_time(char *dst, size_t cap, long long us)
{
	long long	 secs, days, rem, era, doe, yoe, y, doy, mp, d, m, frac;
	char		 tmp[32];
	int		 i;

	if (cap < 28)
		return 0;
	if (us < 0)
		us = 0;
	secs = us / 1000000;
	frac = us % 1000000;
	days = secs / 86400;
	rem = secs % 86400;
	/* Days to civil date: Howard Hinnant's algorithm. */
	days += 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	memcpy(tmp, "0000-00-00T00:00:00.000000Z", 28);
	for (i = 3; i >= 0; i--, y /= 10)
		tmp[i] = (char)('0' + y % 10);
	tmp[5] = (char)('0' + m / 10), tmp[6] = (char)('0' + m % 10);
	tmp[8] = (char)('0' + d / 10), tmp[9] = (char)('0' + d % 10);
	tmp[11] = (char)('0' + rem / 36000);
	tmp[12] = (char)('0' + rem / 3600 % 10);
	tmp[14] = (char)('0' + rem % 3600 / 600);
	tmp[15] = (char)('0' + rem % 600 / 60);
	tmp[17] = (char)('0' + rem % 60 / 10);
	tmp[18] = (char)('0' + rem % 10);
	for (i = 25; i >= 20; i--, frac /= 10)
		tmp[i] = (char)('0' + frac % 10);
	memcpy(dst, tmp, 28);
	return 27;
}

/*
 * Reads a level prefix at the start of a handler's stderr line:
 * "DEBUG:", "INFO:", "WARNING:", "ERROR:", "CRITICAL:" or a syslog "<N>"
 * (0-2 critical, 3 error, 4 warning, 5-6 info, 7 debug). Returns the level
 * and sets *skip to the prefix length (with one following space), or
 * returns -1 when there is no prefix.
 */
int
log_level_parse(const char *s, size_t n, size_t *skip)
{
	static const int syslog_levels[] = {
		LOG_LEVEL_CRITICAL, LOG_LEVEL_CRITICAL, LOG_LEVEL_CRITICAL,
		LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO,
		LOG_LEVEL_INFO, LOG_LEVEL_DEBUG
	};
	size_t	 i, len;
	int	 level = -1;

	*skip = 0;
	if (n >= 3 && s[0] == '<' && s[1] >= '0' && s[1] <= '7' &&
	    s[2] == '>') {
		level = syslog_levels[s[1] - '0'];
		len = 3;
	} else {
		for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
		    i++) {
			len = strlen(level_names[i]);
			if (n > len && strncmp(s, level_names[i], len) == 0 &&
			    s[len] == ':') {
				level = (int)i;
				len++;
				break;
			}
		}
	}
	if (level == -1)
		return -1;
	if (len < n && s[len] == ' ')
		len++;
	*skip = len;
	return level;
}

/*
 * Returns the name of a level ("INFO").
 */
const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_LEVEL_CRITICAL)
		return "INFO";
	return level_names[level];
}

/*
 * Returns the wall-clock time in microseconds since the epoch.
 */
long long
log_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
open_log(const char *path)
{
	int	 fd;

	if (path == NULL)
		return fcntl(2, F_DUPFD_CLOEXEC, 3);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		fprintf(stderr, "warmcgi: %s: %s\n", path, strerror(errno));
	return fd;
}

/*
 * Opens the application and access logs ("-" means stderr). Returns 0, or
 * -1 after printing the reason on stderr.
 */
int
log_open(const char *app, const char *access)
{
	int	 a, b;

	free(app_path);
	free(access_path);
	app_path = strcmp(app, "-") == 0 ? NULL : strdup(app);
	access_path = strcmp(access, "-") == 0 ? NULL : strdup(access);
	if ((a = open_log(app_path)) == -1)
		return -1;
	if ((b = open_log(access_path)) == -1) {
		close(a);
		return -1;
	}
	log_close();
	app_fd = a;
	access_fd = b;
	return 0;
}

static int
reopen_one(const char *path, int fd)
{
	int	 nfd, rc = 0;

	if (path == NULL || fd == -1)
		return 0;
	if ((nfd = open_log(path)) == -1)
		return -1;
	if (dup3(nfd, fd, O_CLOEXEC) == -1)
		rc = -1;
	close(nfd);
	return rc;
}

/*
 * Reopens the log files in place (logrotate's SIGUSR1). The descriptors
 * keep their numbers, so other threads can go on writing. Returns 0 or -1.
 */
int
log_reopen(void)
{
	int	 rc = 0;

	if (reopen_one(app_path, app_fd) == -1)
		rc = -1;
	if (reopen_one(access_path, access_fd) == -1)
		rc = -1;
	return rc;
}

/*
 * Closes both logs; records go to stderr until log_open() again.
 */
void
log_close(void)
{
	if (app_fd != -1)
		close(app_fd);
	if (access_fd != -1)
		close(access_fd);
	app_fd = access_fd = -1;
}

/*
 * Returns the descriptor of the application log, or -1 before log_open().
 */
int
log_app_fd(void)
{
	return app_fd;
}

/*
 * Returns the descriptor of the access log, or -1 before log_open().
 */
int
log_access_fd(void)
{
	return access_fd;
}

/* The host field; the hostname if log_set_host() was not called. */
static const char *
host_field(void)
{
	if (host[0] == '\0' && gethostname(host, sizeof(host) - 1) == -1)
		host[0] = '\0';
	return host[0] ? host : NULL;
}

/*
 * Formats the fields that identify this process, which every record
 * carries. Async-signal-safe.
 */
static void
ident_build(void)
{
	struct sb	 id;

	sb_init(&id, ident, sizeof(ident));
	sb_str(&id, ",\"host\":");
	sb_jstr(&id, host_field());
	sb_str(&id, ",\"pid\":");
	sb_num(&id, (long long)(pid ? pid : getpid()));
	sb_str(&id, ",\"instance_id\":");
	sb_jstr(&id, instance_id[0] ? instance_id : NULL);
	sb_str(&id, ",\"version\":");
	sb_jstr(&id, version[0] ? version : NULL);
	ident_len = id.len;
}

static void
put_ident(struct sb *sb)
{
	if (ident_len == 0)
		ident_build();	/* a record before log_set_instance() */
	sb_mem(sb, ident, ident_len);
}

/*
 * Sets the instance id and version that every later record of this process
 * carries (a worker calls it once at start, after fork; NULL clears).
 */
void
log_set_instance(const char *id, const char *ver)
{
	pid = getpid();
	snprintf(instance_id, sizeof(instance_id), "%s", id ? id : "");
	snprintf(version, sizeof(version), "%s", ver ? ver : "");
	ident_len = 0;
	ident_build();
}

/*
 * Sets the "host" field of every later record (host_name, by default the
 * hostname). Until then records carry the hostname.
 */
void
log_set_host(const char *name)
{
	snprintf(host, sizeof(host), "%s", name ? name : "");
	ident_len = 0;
}

/*
 * Drops records below level (tests and --request use it for quiet output).
 */
void
log_set_min_level(int level)
{
	min_level = level;
}

/*
 * Writes a finished record (with its newline) to the application log.
 * Async-signal-safe.
 */
void
log_write_app(const char *p, size_t n)
{
	int	 saved = errno;

	io_write_all(app_fd != -1 ? app_fd : 2, p, n);
	errno = saved;
}

/*
 * Writes a finished record to the access log. Async-signal-safe.
 */
void
log_write_access(const char *p, size_t n)
{
	int	 saved = errno;

	io_write_all(access_fd != -1 ? access_fd : 2, p, n);
	errno = saved;
}

/*
 * Makes log_access() gather records (on = 1) or write each at once
 * (on = 0, the default; what was gathered is written first).
 */
void
log_batch_access(int on)
{
	if (!on)
		log_flush(1);
	batch.on = on;
}

/* Takes the batch; with wait = 0 gives up at once if someone has it. */
static int
batch_take(int wait)
{
	while (atomic_flag_test_and_set_explicit(&batch.busy,
	    memory_order_acquire)) {
		if (!wait)
			return 0;
		sched_yield();
	}
	return 1;
}

static void
batch_give(void)
{
	atomic_flag_clear_explicit(&batch.busy, memory_order_release);
}

/*
 * Returns 1 if gathered access records wait to be written. For the
 * serving thread, which is the only one that adds records.
 */
int
log_pending(void)
{
	return batch.len > 0;
}

/*
 * Writes the gathered access records. With wait = 0 it does nothing if
 * another thread is at it (async-signal-safe then: the crash path and the
 * watchdog use it so).
 */
void
log_flush(int wait)
{
	if (!batch_take(wait))
		return;
	if (batch.len > 0)
		log_write_access(batch.buf, batch.len);
	batch.len = 0;
	batch_give();
}

/* Adds a finished access record to the batch, or writes it. */
static void
put_access(const char *p, size_t n)
{
	if (!batch.on) {
		log_write_access(p, n);
		return;
	}
	batch_take(1);
	if (batch.len + n > sizeof(batch.buf)) {
		log_write_access(batch.buf, batch.len);
		batch.len = 0;
	}
	if (n > sizeof(batch.buf)) {
		log_write_access(p, n);
	} else {
		memcpy(batch.buf + batch.len, p, n);
		batch.len += n;
	}
	batch_give();
}

/*
 * Starts an application log record in sb: time, level, host, pid, instance,
 * version, request id and handler (NULL gives null). The caller appends
 * ',"message":...' and more fields, then "}\n". Async-signal-safe.
 */
void
log_record_begin(struct sb *sb, long long us, int level, const char *rid,
    const char *handler)
{
	sb_str(sb, "{\"time\":");
	sb_time(sb, us);
	sb_str(sb, ",\"level\":\"");
	sb_str(sb, log_level_name(level));
	sb_str(sb, "\"");
	put_ident(sb);
	sb_str(sb, ",\"request_id\":");
	sb_jstr(sb, rid);
	sb_str(sb, ",\"handler\":");
	sb_jstr(sb, handler);
}

/* Ends a record: keeps room for "}\n" even when the message was cut. */
static void
record_end(struct sb *sb)
{
	if (sb->cap - sb->len < 2)
		sb->len = sb->cap - 2;
	sb_mem(sb, "}\n", 2);
}

static void
emit(const struct req *r, int level, const char *extra, const char *msg,
    size_t len)
{
	struct sb	 sb;

	if (level < min_level)
		return;
	sb_init(&sb, record, sizeof(record) - 2);
	log_record_begin(&sb, log_now_us(), level, r ? r->id : NULL,
	    r && r->route.h ? r->route.h->name : NULL);
	sb_str(&sb, ",\"message\":\"");
	sb_json(&sb, msg, len);
	sb_str(&sb, "\"");
	if (extra != NULL) {
		sb_str(&sb, ",");
		sb_str(&sb, extra);
	}
	sb.cap += 2;
	record_end(&sb);
	log_write_app(sb.p, sb.len);
}

static void
vemit(const struct req *r, int level, int with_errno, const char *extra,
    const char *fmt, va_list ap)
{
	char	 msg[8192];
	int	 n, saved = errno;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (with_errno)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	emit(r, level, extra, msg, (size_t)n);
	errno = saved;
}

#define LOGFN(fn, level, with_errno)					\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
									\
	va_start(ap, fmt);						\
	vemit(NULL, level, with_errno, NULL, fmt, ap);			\
	va_end(ap);							\
}

/* Process records: *x variants leave out strerror(errno). */
LOGFN(log_debug, LOG_LEVEL_DEBUG, 0)
LOGFN(log_info, LOG_LEVEL_INFO, 0)
LOGFN(log_warn, LOG_LEVEL_WARNING, 1)
LOGFN(log_warnx, LOG_LEVEL_WARNING, 0)
LOGFN(log_error, LOG_LEVEL_ERROR, 1)
LOGFN(log_errorx, LOG_LEVEL_ERROR, 0)
LOGFN(log_crit, LOG_LEVEL_CRITICAL, 0)

/*
 * Logs a record of request r.
 */
void
log_req(const struct req *r, int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vemit(r, level, 0, NULL, fmt, ap);
	va_end(ap);
}

/*
 * Logs a record of request r with extra JSON fields (for example
 * "\"signal\":\"SIGSEGV\""), which the caller has escaped.
 */
void
log_req_extra(const struct req *r, int level, const char *extra,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vemit(r, level, 0, extra, fmt, ap);
	va_end(ap);
}

/*
 * Logs untrusted text (len bytes, not NUL-terminated) as one record of r.
 */
void
log_req_text(const struct req *r, int level, const char *text, size_t len)
{
	emit(r, level, NULL, text, len);
}

#define LINE_MAX_BYTES	8192	/* a longer stderr line is cut into records */
#define LINES_MAX	1000	/* stderr records per request */

static void
stderr_line(struct req *r, const char *p, size_t len)
{
	size_t	 skip;
	int	 level;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	/* No request: a line written between requests (a handler's thread,
	 * a library's diagnostic) is a record of the process. */
	if (r != NULL && r->stderr_lines++ >= LINES_MAX) {
		if (r->stderr_lines == LINES_MAX + 1)
			log_req(r, LOG_LEVEL_WARNING, "more than %d stderr "
			    "lines; the rest are dropped", LINES_MAX);
		return;
	}
	level = log_level_parse(p, len, &skip);
	if (level == -1)
		level = LOG_LEVEL_INFO;
	emit(r, level, NULL, p + skip, len - skip);
}

/*
 * Feeds n bytes of a handler's stderr: every complete line becomes a
 * record of r at once, with a level taken from its prefix (INFO without
 * one); a partial line waits in pending. At most LINES_MAX records per
 * request. With r NULL (no request is being served) the lines are records
 * of the process.
 */
void
log_stderr_feed(struct req *r, struct buf *pending, const char *p, size_t n)
{
	const char	*nl;
	size_t		 len;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl ? (size_t)(nl - p) : n;
		if (nl == NULL && pending->len + len < LINE_MAX_BYTES) {
			buf_append(pending, p, len);
			return;
		}
		if (pending->len > 0) {
			buf_append(pending, p, len);
			stderr_line(r, pending->data, pending->len);
			buf_reset(pending);
		} else {
			stderr_line(r, p, len);
		}
		if (nl == NULL)
			return;
		n -= len + 1;
		p = nl + 1;
	}
}

/*
 * Logs what is left in pending (a last line without a newline).
 */
void
log_stderr_flush(struct req *r, struct buf *pending)
{
	if (pending->len > 0)
		stderr_line(r, pending->data, pending->len);
	buf_reset(pending);
}

/* Formats the access record of r in sb. */
static void
format_access(struct sb *sb, const struct req *r)
{
	long long	 now = r->end_us > 0 ? r->end_us : log_now_us();
	long long	 dur = now - r->start_us;

	sb_str(sb, "{\"time\":");
	sb_time(sb, now);
	sb_str(sb, ",\"request_id\":");
	sb_jstr(sb, r->id);
	sb_str(sb, ",\"method\":");
	sb_jstr(sb, r->method);
	sb_str(sb, ",\"path\":");
	sb_jstr(sb, r->path);
	sb_str(sb, ",\"query\":");
	sb_jstr(sb, r->query);
	sb_str(sb, ",\"status\":");
	sb_num(sb, r->status);
	sb_str(sb, ",\"bytes\":");
	sb_num(sb, r->bytes);
	sb_str(sb, ",\"duration_ms\":");
	sb_ms(sb, dur);
	sb_str(sb, ",\"handler\":");
	sb_jstr(sb, r->route.h ? r->route.h->name : NULL);
	sb_str(sb, ",\"remote_addr\":");
	sb_jstr(sb, r->remote_addr);
	sb_str(sb, ",\"user_agent\":");
	sb_jstr(sb, r->user_agent);
	put_ident(sb);
	sb->cap += 2;
	record_end(sb);
}

/*
 * Writes the access record of a finished request, or adds it to the batch.
 */
void
log_access(const struct req *r)
{
	struct sb	 sb;

	sb_init(&sb, record, sizeof(record) - 2);
	format_access(&sb, r);
	put_access(sb.p, sb.len);
}

/*
 * Writes the access record of r at once, after the batch if it can take
 * it. Async-signal-safe: for the crash path.
 */
void
log_access_now(const struct req *r)
{
	struct sb	 sb;

	log_flush(0);
	sb_init(&sb, record, sizeof(record) - 2);
	format_access(&sb, r);
	log_write_access(sb.p, sb.len);
}
