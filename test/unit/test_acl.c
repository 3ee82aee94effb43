/* test_acl.c: address lists for status_allow and listen_allow. */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "acl.h"
#include "unit.h"

static void
parse_errors(void)
{
	struct acl	*a;

	ASSERT(acl_parse("10.0.0.0/8 ::1, unix all", &a) == NULL);
	acl_free(a);
	ASSERT(acl_parse("", &a) == NULL);
	ASSERT(!acl_match_text(a, "127.0.0.1"));
	acl_free(a);
	ASSERT(acl_parse("localhost", &a) != NULL);
	ASSERT(a == NULL);
	ASSERT(acl_parse("10.0.0.0/33", &a) != NULL);
	ASSERT(acl_parse("10.0.0.0/", &a) != NULL);
	ASSERT(acl_parse("10.0.0.0/8x", &a) != NULL);
	ASSERT(acl_parse("::/129", &a) != NULL);
	ASSERT(acl_parse("[::1", &a) != NULL);
	ASSERT(acl_parse("[::1]/128", &a) == NULL);
	ASSERT(acl_match_text(a, "::1"));
	acl_free(a);
}

static void
text_matches(void)
{
	struct acl	*a;

	ASSERT(acl_parse("127.0.0.0/8 ::1 unix 192.168.1.7 10.1.0.0/17",
	    &a) == NULL);
	ASSERT(acl_match_text(a, "127.0.0.1"));
	ASSERT(acl_match_text(a, "127.255.3.4"));
	ASSERT(!acl_match_text(a, "128.0.0.1"));
	ASSERT(acl_match_text(a, "::1"));
	ASSERT(!acl_match_text(a, "::2"));
	ASSERT(acl_match_text(a, "unix:"));
	ASSERT(acl_match_text(a, "192.168.1.7"));
	ASSERT(!acl_match_text(a, "192.168.1.8"));
	ASSERT(acl_match_text(a, "10.1.127.255"));
	ASSERT(!acl_match_text(a, "10.1.128.0"));
	ASSERT(acl_match_text(a, "::ffff:127.0.0.1"));
	ASSERT(!acl_match_text(a, "::ffff:128.0.0.1"));
	ASSERT(!acl_match_text(a, "nonsense"));
	ASSERT(!acl_match_text(a, ""));
	ASSERT(!acl_match_text(a, NULL));
	ASSERT(!acl_match_text(NULL, "127.0.0.1"));
	acl_free(a);
	ASSERT(acl_parse("all", &a) == NULL);
	ASSERT(acl_match_text(a, "203.0.113.9"));
	ASSERT(acl_match_text(a, "2001:db8::1"));
	acl_free(a);
	ASSERT(acl_parse("2001:db8::/32", &a) == NULL);
	ASSERT(acl_match_text(a, "2001:db8:ffff::1"));
	ASSERT(!acl_match_text(a, "2001:db9::1"));
	ASSERT(!acl_match_text(a, "unix:"));
	ASSERT(acl_match_text(a, "2001:db8::1%eth0"));
	acl_free(a);
}

static void
sockaddr_matches(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct acl	*a;
	char		 text[64];

	ASSERT(acl_parse("127.0.0.1 ::1", &a) == NULL);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ASSERT(acl_match_sockaddr(a, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT(acl_format_addr(text, sizeof(text), (struct sockaddr *)&sin,
	    sizeof(sin)) == 9);
	ASSERT_STR(text, "127.0.0.1");
	inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
	ASSERT(!acl_match_sockaddr(a, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT(!acl_match_sockaddr(a, (struct sockaddr *)&sin, 4));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	ASSERT(acl_match_sockaddr(a, (struct sockaddr *)&sin6, sizeof(sin6)));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	ASSERT(acl_match_sockaddr(a, (struct sockaddr *)&sin6, sizeof(sin6)));
	acl_format_addr(text, sizeof(text), (struct sockaddr *)&sin6,
	    sizeof(sin6));
	ASSERT_STR(text, "::ffff:127.0.0.1");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ASSERT(!acl_match_sockaddr(a, (struct sockaddr *)&sun, sizeof(sun)));
	acl_free(a);
}

int
main(void)
{
	RUN(parse_errors);
	RUN(text_matches);
	RUN(sockaddr_matches);
	return unit_done();
}
