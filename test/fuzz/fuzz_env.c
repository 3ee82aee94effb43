/*
 * fuzz_env.c: FastCGI parameters to a handler's environment. The input
 * is the parameter list, one "NAME=value" per line (as libfcgi hands
 * them over). Invariants: every variable has a name and a '=', names are
 * unique, HTTP_PROXY is never set (httpoxy), QUERY_STRING always is, the
 * host's own variables win over the front end's, nothing is empty but
 * QUERY_STRING, and the path to route is never empty. The worker's layout
 * cache (kept from one input to the next, as from one request to the
 * next) gives the same request and environment as no cache.
 */
#include "fuzz.h"
#include "req.h"

static char *extra[] = {
	"REQUEST_LOG_ID=0123", "SCRIPT_NAME=/fuzz", "PATH_INFO",
	"SERVER_SOFTWARE=warmcgi/fuzz",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	static struct req_layout *l;
	struct req_env_extra x = { extra, sizeof(extra) / sizeof(extra[0]) };
	struct req	 r, c;
	enum req_err	 rc;
	char		*s = fuzz_str(data, size), **params, *p, *nl, *eq;
	size_t		 n = 1, i, j, nl1;

	if (a == NULL && (a = arena_new(4096)) == NULL)
		abort();
	if (l == NULL && (l = req_layout_new()) == NULL)
		abort();
	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	params = calloc(n + 1, sizeof(*params));
	FUZZ_ASSERT(params != NULL);
	for (p = s, i = 0; i < n; i++) {
		params[i] = p;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	memset(&r, 0, sizeof(r));
	r.arena = a;
	r.params = params;
	c = r;
	if ((rc = req_parse(&r, NULL)) == REQ_OK)
		FUZZ_ASSERT(r.path[0] != '\0');
	FUZZ_ASSERT(r.method != NULL && r.query != NULL);
	FUZZ_ASSERT(req_parse(&c, l) == rc);
	FUZZ_ASSERT(strcmp(c.method, r.method) == 0);
	FUZZ_ASSERT(strcmp(c.query, r.query) == 0);
	FUZZ_ASSERT(rc != REQ_OK || strcmp(c.path, r.path) == 0);
	if ((rc = req_build_env(&r, &x, NULL)) == REQ_OK) {
		FUZZ_ASSERT(req_build_env(&c, &x, l) == REQ_OK);
		for (i = 0; r.env[i] != NULL; i++)
			FUZZ_ASSERT(c.env[i] != NULL &&
			    strcmp(c.env[i], r.env[i]) == 0);
		FUZZ_ASSERT(c.env[i] == NULL);
		for (i = 0; r.env[i] != NULL; i++) {
			eq = strchr(r.env[i], '=');
			FUZZ_ASSERT(eq != NULL && eq != r.env[i]);
			nl1 = (size_t)(eq - r.env[i]);
			FUZZ_ASSERT(strncmp(r.env[i], "HTTP_PROXY=", 11) != 0);
			FUZZ_ASSERT(strncmp(r.env[i], "PATH_INFO=", 10) != 0);
			FUZZ_ASSERT(eq[1] != '\0' || (nl1 == 12 &&
			    memcmp(r.env[i], "QUERY_STRING", 12) == 0));
			if (nl1 == 11 && memcmp(r.env[i], "SCRIPT_NAME", 11) ==
			    0)
				FUZZ_ASSERT(strcmp(eq + 1, "/fuzz") == 0);
			for (j = 0; j < i; j++)
				FUZZ_ASSERT(strncmp(r.env[j], r.env[i],
				    nl1 + 1) != 0);
		}
		for (i = 0; r.env[i] != NULL; i++)
			if (strncmp(r.env[i], "QUERY_STRING=", 13) == 0)
				break;
		FUZZ_ASSERT(r.env[i] != NULL);
	}
	arena_reset(a);
	free(params);
	free(s);
	return 0;
}
