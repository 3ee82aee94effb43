/*
 * deadline.h: soft and hard deadlines, client cancellation, and the done
 * state behind wc_done()/wc_err()/wc_done_fd(). A watchdog thread in each
 * worker watches the clock and the connection of the request in progress.
 */
#ifndef WARMCGI_DEADLINE_H
#define WARMCGI_DEADLINE_H

struct req;

#define DEADLINE_BT_MAX	64	/* frames kept of a handler's backtrace */

int		 deadline_init(void);
void		 deadline_io_begin(int, long long, long long);
void		 deadline_begin(struct req *, int);
int		 deadline_end(void);
void		 deadline_enter_handler(void);
void		 deadline_leave_handler(void);
int		 deadline_in_handler(void);
int		 deadline_doom(void);
int		 deadline_err(void);
int		 deadline_canceled(void);
int		 deadline_done_fd(void);
long long	 deadline_soft_ms(void);
int		 deadline_set_timeout_ms(long long);
struct req	*deadline_req(void);
long long	 deadline_now_ms(void);

/*
 * The serving process's idle connections, which the watchdog polls while
 * a request runs longer than a few ms (worker.c hands a readable one to
 * another worker). list() fills fds (at most max) and returns how many;
 * ready() is told one is readable (hup: closed). Both run on the watchdog
 * thread.
 */
struct deadline_idle {
	size_t	(*list)(void *, int *, size_t);
	void	(*ready)(void *, int, int);
	void	*ctx;
};
void		 deadline_set_idle(const struct deadline_idle *);

#endif
