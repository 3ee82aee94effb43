/*
 * worker.h: a FastCGI worker process, forked by the master.
 */
#ifndef WARMCGI_WORKER_H
#define WARMCGI_WORKER_H

struct acl;
struct pipeline;
struct scoreboard;

/* Exit status of a worker that ended to be replaced (max_requests,
 * max_worker_memory, a drop-in module changed on disk). */
#define WORKER_EXIT_RECYCLED	5

/* What a worker needs from the master. */
struct worker_args {
	struct pipeline	*pl;
	int		 listen_fd;	/* non-blocking, shared by all */
	int		 ctl_fd;	/* readable or closed: stop */
	int		 ready_fd;	/* eventfd: written once when ready */
	struct scoreboard *sb;		/* shared with the master */
	size_t		 slot;		/* this worker's slot in sb */
	long long	 max_requests;	/* 0: no limit (jitter added here) */
	long long	 max_worker_bytes; /* RSS limit; 0: none */
	const struct acl *listen_allow;	/* TCP peers let in; NULL: all */
	int		 master_pid;	/* exit if the parent is not this */
	int		 handoff_tx;	/* sends a connection to another */
	int		 handoff_rx;	/* worker; -1: no hand-offs */
};

void	 worker_run(const struct worker_args *) __attribute__((noreturn));

#endif
