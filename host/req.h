/*
 * req.h: one request as it moves through the pipeline. A transport (the
 * FastCGI worker, --request, CGI mode) fills the input part, pipeline.c
 * routes and serves it and fills the outcome, log.c reads it. The pure
 * builders here (params to environ, request ids) are unit-tested and fuzzed.
 */
#ifndef WARMCGI_REQ_H
#define WARMCGI_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

#define REQ_ID_LEN	40	/* hex digits of REQUEST_LOG_ID */
#define INSTANCE_ID_LEN	32	/* hex digits of INSTANCE_ID */

struct handler;
struct req_layout;
struct transport;

enum req_err {
	REQ_OK,
	REQ_HEADER_TOO_LARGE,	/* a header field over max_header_size */
	REQ_NOMEM
};

/* What the router found; strings point into the request's arena. */
struct route {
	const struct handler *h;
	const char	*script_name;	/* SCRIPT_NAME for the handler */
	const char	*path_info;	/* PATH_INFO, "" if none */
	const char	*file;		/* module, executable or static file */
	int		 is_module;	/* file is a .so to call */
	int		 nph;		/* program named nph-*: RFC 3875 5 */
};

struct req {
	struct arena	*arena;		/* freed when the request ends */
	struct transport *t;		/* where the response goes */

	/* Input, set by the transport. */
	char		**params;	/* "NAME=value", NULL-terminated */
	const char	*body;
	size_t		 body_len;
	int		 body_too_large; /* more than max_request_size came */
	long long	 start_us;	/* when a worker took the request */
	long long	 end_us;	/* when its response was out, or 0 */
	const char	*script_prefix;	/* CGI mode: the server's SCRIPT_NAME,
					   put before the handler's */

	/* Parsed from params by req_parse(). */
	const char	*method;
	const char	*path;		/* decoded: SCRIPT_NAME + PATH_INFO */
	const char	*query;
	const char	*remote_addr;
	const char	*remote_host;	/* REMOTE_HOST, or NULL */
	const char	*user_agent;
	const char	*accept_encoding;
	const char	*request_start;	/* REQUEST_START ($msec), or NULL */
	const char	*content_length; /* CONTENT_LENGTH, or NULL */
	const char	*document_root;	/* DOCUMENT_ROOT, or NULL */
	size_t		 longest_header; /* longest HTTP_* value */
	int		 is_head;
	int		 layout;	/* req_parse()'s cache describes params */

	char		 id[REQ_ID_LEN + 1];	/* REQUEST_LOG_ID */
	struct route	 route;
	char		**env;		/* the handler's environ */
	long long	 soft_deadline_ms; /* ms since the epoch */
	long long	 hard_deadline_ms;
	int		 redirects;	/* local redirects followed */
	int		 stderr_lines;	/* records made from stderr */

	/* Outcome, for the access log. */
	int		 status;
	long long	 bytes;		/* body bytes sent */
	int		 canceled;	/* the client went away */
	int		 watched;	/* the watchdog may poll the connection */
};

/* Inputs of the environment that do not come from the front end. */
struct req_env_extra {
	char *const	*pairs;		/* "NAME=value", in rising priority */
	size_t		 npairs;
};

enum req_err	 req_parse(struct req *, struct req_layout *);
struct req_layout *req_layout_new(void);
void		 req_layout_free(struct req_layout *);
unsigned long	 req_layout_hits(const struct req_layout *, int);
enum req_err	 req_build_env(struct req *, const struct req_env_extra *,
		    struct req_layout *);
void		 req_id_format(char *, long long, uint64_t, uint32_t);
size_t		 req_url_decode(char *, const char *, size_t);
const char	*req_param(char **, const char *);

#endif
