/*
 * conf.h: the configuration as the rest of the host sees it. conf.c parses
 * the ini file into these structs, validates them and reports every problem
 * as "FILE:LINE: problem"; after that the struct is read-only (workers get
 * it frozen, SIGHUP builds a new one).
 */
#ifndef WARMCGI_CONF_H
#define WARMCGI_CONF_H

#include <stddef.h>

#include "buf.h"

#define CONF_UNSET	(-1LL)

/*
 * Limits and behaviour that [app] sets for every handler and a [handler]
 * section may override. All fields are long long so that one table row
 * type serves them; CONF_UNSET in a handler means "take [app]'s value".
 */
struct limits {
	long long	request_timeout_ms;	/* soft deadline */
	long long	deadline_grace_ms;	/* soft to hard deadline */
	long long	pending_timeout_ms;	/* longest wait for a worker */
	long long	max_request_bytes;	/* request body */
	long long	max_response_bytes;	/* buffered response body */
	long long	max_header_bytes;	/* one request header field */
	long long	max_response_header_bytes; /* handler's header block */
	long long	compress;		/* 0 or 1 */
	long long	compress_min_bytes;	/* smallest body worth gzip */
	long long	expiration_s;		/* static cache lifetime */
	long long	slowlog_timeout_ms;	/* 0: off */
};

enum handler_kind {
	HANDLER_MODULE,		/* module = FILE.so */
	HANDLER_DIR,		/* dir = DIR: NAME.so or executable NAME */
	HANDLER_CGI,		/* cgi = DIR or FILE: executables only */
	HANDLER_STATIC,		/* static_dir = DIR */
	HANDLER_STATIC_FILES,	/* static_files = PATH with \N; url a regex */
	HANDLER_STATUS,		/* built in: status_path */
	HANDLER_PING,		/* built in: ping_path */
	HANDLER_KIND_UNSET
};

/* secure = ...: what a handler does with plain HTTP and with https. */
enum handler_secure {
	SECURE_OPTIONAL,	/* serves both */
	SECURE_ALWAYS,		/* redirects plain HTTP to https */
	SECURE_NEVER		/* redirects https to plain HTTP */
};

/* One `http_header = Name: value` line. */
struct conf_header {
	char		*name;
	size_t		 name_len;
	char		*value;
	size_t		 value_len;
	int		 line;		/* where the config gives it */
};

struct handler {
	char		*name;		/* from [handler NAME] */
	int		 line;		/* line of the section header */
	size_t		 index;		/* position in conf->handlers */
	char		*url;		/* exact path, or prefix ending in '/' */
	int		 prefix;	/* url ends with '/' */
	size_t		 url_len;
	enum handler_kind kind;
	char		*target;	/* absolute path of the file or dir */
	int		 target_line;	/* line of the key that set target */
	long long	 stream;	/* 0 or 1: CGI output unbuffered */
	int		 cgi_file;	/* cgi = FILE: one program, whole url */
	long long	 secure;	/* enum handler_secure */
	char		*mime_type;	/* static: type of all files, or NULL */
	struct conf_header *headers;	/* http_header lines, in file order */
	size_t		 nheaders;
	/*
	 * static_files handlers: url is a regular expression (PCRE2, the
	 * engine of nginx) matched against the whole path; static_files is
	 * the file, with \1..\9 replaced by url's captures; target is its
	 * leading directory (absolute), which the file never leaves.
	 */
	char		*static_files;	/* as written */
	size_t		 files_root_len; /* its directory part, '/' included */
	char		*upload;	/* regex the written path must match */
	void		*url_re;	/* pcre2_code of url, or NULL */
	void		*upload_re;	/* pcre2_code of upload, or NULL */
	struct limits	 limits;	/* merged with [app] after parsing */
};

struct env_var {
	char		*name;
	char		*value;
	char		*pair;		/* "name=value" */
};

struct acl;

struct conf {
	char		*file;		/* path as given */
	char		*dir;		/* absolute directory of the file */
	char		*version;	/* major of CURRENT_VERSION_ID */
	char		*auth_domain;
	char		*listen;	/* unix path (absolute) or HOST:PORT */
	int		 listen_is_tcp;
	long long	 listen_mode;	/* unix socket permission bits */
	char		*listen_group;	/* unix socket group, or NULL */
	long long	 listen_backlog;
	char		*listen_owner;	/* unix socket owner, or NULL */
	long long	 listen_uid;	/* listen_owner resolved, or -1 */
	char		*listen_allow_text;
	struct acl	*listen_allow;	/* TCP clients let in */
	long long	 workers;	/* static pool size */
	long long	 workers_min;	/* dynamic pool; == workers if static */
	long long	 workers_max;
	long long	 dynamic;	/* 1: workers_min/workers_max given */
	long long	 worker_idle_timeout_ms; /* idle time before retiring */
	long long	 max_requests;	/* 0: no limit */
	long long	 max_worker_bytes; /* RSS limit; 0: none */
	long long	 emergency_threshold; /* deaths by signal; 0: off */
	long long	 emergency_interval_ms;
	char		*status_path;	/* NULL: no status page */
	char		*ping_path;	/* NULL: no ping */
	char		*status_allow_text;
	struct acl	*status_allow;	/* clients of the status page */
	char		*user;		/* drop to this user, or NULL */
	char		*group;
	long long	 uid;		/* user resolved, or -1 */
	long long	 gid;		/* group (or user's group), or -1 */
	long long	 allow_root;	/* handlers may run as root */
	long long	 rlimit_nofile;	/* CONF_UNSET: inherited */
	long long	 rlimit_core;	/* bytes; LLONG_MAX: unlimited */
	long long	 rlimit_as;
	long long	 io_timeout_ms;	/* front end stalled: cut it off */
	long long	 preload;
	char		*hsts;		/* Strict-Transport-Security value */
	long long	 compress_level;
	char		*host_name;	/* "host" of log records */
	char		*pid_file;	/* absolute path, or NULL */
	char		*upstream_text;	/* upstream_servers as written */
	char		**upstreams;	/* --nginx: the pool's servers */
	size_t		 nupstreams;
	long long	 upstream_max_fails;	/* nginx server max_fails */
	long long	 upstream_fail_timeout_s; /* and fail_timeout */
	long long	 upstream_connect_timeout_ms; /* fastcgi_connect_... */
	char		*log;		/* "-" or absolute path */
	char		*access_log;
	struct limits	 limits;	/* [app] values */
	struct env_var	*env;
	size_t		 nenv;
	struct handler	*handlers;
	size_t		 nhandlers;
};

const char	*conf_parse_size(const char *, long long *);
const char	*conf_parse_duration_ms(const char *, long long *);
const char	*conf_parse_bool(const char *, long long *);
const char	*conf_parse_int(const char *, long long *);
const char	*conf_parse_header(const char *, struct conf_header *);
const char	*conf_parse_server(const char *);
const char	*conf_parse_servers(const char *, char ***, size_t *);
void		 conf_free_servers(char **, size_t);
int		 conf_is_static(const struct handler *);
int		 conf_load(const char *, struct conf **, struct buf *);
int		 conf_load_string(const char *, const char *, const char *,
		    struct conf **, struct buf *);
void		 conf_free(struct conf *);

#endif
