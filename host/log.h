/*
 * log.h: the application log and the access log, both JSON lines. Every
 * process writes its own records with one write() each, so lines from
 * several workers never interleave. The encoders (JSON escaping, time,
 * stderr level prefixes) are pure and unit-tested; sb_* is a fixed-buffer
 * appender that is async-signal-safe, used by the crash path too.
 */
#ifndef WARMCGI_LOG_H
#define WARMCGI_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_CRITICAL
};

/* A fixed-size output buffer; appends past cap are dropped. */
struct sb {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

struct req;

void	 sb_init(struct sb *, char *, size_t);
void	 sb_mem(struct sb *, const void *, size_t);
void	 sb_str(struct sb *, const char *);
void	 sb_json(struct sb *, const char *, size_t);
void	 sb_jstr(struct sb *, const char *);
void	 sb_num(struct sb *, long long);
void	 sb_hex(struct sb *, unsigned long long);
void	 sb_ms(struct sb *, long long);
void	 sb_time(struct sb *, long long);

size_t	 log_json_escape(char *, size_t, const char *, size_t);
size_t	 log_format_time(char *, size_t, long long);
int	 log_level_parse(const char *, size_t, size_t *);
const char *log_level_name(int);
long long log_now_us(void);

int	 log_open(const char *, const char *);
int	 log_reopen(void);
void	 log_close(void);
int	 log_app_fd(void);
int	 log_access_fd(void);
void	 log_set_instance(const char *, const char *);
void	 log_set_host(const char *);
void	 log_set_min_level(int);

void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_crit(const char *, ...) __attribute__((format(printf, 1, 2)));

void	 log_req(const struct req *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 log_req_extra(const struct req *, int, const char *, const char *,
	    ...) __attribute__((format(printf, 4, 5)));
void	 log_req_text(const struct req *, int, const char *, size_t);
struct buf;
void	 log_stderr_feed(struct req *, struct buf *, const char *, size_t);
void	 log_stderr_flush(struct req *, struct buf *);
void	 log_access(const struct req *);
void	 log_access_now(const struct req *);
void	 log_batch_access(int);
int	 log_pending(void);
void	 log_flush(int);
void	 log_record_begin(struct sb *, long long, int, const char *,
	    const char *);
void	 log_write_app(const char *, size_t);
void	 log_write_access(const char *, size_t);

#endif
