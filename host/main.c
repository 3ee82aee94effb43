/*
 * main.c: the command line and the startup order. Started by a web server
 * as a CGI program, it hands over to CGI mode (cli.c) before reading any
 * argument. Otherwise it reads and checks the configuration (every problem
 * as FILE:LINE), then either reports (-t, --nginx, -V), serves one request
 * (--request, cli.c), or opens the logs and the socket and hands over to
 * the master. This is the only place that exits on a configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "drain.h"
#include "log.h"
#include "master.h"
#include "module.h"
#include "nginxconf.h"
#include "priv.h"
#include "systemd.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: warmcgi [-c FILE]          run in the foreground\n"
	    "       warmcgi -t [-c FILE]       check the configuration\n"
	    "       warmcgi --nginx [-c FILE] [--nginx-listen ADDR] "
	    "[--upstream HOST:PORT]...\n"
	    "                                  print an nginx server block\n"
	    "       warmcgi --drain [-c FILE]  refuse new connections, finish "
	    "the requests\n"
	    "       warmcgi --undrain [-c FILE]\n"
	    "                                  accept connections again\n"
	    "       warmcgi --request 'METHOD /path?query' [-H 'Name: value']"
	    "...\n"
	    "               [--data @FILE|-|TEXT] [-c FILE]\n"
	    "                                  serve one request, print the "
	    "response\n"
	    "       warmcgi -V                 print the version\n");
	exit(2);
}

/*
 * --upstream HOST:PORT (repeatable) replaces upstream_servers for
 * --nginx. Exits on a bad address.
 */
static void
set_upstreams(struct conf *c, const struct buf *list)
{
	const char	*err;
	char		**servers;
	size_t		 n;

	if (list->len == 0)
		return;
	if ((err = conf_parse_servers(list->data, &servers, &n)) != NULL) {
		fprintf(stderr, "warmcgi: --upstream %s\n", err);
		exit(2);
	}
	conf_free_servers(c->upstreams, c->nupstreams);
	c->upstreams = servers;
	c->nupstreams = n;
}

/*
 * Loads the config and (with modules set) checks its modules; prints
 * every problem.
 */
static struct conf *
load(const char *file, int modules)
{
	struct buf	 errors;
	struct conf	*c = NULL;

	buf_init(&errors);
	if (conf_load(file, &c, &errors) == 0 && modules)
		module_check_conf(c, &errors);
	if (errors.len > 0) {
		fputs(errors.data, stderr);
		conf_free(c);
		c = NULL;
	}
	buf_free(&errors);
	return c;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nginx", no_argument, NULL, 'N' },
		{ "nginx-listen", required_argument, NULL, 'L' },
		{ "request", required_argument, NULL, 'R' },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'D' },
		{ "upstream", required_argument, NULL, 'U' },
		{ "drain", no_argument, NULL, 'X' },
		{ "undrain", no_argument, NULL, 'Y' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = "warmcgi.ini", *nginx_listen = "80";
	struct cli_request rq;
	struct conf	*c;
	char		 err[1024];
	struct buf	 upstreams;
	int		 ch, test = 0, nginx = 0, fd, own = 1, drain = -1;

	/*
	 * Before any option: RFC 3875 lets a server pass words of the query
	 * string as arguments, so in CGI mode none may be read as options.
	 */
	if (cli_cgi_wanted())
		cli_cgi(argc, argv);
	memset(&rq, 0, sizeof(rq));
	buf_init(&upstreams);
	if ((rq.headers = calloc((size_t)argc, sizeof(char *))) == NULL)
		return 1;
	while ((ch = getopt_long(argc, argv, "c:tVhH:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'N':
			nginx = 1;
			break;
		case 'L':
			nginx_listen = optarg;
			break;
		case 'U':
			buf_printf(&upstreams, "%s ", optarg);
			break;
		case 'X':
		case 'Y':
			if (drain != -1)
				usage();
			drain = ch == 'X';
			break;
		case 'R':
			rq.line = optarg;
			break;
		case 'H':
			rq.headers[rq.nheaders++] = optarg;
			break;
		case 'D':
			if (rq.data != NULL) {
				fprintf(stderr, "warmcgi: --data twice\n");
				usage();
			}
			rq.data = optarg;
			break;
		case 'V':
			printf("warmcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || (rq.line == NULL && (rq.nheaders > 0 ||
	    rq.data != NULL)) || (rq.line != NULL && (test || nginx)) ||
	    (upstreams.len > 0 && !nginx) || (drain != -1 && (test || nginx ||
	    rq.line != NULL)))
		usage();
	/* Modules may be half replaced while a host is drained. */
	if ((c = load(file, drain == -1)) == NULL)
		return 1;
	if (drain != -1) {
		ch = drain_command(c, drain);
		conf_free(c);
		return ch;
	}
	log_set_host(c->host_name);
	set_upstreams(c, &upstreams);
	buf_free(&upstreams);
	/*
	 * A server must not run handlers as root by accident; --request is
	 * one request its user asked for, run with the user's own rights.
	 */
	if (!nginx && !test && rq.line == NULL &&
	    priv_check_root(c, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		conf_free(c);
		return 1;
	}
	if (test) {
		fprintf(stderr, "warmcgi: %s: configuration ok\n", file);
		conf_free(c);
		return 0;
	}
	if (nginx) {
		nginxconf_print(stdout, c, nginx_listen);
		conf_free(c);
		return 0;
	}
	if (rq.line != NULL)
		cli_request(c, &rq);
	free(rq.headers);
	if (log_open(c->log, c->access_log) == -1)
		return 1;
	systemd_notify_init();
	master_catch_signals();
	if ((fd = systemd_listen_fd()) != -1)
		own = 0;
	else if ((fd = master_listen(c)) == -1)
		return 1;
	master_run(c, fd, own);
}
