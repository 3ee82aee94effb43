/*
 * buf.h: a growable byte buffer. The bytes are always followed by a NUL
 * (not counted in len), so a buffer of text can be passed as a C string.
 * Used by every host file; pure, no I/O.
 */
#ifndef WARMCGI_BUF_H
#define WARMCGI_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;		/* bytes used, excluding the NUL */
	size_t	 cap;		/* bytes allocated */
};

void	buf_init(struct buf *);
int	buf_reserve(struct buf *, size_t);
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_putc(struct buf *, char);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	buf_reset(struct buf *);
void	buf_trim(struct buf *, size_t);
void	buf_free(struct buf *);

#endif
