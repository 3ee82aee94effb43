/*
 * acl.c: lists of client addresses, as status_allow and listen_allow take
 * them: entries separated by spaces or commas, each an IPv4 or IPv6
 * address with an optional prefix length ("127.0.0.0/8", "::1",
 * "[2001:db8::]/32"), "unix" for clients on a unix socket (nginx passes
 * REMOTE_ADDR "unix:" for those), or "all". An IPv4 address seen as an
 * IPv4-mapped IPv6 address (::ffff:10.0.0.1) matches IPv4 entries.
 *
 * conf.c parses the lists; pipeline.c matches REMOTE_ADDR (text) and
 * worker.c matches the peer of a TCP connection it accepted (a sockaddr).
 * Everything here is pure: no I/O, no globals.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

enum acl_kind {
	ACL_ALL,
	ACL_UNIX,
	ACL_INET,		/* addr holds 4 bytes */
	ACL_INET6		/* addr holds 16 bytes */
};

struct acl_entry {
	enum acl_kind	 kind;
	unsigned char	 addr[16];
	int		 bits;		/* prefix length */
};

struct acl {
	struct acl_entry *e;
	size_t		 n;
};

/* Parses one entry of len bytes at s. Returns NULL or an error message. */
static const char *
parse_entry(const char *s, size_t len, struct acl_entry *e)
{
	char		 text[64], *slash, *end, *host;
	long		 bits;
	int		 max;

	if (len >= sizeof(text))
		return "address too long";
	memcpy(text, s, len);
	text[len] = '\0';
	memset(e, 0, sizeof(*e));
	if (strcasecmp(text, "all") == 0 || strcasecmp(text, "any") == 0) {
		e->kind = ACL_ALL;
		return NULL;
	}
	if (strcasecmp(text, "unix") == 0 || strcasecmp(text, "unix:") == 0) {
		e->kind = ACL_UNIX;
		return NULL;
	}
	bits = -1;
	if ((slash = strchr(text, '/')) != NULL) {
		*slash = '\0';
		if (!isdigit((unsigned char)slash[1]))
			return "expected a prefix length after '/'";
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0')
			return "expected a prefix length after '/'";
	}
	host = text;
	if (host[0] == '[') {
		end = host + strlen(host) - 1;
		if (*end != ']')
			return "expected ']'";
		*end = '\0';
		host++;
	}
	if (inet_pton(AF_INET, host, e->addr) == 1) {
		e->kind = ACL_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, e->addr) == 1) {
		e->kind = ACL_INET6;
		max = 128;
	} else {
		return "expected an IP address, ADDRESS/BITS, unix or all";
	}
	if (bits > max)
		return "prefix length too large";
	e->bits = bits < 0 ? max : (int)bits;
	return NULL;
}

/*
 * Parses a list. Returns NULL and sets *out (release with acl_free()), or
 * an error message (static) and leaves *out NULL. An empty list is valid
 * and matches nothing.
 */
const char *
acl_parse(const char *text, struct acl **out)
{
	struct acl	*a;
	struct acl_entry *e;
	const char	*err, *s = text;
	size_t		 len;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return "out of memory";
	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		if ((e = reallocarray(a->e, a->n + 1, sizeof(*e))) == NULL) {
			acl_free(a);
			return "out of memory";
		}
		a->e = e;
		if ((err = parse_entry(s, len, &a->e[a->n])) != NULL) {
			acl_free(a);
			return err;
		}
		a->n++;
		s += len;
	}
	*out = a;
	return NULL;
}

/*
 * Releases a list.
 */
void
acl_free(struct acl *a)
{
	if (a == NULL)
		return;
	free(a->e);
	free(a);
}

static int
prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int	 full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

/* Matches a binary address of kind ACL_UNIX, ACL_INET or ACL_INET6. */
static int
match(const struct acl *a, enum acl_kind kind, const unsigned char *addr)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const struct acl_entry *e;
	size_t	 i;

	if (kind == ACL_INET6 && memcmp(addr, mapped, 12) == 0) {
		kind = ACL_INET;
		addr += 12;
	}
	for (i = 0; i < a->n; i++) {
		e = &a->e[i];
		if (e->kind == ACL_ALL)
			return 1;
		if (e->kind != kind)
			continue;
		if (kind == ACL_UNIX || prefix_match(e->addr, addr, e->bits))
			return 1;
	}
	return 0;
}

/*
 * Returns 1 if addr, a client address as text (nginx's REMOTE_ADDR: an IP
 * address, or "unix:" for a unix socket), is on the list; 0 if not or if
 * it is not an address. A NULL list matches nothing.
 */
int
acl_match_text(const struct acl *a, const char *addr)
{
	unsigned char	 bin[16];
	char		 host[64];
	size_t		 n;

	if (a == NULL || addr == NULL)
		return 0;
	if (strncmp(addr, "unix:", 5) == 0)
		return match(a, ACL_UNIX, NULL);
	n = strcspn(addr, "%");		/* fe80::1%eth0 */
	if (n >= sizeof(host))
		return 0;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, bin) == 1)
		return match(a, ACL_INET, bin);
	if (inet_pton(AF_INET6, host, bin) == 1)
		return match(a, ACL_INET6, bin);
	return 0;
}

/*
 * Returns 1 if the peer address sa (from accept()) is on the list.
 */
int
acl_match_sockaddr(const struct acl *a, const struct sockaddr *sa,
    socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (a == NULL || len < sizeof(sa->sa_family))
		return 0;
	switch (sa->sa_family) {
	case AF_UNIX:
		return match(a, ACL_UNIX, NULL);
	case AF_INET:
		if (len < sizeof(*sin))
			return 0;
		return match(a, ACL_INET,
		    (const unsigned char *)&sin->sin_addr);
	case AF_INET6:
		if (len < sizeof(*sin6))
			return 0;
		return match(a, ACL_INET6,
		    (const unsigned char *)&sin6->sin6_addr);
	}
	return 0;
}

/*
 * Writes the address of sa as text into buf (for logs). Returns its length.
 */
size_t
acl_format_addr(char *buf, size_t size, const struct sockaddr *sa,
    socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const char	*s = NULL;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	if (sa->sa_family == AF_INET && len >= sizeof(*sin))
		s = inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size);
	else if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6))
		s = inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
		    (socklen_t)size);
	else if (sa->sa_family == AF_UNIX)
		snprintf(buf, size, "unix:");
	if (s == NULL && sa->sa_family != AF_UNIX)
		snprintf(buf, size, "?");
	return strlen(buf);
}
