/*
 * acl.h: client address lists (status_allow, listen_allow). Parsing and
 * matching are pure and unit-tested.
 */
#ifndef WARMCGI_ACL_H
#define WARMCGI_ACL_H

#include <sys/socket.h>

#include <stddef.h>

struct acl;

const char	*acl_parse(const char *, struct acl **);
void		 acl_free(struct acl *);
int		 acl_match_text(const struct acl *, const char *);
int		 acl_match_sockaddr(const struct acl *, const struct sockaddr *,
		    socklen_t);
size_t		 acl_format_addr(char *, size_t, const struct sockaddr *,
		    socklen_t);

#endif
