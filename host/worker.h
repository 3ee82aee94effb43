/*
 * worker.h: a FastCGI worker process, forked by the master.
 */
#ifndef WARMCGI_WORKER_H
#define WARMCGI_WORKER_H

struct pipeline;

/* What a worker needs from the master. */
struct worker_args {
	struct pipeline	*pl;
	int		 listen_fd;	/* non-blocking, shared by all */
	int		 ctl_fd;	/* readable or closed: stop */
	long long	 max_requests;	/* 0: no limit */
};

void	 worker_run(const struct worker_args *) __attribute__((noreturn));

#endif
