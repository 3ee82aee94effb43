/*
 * cli.h: serving one request in the calling process, without master,
 * workers or socket: `warmcgi --request` and CGI mode (warmcgi started by a
 * web server as a CGI program). Both go through pipeline_serve().
 */
#ifndef WARMCGI_CLI_H
#define WARMCGI_CLI_H

#include <stddef.h>

struct conf;

/* What --request, -H and --data gave. */
struct cli_request {
	const char	*line;		/* "METHOD /path?query" */
	char		**headers;	/* "Name: value" */
	size_t		 nheaders;
	const char	*data;		/* NULL, "-", "@FILE" or the body */
};

int	 cli_cgi_wanted(void);
void	 cli_cgi(int, char **) __attribute__((noreturn));
void	 cli_request(struct conf *, const struct cli_request *)
	    __attribute__((noreturn));

#endif
