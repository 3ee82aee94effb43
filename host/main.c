/*
 * main.c: the command line and the startup order. Reads and checks the
 * configuration (every problem as FILE:LINE), then either reports (-t,
 * --nginx, -V) or opens the logs and the socket and hands over to the
 * master. This is the only place that exits on a configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "buf.h"
#include "conf.h"
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
	    "       warmcgi --nginx [-c FILE] [--nginx-listen ADDR]\n"
	    "                                  print an nginx server block\n"
	    "       warmcgi -V                 print the version\n");
	exit(2);
}

/* Loads the config and checks its modules; prints every problem. */
static struct conf *
load(const char *file)
{
	struct buf	 errors;
	struct conf	*c = NULL;
	char		 err[1024];
	size_t		 i;

	buf_init(&errors);
	if (conf_load(file, &c, &errors) == 0) {
		for (i = 0; i < c->nhandlers; i++)
			if (c->handlers[i].kind == HANDLER_MODULE &&
			    module_check(c->handlers[i].target, err,
			    sizeof(err)) == -1)
				buf_printf(&errors, "%s:%d: %s\n", c->file,
				    c->handlers[i].target_line, err);
	}
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
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = "warmcgi.ini", *nginx_listen = "80";
	struct conf	*c;
	char		 err[1024];
	int		 ch, test = 0, nginx = 0, fd, own = 1;

	while ((ch = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
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
		case 'V':
			printf("warmcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if ((c = load(file)) == NULL)
		return 1;
	if (!nginx && !test && priv_check_root(c, err, sizeof(err)) == -1) {
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
	if (log_open(c->log, c->access_log) == -1)
		return 1;
	if (FCGX_Init() != 0) {
		fprintf(stderr, "warmcgi: FCGX_Init failed\n");
		return 1;
	}
	systemd_notify_init();
	if ((fd = systemd_listen_fd()) != -1)
		own = 0;
	else if ((fd = master_listen(c)) == -1)
		return 1;
	master_run(c, fd, own);
}
