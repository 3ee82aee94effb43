/*
 * cli.c: two transports that serve exactly one request in the calling
 * process, with no master, no workers and no socket. main.c picks them:
 *
 * - `warmcgi --request 'METHOD /path?query' [-H 'Name: value']...
 *   [--data @FILE|-|TEXT]`: the request comes from the command line
 *   (cliparams.c builds the parameters nginx would send), the response is
 *   printed as HTTP (status line, header fields, body) on standard output
 *   and the request's log records go to standard error. Handler authors
 *   test with it, without nginx;
 * - CGI mode: warmcgi started by a web server as a CGI program (RFC 3875),
 *   typically as the interpreter of an executable warmcgi.ini whose first
 *   line is "#!/usr/sbin/warmcgi -c". The environment and standard input
 *   are the request, the CGI response goes to standard output, and the
 *   logs go where the config says.
 *
 * Both are transports, not code paths: they fill a struct req and call
 * pipeline_serve(), so routing, limits, the environment, the deadlines
 * (the watchdog thread), modules, classic CGI, static files, gzip, crash
 * containment and logs are exactly the worker's.
 *
 * pipeline_start() puts memfds on descriptors 0, 1 and 2 (module stdio
 * capture), so the real ones are first copied to high descriptors: the
 * body is read from the saved stdin, the response is written to the saved
 * stdout, "-" logs go to the saved stderr, and the crash path (crash.c)
 * writes its 500 to the saved stdout.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "io.h"
#include "cliparams.h"
#include "conf.h"
#include "crash.h"
#include "log.h"
#include "pipeline.h"
#include "req.h"
#include "transport.h"

#define SAVED_FD_MIN	10	/* the real stdio is copied at or above */
#define READ_CHUNK	65536
#define ARENA_SIZE	4096

extern char **environ;

/* The one request of this process, and the real standard descriptors. */
struct cli {
	struct transport t;
	int		 in_fd;		/* the real stdin */
	int		 out_fd;	/* the real stdout */
	struct buf	 body;		/* the request body */
	long long	 content_length; /* CGI mode: CONTENT_LENGTH, or -1 */
	int		 write_failed;	/* stdout is gone */
};

static const char fail_page[] = "Status: 500 Internal Server Error\r\n"
    "Content-Type: text/plain\r\n\r\n500 Internal Server Error\n";

/*
 * Returns 1 when this process was started as a CGI program: the web
 * server set GATEWAY_INTERFACE (RFC 3875 section 4.1.4) and descriptor 0
 * is not a listening socket, which is how a FastCGI process manager starts
 * its applications (libfcgi's FCGX_IsCGI() tells them apart the same way).
 */
int
cli_cgi_wanted(void)
{
	int		 listening = 0;
	socklen_t	 len = sizeof(listening);

	if (getenv("GATEWAY_INTERFACE") == NULL)
		return 0;
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening)
		return 0;
	return 1;
}

/*
 * Reads fd into b until end-of-file or, when want >= 0, until want bytes
 * in all. Returns 0, 1 when more than max bytes came, or -1 on a read
 * error or an end before want.
 */
static int
read_fd(int fd, struct buf *b, size_t max, long long want)
{
	size_t	 chunk;
	ssize_t	 n;

	for (;;) {
		chunk = READ_CHUNK;
		if (want >= 0) {
			if ((unsigned long long)want == b->len)
				return 0;
			if ((unsigned long long)want - b->len < chunk)
				chunk = (size_t)want - b->len;
		}
		if (buf_reserve(b, chunk) == -1)
			return -1;
		n = read(fd, b->data + b->len, chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return want >= 0 ? -1 : 0;
		b->len += (size_t)n;
		if (b->len > max)
			return 1;
	}
}

static int
cli_write(struct transport *t, const void *p, size_t n)
{
	struct cli	*cli = t->ctx;

	if (cli->write_failed || io_write_all(cli->out_fd, p, n) == -1) {
		cli->write_failed = 1;
		return -1;
	}
	return 0;
}

static int
cli_flush(struct transport *t)
{
	struct cli	*cli = t->ctx;

	return cli->write_failed ? -1 : 0;
}

/* --request: the body is already in memory. */
static int
mem_read_body(struct transport *t, size_t max, const char **body,
    size_t *len)
{
	struct cli	*cli = t->ctx;

	if (cli->body.len > max)
		return 1;
	*body = cli->body.data ? cli->body.data : "";
	*len = cli->body.len;
	return 0;
}

/*
 * CGI mode: the body is CONTENT_LENGTH bytes of standard input (RFC 3875
 * section 4.2: never read more); without CONTENT_LENGTH, what comes until
 * end-of-file (a server that passes a chunked body along).
 */
static int
fd_read_body(struct transport *t, size_t max, const char **body,
    size_t *len)
{
	struct cli	*cli = t->ctx;
	int		 rc;

	if ((rc = read_fd(cli->in_fd, &cli->body, max,
	    cli->content_length)) != 0)
		return rc;
	*body = cli->body.data ? cli->body.data : "";
	*len = cli->body.len;
	return 0;
}

/*
 * Copies descriptors 0 and 1 above SAVED_FD_MIN (close-on-exec), where
 * pipeline_start() will not touch them; log_open("-") takes its own copy
 * of 2. A standard descriptor the parent left closed is /dev/null first.
 * Returns 0 or -1.
 */
static int
save_stdio(struct cli *cli)
{
	int	 fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) != -1)
			continue;
		if ((fd = open("/dev/null", O_RDWR)) != i) {
			if (fd != -1)
				close(fd);
			return -1;
		}
	}
	if ((cli->in_fd = fcntl(0, F_DUPFD_CLOEXEC, SAVED_FD_MIN)) == -1 ||
	    (cli->out_fd = fcntl(1, F_DUPFD_CLOEXEC, SAVED_FD_MIN)) == -1)
		return -1;
	return 0;
}

/*
 * Returns 1 if fd is a pipe. Its write end polls POLLERR once the server
 * stops reading, which the watchdog takes for a client gone. A socket is
 * not watched: a server may shut down its sending side and still read.
 */
static int
is_fifo(int fd)
{
	struct stat	 st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void
cli_init(struct cli *cli, enum transport_style style)
{
	memset(cli, 0, sizeof(*cli));
	buf_init(&cli->body);
	cli->in_fd = cli->out_fd = -1;
	cli->content_length = -1;
	cli->t.style = style;
	cli->t.write = cli_write;
	cli->t.flush = cli_flush;
	cli->t.ctx = cli;
	cli->t.conn_fd = -1;
	cli->t.emergency_fd = -1;
	cli->t.fcgi_request_id = 0;	/* plain bytes, no FastCGI records */
}

/*
 * CURRENT_VERSION_ID's minor when each process serves one request: the
 * time the config file last changed, so that it moves when the app is
 * redeployed, not with every request.
 */
static long long
load_minor(const struct conf *c)
{
	struct stat	 st;

	if (stat(c->file, &st) == -1)
		return (long long)time(NULL);
	return (long long)st.st_mtime;
}

/*
 * Serves the request of params through cli's transport. mount, if not
 * NULL, goes before the handler's SCRIPT_NAME. Returns 0, or -1 when the
 * process could not be set up to serve (logged).
 */
static int
serve(struct cli *cli, const struct conf *c, char **params,
    const char *mount, long long start_us)
{
	struct pipeline	*pl;
	struct req	 r;

	signal(SIGPIPE, SIG_IGN);	/* a gone reader is EPIPE, then 499 */
	cli->t.emergency_fd = cli->out_fd;
	if ((pl = pipeline_new(c, load_minor(c))) == NULL ||
	    pipeline_start(pl) == -1)
		return -1;
	memset(&r, 0, sizeof(r));
	r.params = params;
	r.t = &cli->t;
	r.start_us = start_us;
	r.script_prefix = mount;
	pipeline_serve(pl, &r);
	return 0;
}

/* Reads --data: "-" is standard input, "@FILE" a file, else the text. */
static int
load_data(struct cli *cli, const char *data)
{
	int	 fd, rc;

	if (strcmp(data, "-") == 0) {
		if (read_fd(cli->in_fd, &cli->body, SIZE_MAX, -1) == 0)
			return 0;
		fprintf(stderr, "warmcgi: --data -: %s\n", strerror(errno));
		return -1;
	}
	if (data[0] != '@')
		return buf_append(&cli->body, data, strlen(data));
	if ((fd = open(data + 1, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "warmcgi: --data %s: %s\n", data,
		    strerror(errno));
		return -1;
	}
	if ((rc = read_fd(fd, &cli->body, SIZE_MAX, -1)) != 0)
		fprintf(stderr, "warmcgi: --data %s: %s\n", data,
		    strerror(errno));
	close(fd);
	return rc == 0 ? 0 : -1;
}

/*
 * Runs `warmcgi --request`: builds the request rq describes, serves it
 * with config c in this process, prints the HTTP response on standard
 * output and the request's log records on standard error. Exits 0 when a
 * response was printed, whatever its status (also the 500 of a crash or
 * of the hard deadline), 1 when none could be, 2 for a malformed request.
 * Never returns.
 */
void
cli_request(struct conf *c, const struct cli_request *rq)
{
	struct cliparams_in in;
	struct cli	 cli;
	struct arena	*a;
	enum cliparams_err err;
	long long	 start_us = log_now_us();
	char		**params;
	size_t		 bad = 0;

	cli_init(&cli, TRANSPORT_HTTP);
	cli.t.read_body = mem_read_body;
	if (save_stdio(&cli) == -1) {
		perror("warmcgi: standard descriptors");
		_exit(1);
	}
	if (rq->data != NULL && load_data(&cli, rq->data) == -1)
		_exit(1);
	if ((a = arena_new(ARENA_SIZE)) == NULL)
		_exit(1);
	memset(&in, 0, sizeof(in));
	in.line = rq->line;
	in.headers = rq->headers;
	in.nheaders = rq->nheaders;
	in.has_body = rq->data != NULL;
	in.body_len = cli.body.len;
	if ((err = cliparams_build(a, &in, &params, &bad)) != CLIPARAMS_OK) {
		if (err == CLIPARAMS_BAD_HEADER ||
		    err == CLIPARAMS_CONTENT_LENGTH)
			fprintf(stderr, "warmcgi: -H '%s': %s\n",
			    rq->headers[bad], cliparams_strerror(err));
		else
			fprintf(stderr, "warmcgi: --request '%s': %s\n",
			    rq->line, cliparams_strerror(err));
		_exit(2);
	}
	if (log_open("-", "-") == -1)
		_exit(1);
	crash_set_exit(0);	/* a 500 was printed: that is a response */
	if (serve(&cli, c, params, NULL, start_us) == -1)
		_exit(1);
	_exit(cli.write_failed || !cli.t.head_sent ? 1 : 0);
}

/* Returns 1 if a and b name the same file. */
static int
same_file(const char *a, const char *b)
{
	struct stat	 sa, sb;

	return a != NULL && b != NULL && stat(a, &sa) == 0 &&
	    stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

/*
 * The config file of CGI mode, in this order:
 *
 * 1. "-c FILE" as the first two arguments: the config is the script, its
 *    first line "#!/usr/sbin/warmcgi -c", and the kernel adds its path.
 *    RFC 3875 section 4.4 lets a server append words of a query string
 *    without '=' as more arguments, so a client could send "?-c+FILE":
 *    the arguments count only when FILE is the script the server ran
 *    (SCRIPT_FILENAME), or when the query string has no such words.
 *    Nothing after them is ever read;
 * 2. WARMCGI_CONFIG, set by the server's configuration (a client cannot:
 *    its header fields arrive as HTTP_*);
 * 3. warmcgi.ini in the current directory (servers run a CGI program in
 *    its own directory).
 */
static const char *
cgi_config(int argc, char **argv)
{
	const char	*q = getenv("QUERY_STRING"), *env;

	if (argc >= 3 && strcmp(argv[1], "-c") == 0 &&
	    (same_file(argv[2], getenv("SCRIPT_FILENAME")) ||
	    q == NULL || *q == '\0' || strchr(q, '=') != NULL))
		return argv[2];
	if ((env = getenv("WARMCGI_CONFIG")) != NULL && *env != '\0')
		return env;
	return "warmcgi.ini";
}

/* Opens the configured logs; falls back to standard error. */
static void
cgi_logs(const struct conf *c)
{
	log_set_host(c->host_name);
	if (log_open(c->log, c->access_log) == 0)
		return;
	if (log_open("-", "-") == 0)
		log_warnx("cannot open the configured logs; logging to the "
		    "web server's error log");
}

/*
 * Runs CGI mode: serves the one request of this process's environment
 * and standard input, writes the CGI response on standard output and
 * exits 0. A config that does not load is a bare 500 for the client and
 * its "FILE:LINE: problem" lines on standard error (the server's error
 * log). A crash or the hard deadline answers 500 and exits 1. Never
 * returns.
 */
void
cli_cgi(int argc, char **argv)
{
	struct buf	 errors;
	struct conf	*c = NULL;
	struct cli	 cli;
	struct arena	*a;
	const char	*file, *mount, *cl;
	long long	 start_us = log_now_us();
	char		**params, *end;

	cli_init(&cli, TRANSPORT_CGI);
	cli.t.read_body = fd_read_body;
	if (save_stdio(&cli) == -1)
		_exit(1);
	file = cgi_config(argc, argv);
	buf_init(&errors);
	if (conf_load(file, &c, &errors) == -1) {
		fprintf(stderr, "%s", errors.data ? errors.data :
		    "warmcgi: cannot load the configuration\n");
		io_write_all(cli.out_fd, fail_page, sizeof(fail_page) - 1);
		_exit(1);
	}
	buf_free(&errors);
	cgi_logs(c);
	crash_set_exit(1);
	if ((a = arena_new(ARENA_SIZE)) == NULL ||
	    (params = cliparams_cgi(a, environ, &mount)) == NULL)
		goto fail;
	if ((cl = getenv("CONTENT_LENGTH")) != NULL && *cl != '\0') {
		errno = 0;
		cli.content_length = strtoll(cl, &end, 10);
		if (*end != '\0' || errno != 0 || cli.content_length < 0)
			cli.content_length = -1;	/* the pipeline: 400 */
	}
	if (is_fifo(cli.out_fd))
		cli.t.conn_fd = cli.out_fd;
	if (serve(&cli, c, params, mount, start_us) == -1)
		goto fail;
	_exit(0);
fail:
	io_write_all(cli.out_fd, fail_page, sizeof(fail_page) - 1);
	_exit(1);
}
