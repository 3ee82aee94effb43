/*
 * fcgiguard.h: a worker's gate between a FastCGI connection and libfcgi.
 * Every record is checked (fcgirec.c) before libfcgi parses it, so that
 * no peer can crash or bloat a worker through libfcgi. Used by worker.c
 * only, in the worker process.
 */
#ifndef WARMCGI_FCGIGUARD_H
#define WARMCGI_FCGIGUARD_H

#include <stddef.h>

#include <fcgiapp.h>

#include "buf.h"

struct fcgiguard;

struct fcgiguard *fcgiguard_new(void);
int		 fcgiguard_accept(struct fcgiguard *, FCGX_Request *, int);
int		 fcgiguard_owns_body(const struct fcgiguard *);
int		 fcgiguard_read_body(struct fcgiguard *, struct buf *, size_t);
int		 fcgiguard_keepable(const struct fcgiguard *);

#endif
