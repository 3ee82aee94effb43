/*
 * module.h: loading handler shared objects and calling their main() with
 * stdio redirected. Runs in workers (and in the master with preload = on).
 */
#ifndef WARMCGI_MODULE_H
#define WARMCGI_MODULE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct module;
struct capture;

enum module_end {
	MODULE_RETURNED,	/* main() returned */
	MODULE_EXITED		/* main() called exit() or _exit() */
};

struct module	*module_load(const char *, char *, size_t);
struct module	*module_reload(const char *, char *, size_t);
void		 module_free(struct module *);
int		 module_changed(const struct module *);
const char	*module_path(const struct module *);
int		 module_check(const char *, char *, size_t);
struct conf;
int		 module_check_conf(const struct conf *, struct buf *);

struct capture	*capture_new(void);
struct req;
int		 capture_begin(struct capture *, struct req *, const char *,
		    size_t, size_t);
void		 capture_end(struct capture *);
struct buf	*capture_out(struct capture *);
int		 capture_overflowed(const struct capture *);
int		 capture_recycle_wanted(const struct capture *);
void		 capture_fd_opened(int);
void		 capture_fd_closed(int);
void		 capture_fds_moved(void);

enum module_end	 module_call(struct module *, char **, int *);

#endif
