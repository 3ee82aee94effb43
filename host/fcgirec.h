/*
 * fcgirec.h: checking the FastCGI records a front end sends, before the
 * worker uses them (libfcgi 2.4.2 trusted the peer: crafted name/value
 * lengths made it abort, CVE-2025-23016; repeated FCGI_GET_VALUES names
 * overran its 64-byte answer buffer; every unknown management record
 * leaked memory). Pure: fcgiconn.c feeds it the bytes it read;
 * unit-tested and fuzzed.
 */
#ifndef WARMCGI_FCGIREC_H
#define WARMCGI_FCGIREC_H

#include <stddef.h>

#define FCGIREC_HEADER_LEN	8
#define FCGIREC_MAX_RECORD	(FCGIREC_HEADER_LEN + 65535 + 255)
#define FCGIREC_MAX_PARAMS	(128 << 10)	/* all PARAMS content */
#define FCGIREC_MAX_MGMT	64	/* management records per request */

/* Record types (FastCGI 1.0, section 8). */
enum {
	FCGIREC_BEGIN_REQUEST = 1,
	FCGIREC_ABORT_REQUEST = 2,
	FCGIREC_END_REQUEST = 3,
	FCGIREC_PARAMS = 4,
	FCGIREC_STDIN = 5,
	FCGIREC_STDOUT = 6,
	FCGIREC_GET_VALUES = 9,
	FCGIREC_GET_VALUES_RESULT = 10,
	FCGIREC_UNKNOWN_TYPE = 11
};

/* What one complete record is, once checked. */
enum fcgirec_kind {
	FCGIREC_NEED,		/* not a whole record yet: read more */
	FCGIREC_BAD,		/* protocol violation: close the connection */
	FCGIREC_BEGIN,		/* FCGI_BEGIN_REQUEST, a responder */
	FCGIREC_PARAMS_DATA,	/* PARAMS content, pairs checked */
	FCGIREC_PARAMS_END,	/* the empty PARAMS record */
	FCGIREC_STDIN_DATA,	/* body bytes: content, content_len */
	FCGIREC_STDIN_END,	/* the empty STDIN record: request complete */
	FCGIREC_ABORT,		/* FCGI_ABORT_REQUEST for this request */
	FCGIREC_VALUES,		/* FCGI_GET_VALUES, pairs checked */
	FCGIREC_MGMT_UNKNOWN	/* another management type: answer it */
};

/* One request's reading state. Zero it (fcgirec_init) per request. */
struct fcgirec {
	int		 phase;		/* 0 begin, 1 params, 2 stdin, 3 done */
	unsigned	 request_id;
	int		 keep_conn;	/* FCGI_KEEP_CONN was set */
	size_t		 params_len;	/* PARAMS content so far */
	size_t		 nmgmt;		/* management records so far */
	/* The name-value pair decoder, across PARAMS records. */
	int		 pair_state;	/* see fcgirec.c */
	unsigned char	 len_bytes[4];
	int		 len_have;
	unsigned long	 name_len;
	unsigned long	 skip;		/* name and value bytes still due */
	const char	*error;		/* why FCGIREC_BAD */
};

/* One record as fcgirec_next() found it. */
struct fcgirec_rec {
	enum fcgirec_kind kind;
	int		 type;
	size_t		 len;		/* whole record, padding included */
	const unsigned char *content;
	size_t		 content_len;
};

void		 fcgirec_init(struct fcgirec *);
enum fcgirec_kind fcgirec_next(struct fcgirec *, const unsigned char *,
		    size_t, struct fcgirec_rec *);
size_t		 fcgirec_values_result(const unsigned char *, size_t,
		    unsigned char *, size_t);
size_t		 fcgirec_unknown_type(int, unsigned char *, size_t);
void		 fcgirec_header(unsigned char *, int, unsigned, size_t);
long		 fcgirec_pair_len(const unsigned char **,
		    const unsigned char *);

#endif
