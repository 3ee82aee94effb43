/*
 * fcgiconn.h: the FastCGI side of a worker: one connection's requests
 * read, checked and answered without libfcgi (fcgiconn.c says why). Used
 * by worker.c only, in the worker process.
 */
#ifndef WARMCGI_FCGICONN_H
#define WARMCGI_FCGICONN_H

#include <stddef.h>

#include "buf.h"

struct fcgiconn;

struct fcgiconn	*fcgiconn_new(void);
int		 fcgiconn_accept(struct fcgiconn *, int);
char		**fcgiconn_params(const struct fcgiconn *);
int		 fcgiconn_request_id(const struct fcgiconn *);
int		 fcgiconn_keep_wanted(const struct fcgiconn *);
int		 fcgiconn_read_body(struct fcgiconn *, struct buf *, size_t);
int		 fcgiconn_write(struct fcgiconn *, const void *, size_t);
int		 fcgiconn_flush(struct fcgiconn *);
int		 fcgiconn_end(struct fcgiconn *);
int		 fcgiconn_keepable(const struct fcgiconn *);

#endif
