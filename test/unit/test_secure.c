/* test_secure.c: when `secure` redirects, with which status, and where. */
#include "conf.h"
#include "secure.h"
#include "unit.h"

static struct arena	*a;

static void
https_param(void)
{
	ASSERT(secure_is_https("on"));
	ASSERT(secure_is_https("1"));
	ASSERT(secure_is_https("ON"));
	ASSERT(!secure_is_https(NULL));
	ASSERT(!secure_is_https(""));
	ASSERT(!secure_is_https("off"));
	ASSERT(!secure_is_https("OFF"));
}

static void
wanted(void)
{
	ASSERT(secure_redirect_wanted(SECURE_ALWAYS, 0));
	ASSERT(!secure_redirect_wanted(SECURE_ALWAYS, 1));
	ASSERT(secure_redirect_wanted(SECURE_NEVER, 1));
	ASSERT(!secure_redirect_wanted(SECURE_NEVER, 0));
	ASSERT(!secure_redirect_wanted(SECURE_OPTIONAL, 0));
	ASSERT(!secure_redirect_wanted(SECURE_OPTIONAL, 1));
}

static void
status(void)
{
	ASSERT_EQ(secure_redirect_status("GET"), 301);
	ASSERT_EQ(secure_redirect_status("HEAD"), 301);
	ASSERT_EQ(secure_redirect_status("POST"), 308);
	ASSERT_EQ(secure_redirect_status("PUT"), 308);
	ASSERT_EQ(secure_redirect_status("DELETE"), 308);
	ASSERT_EQ(secure_redirect_status("get"), 308);
}

static void
location(void)
{
	struct secure_target t = { "example.com", "srv", "/a/b?x=1&y=%20",
	    "/a/b", "x=1&y=%20" };

	ASSERT_STR(secure_location(a, 1, &t),
	    "https://example.com/a/b?x=1&y=%20");
	ASSERT_STR(secure_location(a, 0, &t),
	    "http://example.com/a/b?x=1&y=%20");
	/* The port goes: the scheme's default port is meant. */
	t.host = "Example.com:8080";
	ASSERT_STR(secure_location(a, 1, &t), "https://Example.com/a/b?x=1&"
	    "y=%20");
	t.host = "[::1]:8080";
	ASSERT_STR(secure_location(a, 1, &t), "https://[::1]/a/b?x=1&y=%20");
	t.host = "127.0.0.1";
	ASSERT_STR(secure_location(a, 1, &t), "https://127.0.0.1/a/b?x=1&"
	    "y=%20");
	/* A Host that is not a host name: SERVER_NAME, else nothing. */
	t.host = "evil.com/x";
	ASSERT_STR(secure_location(a, 1, &t), "https://srv/a/b?x=1&y=%20");
	t.host = "a b";
	ASSERT_STR(secure_location(a, 1, &t), "https://srv/a/b?x=1&y=%20");
	t.host = "h:80x";
	ASSERT_STR(secure_location(a, 1, &t), "https://srv/a/b?x=1&y=%20");
	t.host = NULL;
	t.server_name = "_";
	ASSERT(secure_location(a, 1, &t) == NULL);
	t.server_name = NULL;
	ASSERT(secure_location(a, 1, &t) == NULL);
}

static void
location_is_safe(void)
{
	struct secure_target t = { "h", NULL, "/a\r\nSet-Cookie: x\x80",
	    NULL, NULL };

	/* Raw bytes a header must not hold are encoded. */
	ASSERT_STR(secure_location(a, 1, &t),
	    "https://h/a%0D%0ASet-Cookie:%20x%80");
	/* No REQUEST_URI: the decoded path is encoded again. */
	t.request_uri = NULL;
	t.path = "/a b/%/?#\xc3\xa9";
	t.query = "q=1 2";
	ASSERT_STR(secure_location(a, 1, &t),
	    "https://h/a%20b/%25/%3F%23%C3%A9?q=1%202");
	t.query = "";
	t.path = "/";
	ASSERT_STR(secure_location(a, 1, &t), "https://h/");
	t.path = "relative";
	ASSERT(secure_location(a, 1, &t) == NULL);
	t.request_uri = "*";
	ASSERT(secure_location(a, 1, &t) == NULL);
}

int
main(void)
{
	a = arena_new(4096);
	RUN(https_param);
	RUN(wanted);
	RUN(status);
	RUN(location);
	RUN(location_is_safe);
	arena_free(a);
	return unit_done();
}
