/*
 * io.h: writing everything, the one loop every full write uses.
 */
#ifndef WARMCGI_IO_H
#define WARMCGI_IO_H

#include <stddef.h>

int	 io_write_all(int, const void *, size_t);

#endif
