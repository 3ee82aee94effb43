/*
 * crash.h: the answer of last resort. When a module crashes (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT) or is still running at its hard
 * deadline, crash.c answers the client 500, logs why with a symbolized
 * backtrace, and ends the worker so that the master replaces it.
 */
#ifndef WARMCGI_CRASH_H
#define WARMCGI_CRASH_H

#include "log.h"

/* Exit statuses of a worker, read by the master. */
#define CRASH_EXIT_HARD_DEADLINE	3	/* killed a stuck handler */
#define CRASH_EXIT_FATAL		4	/* could not set up */

int		 crash_init(const char *, size_t);
int		 crash_altstack(void);
void		 crash_preload(void);
void		 crash_format_backtrace(struct sb *, void *const *, int, int);
void		 crash_hard_deadline(void) __attribute__((noreturn));
void		 crash_set_exit(int);

#endif
