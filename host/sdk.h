/*
 * sdk.h: the host side of handlers/warmcgi.h. pipeline.c brackets each
 * request with sdk_begin()/sdk_end() so request-scoped values never
 * outlive their request.
 */
#ifndef WARMCGI_SDK_H
#define WARMCGI_SDK_H

struct req;

void	 sdk_begin(struct req *);
void	 sdk_end(void);

#endif
