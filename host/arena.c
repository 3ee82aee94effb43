/*
 * arena.c: a bump allocator made of chunks. The first chunk lives as long as
 * the arena; arena_reset() frees the others and rewinds the first, so a
 * worker whose requests fit in the first chunk never calls malloc for them.
 * Pure: no I/O, no globals.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ALIGN	16

struct chunk {
	struct chunk	*next;
	size_t		 size;		/* bytes of data[] */
	size_t		 used;		/* bytes handed out */
	_Alignas(ALIGN) unsigned char data[];
};

struct arena {
	struct chunk	*head;		/* newest chunk; the first is last */
	size_t		 first_size;	/* data bytes of the first chunk */
};

static struct chunk *
chunk_new(size_t size)
{
	struct chunk	*c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	if ((c = malloc(sizeof(*c) + size)) == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

/*
 * Creates an arena whose first chunk holds size bytes. Returns NULL when out
 * of memory. Release with arena_free().
 */
struct arena *
arena_new(size_t size)
{
	struct arena	*a;

	if ((a = malloc(sizeof(*a))) == NULL)
		return NULL;
	if ((a->head = chunk_new(size)) == NULL) {
		free(a);
		return NULL;
	}
	a->first_size = size;
	return a;
}

/*
 * Returns n bytes aligned for any type, valid until arena_reset(), or NULL
 * when out of memory.
 */
void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk	*c = a->head;
	size_t		 size;
	void		*p;

	n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (n == 0)
		n = ALIGN;
	if (c->size - c->used < n) {
		size = a->first_size;
		while (size < n) {
			if (size > SIZE_MAX / 2)
				return NULL;
			size *= 2;
		}
		if ((c = chunk_new(size)) == NULL)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += n;
	return p;
}

/*
 * Returns nmemb * size zeroed bytes, or NULL on overflow or no memory.
 */
void *
arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
	void	*p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	if ((p = arena_alloc(a, nmemb * size)) != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

/*
 * Copies n bytes of s and a NUL. Returns the copy or NULL.
 */
char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p;

	if (n == SIZE_MAX || (p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * Copies a C string. Returns the copy or NULL.
 */
char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

/*
 * Formats into the arena. Returns the string or NULL.
 */
char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/*
 * Releases everything allocated since arena_new() except the first chunk,
 * which is rewound for the next request.
 */
void
arena_reset(struct arena *a)
{
	struct chunk	*c;

	while (a->head->next != NULL) {
		c = a->head;
		a->head = c->next;
		free(c);
	}
	a->head->used = 0;
}

/*
 * Releases the arena and all its chunks.
 */
void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->head);
	free(a);
}
