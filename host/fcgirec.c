/*
 * fcgirec.c: checks the records of one FastCGI request as they arrive.
 * fcgiconn.c calls fcgirec_next() for each record it read and uses only
 * what it accepted. Pure: no I/O, no allocation.
 *
 * The rules are those of FastCGI 1.0 for a responder that does not
 * multiplex, made strict where libfcgi 2.4.2 (which warmcgi used at
 * first) fails:
 *
 *   - a name-value pair longer than FCGIREC_MAX_PARAMS, or parameters
 *     longer than that in all, are refused: libfcgi sizes its allocation
 *     as an int (nameLen + valueLen + 2) and aborts when malloc fails
 *     (CVE-2025-23016; Debian's fix covers only lengths of INT_MAX);
 *   - management records (request id 0) are answered by the host, never
 *     by libfcgi: its FCGI_GET_VALUES answer overruns a 64-byte stack
 *     buffer for more than three known names, and each unknown type
 *     leaks an allocation;
 *   - a record of another request, a second FCGI_BEGIN_REQUEST, a role
 *     other than responder, a version other than 1 or a record out of
 *     order ends the connection (nginx never sends any of them).
 */
#include <string.h>

#include "fcgirec.h"

enum {
	PHASE_BEGIN,
	PHASE_PARAMS,
	PHASE_STDIN,
	PHASE_DONE
};

/* The pair decoder's states. */
enum {
	PAIR_NAME_LEN,		/* first byte of the name length */
	PAIR_NAME_LEN4,		/* three more bytes of it */
	PAIR_VALUE_LEN,
	PAIR_VALUE_LEN4,
	PAIR_BYTES		/* skipping the name and the value */
};

/*
 * Prepares s for the first record of a request.
 */
void
fcgirec_init(struct fcgirec *s)
{
	memset(s, 0, sizeof(*s));
}

static enum fcgirec_kind
bad(struct fcgirec *s, const char *why)
{
	s->error = why;
	s->phase = PHASE_DONE;
	return FCGIREC_BAD;
}

/* A 4-byte length: 31 bits, big-endian. */
static unsigned long
len4(const unsigned char *b)
{
	return (unsigned long)(b[0] & 0x7f) << 24 |
	    (unsigned long)b[1] << 16 | (unsigned long)b[2] << 8 | b[3];
}

/*
 * Feeds n bytes of PARAMS content to the pair decoder. Returns 0, or -1
 * when a pair declares more bytes than the parameters may hold.
 */
static int
feed_pairs(struct fcgirec *s, const unsigned char *p, size_t n)
{
	unsigned long	 nl, vl;
	size_t		 take, h;

	while (n > 0) {
		if (s->pair_state == PAIR_NAME_LEN && n >= 8) {
			/* Both lengths in view: the usual case, decoded at
			 * once. */
			h = p[0] & 0x80 ? 4 : 1;
			nl = h == 4 ? len4(p) : p[0];
			vl = p[h] & 0x80 ? len4(p + h) : p[h];
			h += p[h] & 0x80 ? 4 : 1;
			if (nl + vl > FCGIREC_MAX_PARAMS)
				return -1;
			p += h;
			n -= h;
			take = n < nl + vl ? n : nl + vl;
			p += take;
			n -= take;
			if (take < nl + vl) {
				s->skip = nl + vl - take;
				s->pair_state = PAIR_BYTES;
			}
			continue;
		}
		switch (s->pair_state) {
		case PAIR_NAME_LEN:
		case PAIR_VALUE_LEN:
			s->len_bytes[0] = *p++;
			n--;
			s->len_have = 1;
			if (s->len_bytes[0] & 0x80) {
				s->pair_state++;
				break;
			}
			goto have_len;
		case PAIR_NAME_LEN4:
		case PAIR_VALUE_LEN4:
			s->len_bytes[s->len_have++] = *p++;
			n--;
			if (s->len_have < 4)
				break;
			goto have_len;
		case PAIR_BYTES:
			take = n < s->skip ? n : s->skip;
			s->skip -= take;
			p += take;
			n -= take;
			if (s->skip == 0)
				s->pair_state = PAIR_NAME_LEN;
			break;
		}
		continue;
have_len:
		if (s->pair_state <= PAIR_NAME_LEN4) {
			s->name_len = s->len_have == 1 ? s->len_bytes[0] :
			    len4(s->len_bytes);
			s->pair_state = PAIR_VALUE_LEN;
			continue;
		}
		s->skip = s->len_have == 1 ? s->len_bytes[0] :
		    len4(s->len_bytes);
		/* Both are below 2^31: the sum cannot wrap. */
		s->skip += s->name_len;
		if (s->skip > FCGIREC_MAX_PARAMS)
			return -1;
		s->pair_state = s->skip == 0 ? PAIR_NAME_LEN : PAIR_BYTES;
	}
	return 0;
}

/*
 * Checks that content holds whole name-value pairs and nothing else (a
 * FCGI_GET_VALUES record). Returns 0 or -1.
 */
static int
whole_pairs(const unsigned char *p, size_t n)
{
	struct fcgirec	 s;

	memset(&s, 0, sizeof(s));
	if (feed_pairs(&s, p, n) == -1)
		return -1;
	return s.pair_state == PAIR_NAME_LEN ? 0 : -1;
}

static enum fcgirec_kind
management(struct fcgirec *s, struct fcgirec_rec *rec)
{
	if (rec->type == FCGIREC_BEGIN_REQUEST)
		return bad(s, "FCGI_BEGIN_REQUEST with request id 0");
	if (++s->nmgmt > FCGIREC_MAX_MGMT)
		return bad(s, "too many management records");
	if (rec->type != FCGIREC_GET_VALUES)
		return FCGIREC_MGMT_UNKNOWN;
	if (whole_pairs(rec->content, rec->content_len) == -1)
		return bad(s, "malformed FCGI_GET_VALUES");
	return FCGIREC_VALUES;
}

static enum fcgirec_kind
begin(struct fcgirec *s, unsigned id, struct fcgirec_rec *rec)
{
	const unsigned char *b = rec->content;

	if (rec->type != FCGIREC_BEGIN_REQUEST)
		return bad(s, "a record before FCGI_BEGIN_REQUEST");
	if (rec->content_len != 8)
		return bad(s, "FCGI_BEGIN_REQUEST of the wrong size");
	if ((b[0] << 8 | b[1]) != 1)
		return bad(s, "a role other than FCGI_RESPONDER");
	s->request_id = id;
	s->keep_conn = b[2] & 1;
	s->phase = PHASE_PARAMS;
	return FCGIREC_BEGIN;
}

static enum fcgirec_kind
params(struct fcgirec *s, struct fcgirec_rec *rec)
{
	if (rec->type != FCGIREC_PARAMS)
		return bad(s, "a record other than FCGI_PARAMS before the "
		    "end of the parameters");
	if (rec->content_len == 0) {
		if (s->pair_state != PAIR_NAME_LEN)
			return bad(s, "parameters end inside a name-value "
			    "pair");
		s->phase = PHASE_STDIN;
		return FCGIREC_PARAMS_END;
	}
	s->params_len += rec->content_len;
	if (s->params_len > FCGIREC_MAX_PARAMS ||
	    feed_pairs(s, rec->content, rec->content_len) == -1)
		return bad(s, "parameters larger than 128 KiB");
	return FCGIREC_PARAMS_DATA;
}

/*
 * Looks at the record at the start of the n bytes at p. Returns
 * FCGIREC_NEED when they do not hold a whole record yet; otherwise fills
 * rec (rec->len bytes make up the record) and returns its kind, having
 * moved s on. FCGIREC_BAD leaves the reason in s->error; nothing more of
 * the connection should then be read or trusted.
 */
enum fcgirec_kind
fcgirec_next(struct fcgirec *s, const unsigned char *p, size_t n,
    struct fcgirec_rec *rec)
{
	unsigned	 id;

	memset(rec, 0, sizeof(*rec));
	if (s->phase == PHASE_DONE)
		return bad(s, s->error ? s->error : "a record after the end "
		    "of the request");
	if (n < FCGIREC_HEADER_LEN)
		return FCGIREC_NEED;
	if (p[0] != 1)
		return bad(s, "not FastCGI version 1");
	rec->type = p[1];
	id = (unsigned)p[2] << 8 | p[3];
	rec->content_len = (size_t)p[4] << 8 | p[5];
	rec->len = FCGIREC_HEADER_LEN + rec->content_len + p[6];
	if (n < rec->len)
		return FCGIREC_NEED;
	rec->content = p + FCGIREC_HEADER_LEN;
	if (id == 0)
		return rec->kind = management(s, rec);
	if (s->phase == PHASE_BEGIN)
		return rec->kind = begin(s, id, rec);
	if (id != s->request_id)
		return rec->kind = bad(s, "a record for another request");
	if (rec->type == FCGIREC_BEGIN_REQUEST)
		return rec->kind = bad(s, "a second FCGI_BEGIN_REQUEST");
	if (rec->type == FCGIREC_ABORT_REQUEST) {
		s->phase = PHASE_DONE;
		return rec->kind = FCGIREC_ABORT;
	}
	if (s->phase == PHASE_PARAMS)
		return rec->kind = params(s, rec);
	if (rec->type != FCGIREC_STDIN)
		return rec->kind = bad(s, "a record other than FCGI_STDIN "
		    "in the body");
	if (rec->content_len > 0)
		return rec->kind = FCGIREC_STDIN_DATA;
	s->phase = PHASE_DONE;
	return rec->kind = FCGIREC_STDIN_END;
}

/*
 * Writes a record header (FastCGI 1.0 section 3.3) at h: type, request
 * id, content length, no padding. Async-signal-safe (crash.c).
 */
void
fcgirec_header(unsigned char *h, int type, unsigned id, size_t len)
{
	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;
	h[7] = 0;
}

/*
 * Reads one length of a name-value pair (1 or 4 bytes) at *pp, moving *pp
 * past it. Returns -1 when it does not fit before end.
 */
long
fcgirec_pair_len(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	long		 v;

	if (p >= end)
		return -1;
	if (!(*p & 0x80)) {
		*pp = p + 1;
		return *p;
	}
	if (end - p < 4)
		return -1;
	v = (long)(p[0] & 0x7f) << 24 | (long)p[1] << 16 | (long)p[2] << 8 |
	    p[3];
	*pp = p + 4;
	return v;
}

/*
 * Builds the FCGI_GET_VALUES_RESULT record answering the pairs of a
 * checked FCGI_GET_VALUES record (content, n bytes) into out (cap bytes,
 * 80 are always enough): FCGI_MAX_CONNS and FCGI_MAX_REQS are 1 and
 * FCGI_MPXS_CONNS is 0, each answered once; other names are left out
 * (FastCGI 1.0, 4.1). Returns the record's length, or 0 if cap is short.
 */
size_t
fcgirec_values_result(const unsigned char *content, size_t n,
    unsigned char *out, size_t cap)
{
	static const struct {
		const char	*name;
		char		 value;
	} known[] = {
		{ "FCGI_MAX_CONNS", '1' },
		{ "FCGI_MAX_REQS", '1' },
		{ "FCGI_MPXS_CONNS", '0' },
	};
	const unsigned char *p = content, *end = content + n;
	unsigned char	 body[64];
	size_t		 len = 0, i, nl, pad;
	long		 kl, vl;
	int		 done[3] = { 0, 0, 0 };

	while ((kl = fcgirec_pair_len(&p, end)) != -1 &&
	    (vl = fcgirec_pair_len(&p, end)) != -1) {
		if (kl > end - p || vl > end - p - kl)
			break;
		for (i = 0; i < 3; i++) {
			nl = strlen(known[i].name);
			if (done[i] || (size_t)kl != nl ||
			    memcmp(p, known[i].name, nl) != 0)
				continue;
			body[len++] = (unsigned char)nl;
			body[len++] = 1;
			memcpy(body + len, known[i].name, nl);
			len += nl;
			body[len++] = (unsigned char)known[i].value;
			done[i] = 1;
		}
		p += kl + vl;
	}
	pad = (8 - len % 8) % 8;
	if (cap < FCGIREC_HEADER_LEN + len + pad)
		return 0;
	fcgirec_header(out, FCGIREC_GET_VALUES_RESULT, 0, len);
	out[6] = (unsigned char)pad;
	memcpy(out + FCGIREC_HEADER_LEN, body, len);
	memset(out + FCGIREC_HEADER_LEN + len, 0, pad);
	return FCGIREC_HEADER_LEN + len + pad;
}

/*
 * Builds the FCGI_UNKNOWN_TYPE record answering a management record of
 * type into out (cap >= 16). Returns its length, or 0 if cap is short.
 */
size_t
fcgirec_unknown_type(int type, unsigned char *out, size_t cap)
{
	if (cap < 16)
		return 0;
	fcgirec_header(out, FCGIREC_UNKNOWN_TYPE, 0, 8);
	memset(out + FCGIREC_HEADER_LEN, 0, 8);
	out[FCGIREC_HEADER_LEN] = (unsigned char)type;
	return 16;
}
