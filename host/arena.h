/*
 * arena.h: the per-request arena. Everything a request allocates (env
 * strings, header lines, log fields) comes from here and is released in
 * one call when the request ends. Pure, no I/O.
 */
#ifndef WARMCGI_ARENA_H
#define WARMCGI_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena	*arena_new(size_t);
void		*arena_alloc(struct arena *, size_t);
void		*arena_calloc(struct arena *, size_t, size_t);
char		*arena_strdup(struct arena *, const char *);
char		*arena_strndup(struct arena *, const char *, size_t);
char		*arena_printf(struct arena *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 arena_reset(struct arena *);
void		 arena_free(struct arena *);

#endif
