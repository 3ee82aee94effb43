/*
 * transport.h: where a request came from and where its response goes. The
 * FastCGI worker (worker.c), a request run from the command line and
 * warmcgi run as a CGI program each fill one, and pipeline.c writes through
 * it. The emergency fields let crash.c answer 500 from a signal handler.
 */
#ifndef WARMCGI_TRANSPORT_H
#define WARMCGI_TRANSPORT_H

#include <stddef.h>

struct req;

enum transport_style {
	TRANSPORT_CGI,		/* head starts with "Status: 200 OK" */
	TRANSPORT_HTTP		/* head starts with "HTTP/1.1 200 OK" */
};

struct transport {
	enum transport_style style;
	/* Writes response bytes. Returns 0, or -1 (client gone). */
	int	(*write)(struct transport *, const void *, size_t);
	/* Sends what is buffered. Returns 0 or -1. */
	int	(*flush)(struct transport *);
	/*
	 * Ends a response whose head is out so that the client sees it
	 * incomplete (a streamed body cut short), or NULL.
	 */
	void	(*abort)(struct transport *);
	/*
	 * Reads the whole request body, at most max bytes, into *body.
	 * Returns 0, 1 when there was more than max, or -1 when the body
	 * could not be read (client gone).
	 */
	int	(*read_body)(struct transport *, size_t, const char **,
		    size_t *);
	/*
	 * Completes the response of r: sends what is still buffered and
	 * ends the request (FastCGI END_REQUEST); the transport makes sure
	 * the watchdog let go of the connection first. Called once per
	 * request, before its access record is written, so that logging
	 * never delays the response; r's parameters stay valid until the
	 * transport takes the next request. May be NULL.
	 */
	void	(*end)(struct transport *, const struct req *);
	void		*ctx;		/* the transport's own state */
	int		 conn_fd;	/* watched for a client going away */
	int		 emergency_fd;	/* raw descriptor for crash.c */
	int		 fcgi_request_id; /* > 0: wrap in FastCGI records */
	int		 head_sent;	/* no emergency answer after this */
};

#endif
