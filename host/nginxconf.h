/*
 * nginxconf.h: `warmcgi --nginx`, an nginx server block for a config.
 */
#ifndef WARMCGI_NGINXCONF_H
#define WARMCGI_NGINXCONF_H

#include <stdio.h>

struct conf;

void	 nginxconf_print(FILE *, const struct conf *, const char *);

#endif
