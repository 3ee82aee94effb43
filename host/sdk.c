/*
 * sdk.c: the wc_* calls a module makes, served by the host. These are the
 * only functions the warmcgi executable exports to modules (see
 * host/exports.list): everything else is hidden, so the host can never
 * capture a handler's own function of the same name. Runs in the worker's
 * serving thread, inside a module's main().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "deadline.h"
#include "log.h"
#include "req.h"
#include "sdk.h"
#include "warmcgi.h"

struct value {
	struct value	*next;
	const char	*key;
	const char	*value;		/* NULL: removed */
};

static struct req	*cur;		/* request being served */
static struct value	*values;	/* its values, in its arena */

/*
 * Makes r the request that wc_* calls refer to.
 */
void
sdk_begin(struct req *r)
{
	cur = r;
	values = NULL;
}

/*
 * Forgets the request and its values (their memory goes with its arena).
 */
void
sdk_end(void)
{
	cur = NULL;
	values = NULL;
}

WC_API long long
wc_deadline_ms(void)
{
	return deadline_soft_ms();
}

WC_API long long
wc_time_left_ms(void)
{
	return deadline_soft_ms() - deadline_now_ms();
}

WC_API int
wc_set_timeout_ms(long long ms)
{
	return deadline_set_timeout_ms(ms);
}

WC_API int
wc_done(void)
{
	return deadline_err() != WC_OK;
}

WC_API int
wc_err(void)
{
	return deadline_err();
}

WC_API int
wc_done_fd(void)
{
	return deadline_done_fd();
}

WC_API const char *
wc_value(const char *key)
{
	struct value	*v;

	if (key == NULL)
		return NULL;
	for (v = values; v != NULL; v = v->next)
		if (strcmp(v->key, key) == 0)
			return v->value;
	return NULL;
}

WC_API int
wc_set_value(const char *key, const char *value)
{
	struct value	*v;

	if (cur == NULL || key == NULL)
		return -1;
	if ((v = arena_alloc(cur->arena, sizeof(*v))) == NULL ||
	    (v->key = arena_strdup(cur->arena, key)) == NULL)
		return -1;
	v->value = NULL;
	if (value != NULL && (v->value = arena_strdup(cur->arena, value)) ==
	    NULL)
		return -1;
	v->next = values;
	values = v;
	return 0;
}

WC_API void
wc_log(int level, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[8192];
	int	 l, n;

	if (level >= WC_CRITICAL)
		l = LOG_LEVEL_CRITICAL;
	else if (level >= WC_ERROR)
		l = LOG_LEVEL_ERROR;
	else if (level >= WC_WARNING)
		l = LOG_LEVEL_WARNING;
	else if (level >= WC_INFO)
		l = LOG_LEVEL_INFO;
	else
		l = LOG_LEVEL_DEBUG;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	log_req_text(cur, l, msg, (size_t)n);
}
