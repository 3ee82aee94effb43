/*
 * pipeline.h: serving one request, whichever transport brought it. The
 * FastCGI worker, --request and CGI mode all fill a struct req and call
 * pipeline_serve(); routing, limits, the environment, deadlines, running
 * the handler, response processing and logging happen here, once.
 */
#ifndef WARMCGI_PIPELINE_H
#define WARMCGI_PIPELINE_H

#include "buf.h"
#include "cgiresp.h"
#include "conf.h"
#include "req.h"

struct pipeline;
struct scoreboard;

/* A response about to be sent. */
struct resp {
	int		 status;
	const char	*reason;	/* NULL: the standard phrase */
	size_t		 reason_len;
	const struct cgiresp_field *fields;	/* header fields to send */
	size_t		 nfields;
	const char	*body;
	size_t		 body_len;
	int		 no_gzip;	/* never compress */
	/* A 304: the type and length of the body a 200 would have. */
	const char	*rep_type;
	size_t		 rep_len;
};

struct pipeline	*pipeline_new(const struct conf *, long long);
int		 pipeline_preload(struct pipeline *, struct buf *);
int		 pipeline_start(struct pipeline *);
void		 pipeline_serve(struct pipeline *, struct req *);
int		 pipeline_recycle_wanted(const struct pipeline *);
const char	*pipeline_version(const struct pipeline *);
const char	*pipeline_instance(const struct pipeline *);
const struct conf *pipeline_conf(const struct pipeline *);
int		 pipeline_set_scoreboard(struct pipeline *,
		    struct scoreboard *);
int		 pipeline_send(struct pipeline *, struct req *,
		    const struct resp *);
int		 pipeline_send_head(struct pipeline *, struct req *,
		    const struct resp *, int);
void		 pipeline_free(struct pipeline *);

#endif
