/*
 * crash.c: crash containment. A handler that crashes takes its worker down
 * with it (its memory cannot be trusted any more), but not its request:
 * the signal handler, running on an alternate stack so that a stack
 * overflow is caught too, answers the client 500 on the request's own
 * connection, writes an application record naming the signal, the request
 * and a backtrace, and the access record; then the signal is raised again
 * with its default action, so the master sees a death by signal (for
 * crash-storm accounting) and starts a new worker.
 *
 * Everything on that path is async-signal-safe: no malloc, no stdio. The
 * default 500 page is built once by crash_init(); records are formatted
 * with log.c's sb_* helpers; frames are named with dladdr().
 *
 * The watchdog (deadline.c) uses the same path for the hard deadline.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "crash.h"
#include "io.h"
#include "deadline.h"
#include "fcgirec.h"
#include "req.h"
#include "transport.h"

#define ALTSTACK_SIZE	(64 << 10)
#define PAGE_MAX	2048	/* bytes of the default 500 response */

static const int crash_signals[] = {
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP
};

static char	 page500[PAGE_MAX];	/* header block and body */
static int	 exit_status = -1;	/* -1: re-raise, as a worker does */
static size_t	 page500_len;
static size_t	 page500_head;		/* bytes before the body */
static char	 record[16384];

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	case SIGSYS: return "SIGSYS";
	case SIGTRAP: return "SIGTRAP";
	}
	return "signal";
}

/* Appends a FastCGI record header (FastCGI 1.0 section 3.3). */
static void
fcgi_header(struct sb *sb, int type, int id, size_t len)
{
	unsigned char	 h[FCGIREC_HEADER_LEN];

	fcgirec_header(h, type, (unsigned)id, len);
	sb_mem(sb, h, sizeof(h));
}

static char	 out500[PAGE_MAX + 64];	/* the answer, built in advance */

/*
 * Builds the default 500 for r's transport in out500 and marks r as
 * answered with it (for the access record). Returns its length, or 0 when
 * nothing can be sent (the head went out already, no descriptor).
 */
static size_t
build_500(struct req *r)
{
	static const unsigned char end[8] = { 0 };
	struct transport *t = r->t;
	struct sb	 sb;
	const char	*page = page500;
	size_t		 n = page500_len;

	if (r == NULL || t == NULL || t->head_sent || t->emergency_fd < 0)
		return 0;
	t->head_sent = 1;
	if (r->is_head)
		n = page500_head;
	sb_init(&sb, out500, sizeof(out500));
	if (t->style == TRANSPORT_HTTP) {
		sb_str(&sb, "HTTP/1.1 500 Internal Server Error\r\n");
		page += strlen("Status: 500 Internal Server Error\r\n");
		n -= strlen("Status: 500 Internal Server Error\r\n");
	}
	if (t->fcgi_request_id > 0) {
		fcgi_header(&sb, FCGIREC_STDOUT, t->fcgi_request_id, n);
		sb_mem(&sb, page, n);
		fcgi_header(&sb, FCGIREC_STDOUT, t->fcgi_request_id, 0);
		fcgi_header(&sb, FCGIREC_END_REQUEST, t->fcgi_request_id, 8);
		sb_mem(&sb, end, 8);
	} else {
		sb_mem(&sb, page, n);
	}
	r->status = 500;
	r->bytes = (long long)(n - page500_head);
	return sb.len;
}

/* Sends what build_500() built. */
static void
send_500(struct req *r, size_t len)
{
	if (len > 0)
		io_write_all(r->t->emergency_fd, out500, len);
}

/* Logs the record of a crash or hard deadline, then the access record. */
static void
log_failure(struct req *r, const char *msg, int sig, void *const *bt,
    int nbt)
{
	struct sb	 sb;
	long long	 now = log_now_us();

	sb_init(&sb, record, sizeof(record) - 2);
	log_record_begin(&sb, now, LOG_LEVEL_CRITICAL, r ? r->id : NULL,
	    r && r->route.h ? r->route.h->name : NULL);
	sb_str(&sb, ",\"message\":");
	sb_jstr(&sb, msg);
	if (sig != 0) {
		sb_str(&sb, ",\"signal\":");
		sb_jstr(&sb, signal_name(sig));
	}
	if (r != NULL) {
		sb_str(&sb, ",\"elapsed_ms\":");
		sb_ms(&sb, now - r->start_us);
	}
	if (nbt > 0) {
		sb_str(&sb, ",\"backtrace\":");
		crash_format_backtrace(&sb, bt, nbt, 0);
	}
	sb.cap += 2;
	if (sb.len > sb.cap - 2)
		sb.len = sb.cap - 2;
	sb_mem(&sb, "}\n", 2);
	log_write_app(sb.p, sb.len);
	if (r != NULL)
		log_access_now(r);
	else
		log_flush(0);
}

static void
on_crash(int sig, siginfo_t *si, void *uctx)
{
	void		*bt[DEADLINE_BT_MAX];
	struct req	*r;
	int		 nbt, in_handler = deadline_in_handler();
	size_t		 len;

	(void)si;
	(void)uctx;
	if (!deadline_doom())
		for (;;)
			pause();	/* the watchdog is already answering */
	nbt = backtrace(bt, DEADLINE_BT_MAX);
	r = deadline_req();
	/*
	 * The records first: once the 500 is out, a server running us as CGI
	 * may kill the process (lighttpd does), and they would be lost.
	 */
	len = build_500(r);
	if (exit_status >= 0)
		log_failure(r, in_handler ? "handler crashed" :
		    "warmcgi crashed", sig, bt, nbt);
	else
		log_failure(r, in_handler ? "handler crashed; worker replaced" :
		    "worker crashed", sig, bt, nbt);
	send_500(r, len);
	/* Not _exit(): module.c interposes it, and would jump into main(). */
	if (exit_status >= 0 && r != NULL)
		_Exit(exit_status);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Answers 500 for the request whose module is still running at its hard
 * deadline, logs it and ends the worker. Called by the watchdog after
 * deadline_doom().
 */
void
crash_hard_deadline(void)
{
	struct req	*r = deadline_req();
	size_t		 len = build_500(r);

	/* The records first, as in on_crash(). */
	log_failure(r, exit_status >= 0 ? "request still running at its hard "
	    "deadline; stopped" : "request still running at its hard deadline; "
	    "worker replaced", 0, NULL, 0);
	send_500(r, len);
	_Exit(exit_status >= 0 ? exit_status : CRASH_EXIT_HARD_DEADLINE);
}

/*
 * For a process that serves a single request (--request, CGI mode): after
 * answering for a crash or the hard deadline, exit with status instead of
 * dying of the signal (or exiting CRASH_EXIT_HARD_DEADLINE) for a master
 * to see; no core file is left in a cgi-bin either.
 */
void
crash_set_exit(int status)
{
	exit_status = status;
}

/*
 * Makes backtrace() usable in a signal handler: glibc loads libgcc_s
 * with dlopen at the first call, which a signal handler must not do. The
 * master calls it before forking, so that workers inherit the library
 * loaded but never touch its pages unless they crash (an idle worker
 * stays smaller); a later call in the same process, or in a child, does
 * nothing.
 */
void
crash_preload(void)
{
	static int	 done;
	void		*frames[2];

	if (done)
		return;
	backtrace(frames, 2);
	done = 1;
}

/*
 * Appends frames as a JSON array of strings such as
 * "hello.so(crash_here+0x12) [0x7f...]". Skips the first skip frames (the
 * signal handler's own). Async-signal-safe in practice: dladdr() only
 * reads the loader's tables.
 */
void
crash_format_backtrace(struct sb *sb, void *const *frames, int n, int skip)
{
	const char	*file;
	Dl_info		 info;
	int		 i;

	sb_str(sb, "[");
	for (i = skip; i < n; i++) {
		if (i > skip)
			sb_str(sb, ",");
		sb_str(sb, "\"");
		if (dladdr(frames[i], &info) != 0 && info.dli_fname != NULL) {
			file = strrchr(info.dli_fname, '/');
			file = file ? file + 1 : info.dli_fname;
			sb_json(sb, file, strlen(file));
			sb_str(sb, "(");
			if (info.dli_sname != NULL) {
				sb_json(sb, info.dli_sname,
				    strlen(info.dli_sname));
				sb_str(sb, "+");
				sb_hex(sb, (unsigned long long)((char *)
				    frames[i] - (char *)info.dli_saddr));
			} else {
				sb_str(sb, "+");
				sb_hex(sb, (unsigned long long)((char *)
				    frames[i] - (char *)info.dli_fbase));
			}
			sb_str(sb, ") ");
		}
		sb_str(sb, "[");
		sb_hex(sb, (unsigned long long)frames[i]);
		sb_str(sb, "]\"");
	}
	sb_str(sb, "]");
}

/*
 * Gives the calling thread an alternate signal stack, so that a stack
 * overflow can still be reported. Returns 0 or -1.
 */
int
crash_altstack(void)
{
	/* Only the kernel points at a stack in use: keep it reachable, so
	 * that leak checkers (valgrind) do not report it as lost. */
	static void *volatile stacks[8];
	static _Atomic unsigned nstacks;
	stack_t		 ss;
	unsigned	 i;

	if ((ss.ss_sp = malloc(ALTSTACK_SIZE)) == NULL)
		return -1;
	if ((i = nstacks++) < sizeof(stacks) / sizeof(stacks[0]))
		stacks[i] = ss.ss_sp;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	return sigaltstack(&ss, NULL);
}

/*
 * Installs the crash handlers for this process and the calling thread's
 * alternate stack. extra_head (len bytes, CRLF-terminated lines such as
 * Strict-Transport-Security) goes into the default 500. Returns 0 or -1.
 */
int
crash_init(const char *extra_head, size_t len)
{
	static const char body[] = "<!DOCTYPE html>\n<html><head><title>500 "
	    "Internal Server Error</title></head><body><h1>Internal Server "
	    "Error</h1><p>The server could not complete your request.</p>"
	    "</body></html>\n";
	struct sigaction sa;
	struct sb	 sb;
	size_t		 i;

	sb_init(&sb, page500, sizeof(page500));
	sb_str(&sb, "Status: 500 Internal Server Error\r\n"
	    "Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
	sb_num(&sb, (long long)sizeof(body) - 1);
	sb_str(&sb, "\r\n");
	sb_mem(&sb, extra_head, len);
	sb_str(&sb, "\r\n");
	page500_head = sb.len;
	sb_str(&sb, body);
	page500_len = sb.len;
	if (crash_altstack() == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		if (sigaction(crash_signals[i], &sa, NULL) == -1)
			return -1;
	return 0;
}
