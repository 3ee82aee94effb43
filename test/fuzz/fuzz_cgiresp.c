/*
 * fuzz_cgiresp.c: the CGI response parser, on whatever a handler might
 * print. The first two bytes give max_response_header_size. Invariants:
 * on success the header and the body split the input exactly, every
 * field and the body point inside it, names are non-empty and free of
 * CR, LF, NUL and colons, values free of CR, LF and NUL (no header
 * injection), and the status, if any, is a three-digit code.
 */
#include "cgiresp.h"
#include "fuzz.h"

static int
inside(const char *p, size_t n, const char *base, size_t size)
{
	return p >= base && p + n <= base + size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct cgiresp	 cr;
	const char	*in;
	size_t		 max, i;
	enum cgiresp_err err;

	if (size < 2)
		return 0;
	if (a == NULL && (a = arena_new(4096)) == NULL)
		abort();
	max = (size_t)data[0] << 8 | data[1];
	in = (const char *)data + 2;
	size -= 2;
	err = cgiresp_parse(a, in, size, max, &cr);
	if (err == CGIRESP_OK) {
		FUZZ_ASSERT(cr.header_len <= max);
		FUZZ_ASSERT(cr.header_len + cr.body_len == size);
		FUZZ_ASSERT(cr.body_len == 0 ||
		    inside(cr.body, cr.body_len, in, size));
		FUZZ_ASSERT(cr.status == 0 ||
		    (cr.status >= 100 && cr.status <= 999));
		for (i = 0; i < cr.nfields; i++) {
			const struct cgiresp_field *f = &cr.fields[i];

			FUZZ_ASSERT(f->name_len > 0);
			FUZZ_ASSERT(memchr(f->name, ':', f->name_len) == NULL);
			FUZZ_ASSERT(strcspn(f->name, "\r\n") >= f->name_len);
			FUZZ_ASSERT(memchr(f->value, '\r', f->value_len) ==
			    NULL);
			FUZZ_ASSERT(memchr(f->value, '\n', f->value_len) ==
			    NULL);
			FUZZ_ASSERT(memchr(f->value, '\0', f->value_len) ==
			    NULL);
		}
		FUZZ_ASSERT(cr.reason == NULL ||
		    (memchr(cr.reason, '\r', cr.reason_len) == NULL &&
		    memchr(cr.reason, '\n', cr.reason_len) == NULL));
		(void)cgiresp_is_local_redirect(&cr);
	}
	FUZZ_ASSERT(cgiresp_reason(cr.status) != NULL);
	arena_reset(a);
	return 0;
}
