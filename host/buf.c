/*
 * buf.c: growable byte buffer. Every request reuses the same buffers
 * (buf_reset keeps the memory), so a worker in steady state allocates
 * nothing here. Pure: no I/O, no globals.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/*
 * Makes buf empty without allocating.
 */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/*
 * Makes room for extra more bytes plus the NUL. Returns 0, or -1 when the
 * size overflows or memory is exhausted (buf is unchanged then).
 */
int
buf_reserve(struct buf *b, size_t extra)
{
	size_t	 need, cap;
	char	*p;

	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/*
 * Appends n bytes. Returns 0 or -1 (out of memory).
 */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/*
 * Appends a C string. Returns 0 or -1.
 */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/*
 * Appends one byte. Returns 0 or -1.
 */
int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

/*
 * Appends formatted text. Returns 0 or -1.
 */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(b->data ? b->data + b->len : NULL,
	    b->data ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if (b->data == NULL || (size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n) == -1)
			return -1;
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
		va_end(ap2);
		if (n < 0)
			return -1;
	}
	b->len += (size_t)n;
	return 0;
}

/*
 * Appends formatted text. Returns 0 or -1.
 */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Empties buf and keeps its memory for the next use.
 */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * Empties buf and releases its memory if it grew past keep bytes, so that
 * one huge response does not pin memory in a worker for its whole life.
 */
void
buf_trim(struct buf *b, size_t keep)
{
	if (b->cap > keep)
		buf_free(b);
	else
		buf_reset(b);
}

/*
 * Releases the memory; buf is empty and reusable afterwards.
 */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}
