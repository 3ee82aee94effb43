/*
 * priv.h: a worker's resource limits and privileges, applied right after
 * fork, before it loads or runs any handler.
 */
#ifndef WARMCGI_PRIV_H
#define WARMCGI_PRIV_H

#include <stddef.h>

struct conf;

int	 priv_worker(const struct conf *);
int	 priv_check_root(const struct conf *, char *, size_t);

#endif
