/*
 * cgi.c: classic CGI. Runs one executable or script per request, the way
 * RFC 3875 describes and fcgiwrap or slowcgi do, from the worker's serving
 * thread (pipeline.c calls cgi_run()):
 *
 * - in a directory (cgi = DIR, or an executable of a dir = handler) only a
 *   regular, executable file whose real path (symlinks resolved) is inside
 *   the directory's real path runs, and it is that resolved path that is
 *   executed; anything else is 404 or 403 and never runs;
 * - posix_spawn() (clone with CLONE_VFORK: no copy of a worker that holds
 *   large modules) with the request's environment only, the script's
 *   directory as working directory, every signal back to its default, an
 *   empty mask, no descriptor but 0, 1 and 2, and a process group of its
 *   own so that its children can be signalled with it;
 * - one poll() loop writes the body to its stdin while it reads stdout and
 *   stderr, a chunk at a time, so large bodies in both directions cannot
 *   deadlock and the deadlines are looked at between chunks;
 * - at the soft deadline the group gets SIGTERM, when the client goes away
 *   SIGHUP, and at the hard deadline (or deadline_grace after SIGHUP)
 *   SIGKILL. A script that got SIGTERM counts as answered only if it then
 *   exits with status 0; otherwise the request gets the default 500;
 * - when the request ends, whatever is left of the process group is
 *   killed before the script is reaped (its pid, and so the group id,
 *   stays reserved until then), so no grandchild outlives the request
 *   unless it made a session of its own; the exit is seen through a pidfd,
 *   so no zombie is left.
 *
 * The query string is never turned into command-line arguments (the
 * "indexed query" of RFC 3875 section 4.4): php-cgi's CVE-2012-1823 came
 * from that.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgi.h"
#include "conf.h"
#include "deadline.h"
#include "log.h"
#include "req.h"
#include "warmcgi.h"

#define CHUNK		65536	/* bytes read from a pipe at a time */
#define NO_PIDFD_TICK_MS 10	/* exit polling without a pidfd */

/* The state of one running script. */
struct run {
	struct req	*r;
	pid_t		 pid;		/* also its process group */
	int		 pidfd;
	int		 in;		/* its stdin (we write), or -1 */
	int		 out;		/* its stdout (we read), or -1 */
	int		 err;		/* its stderr (we read), or -1 */
	const char	*body;
	size_t		 body_left;
	int		 exited;	/* a zombie now (not reaped yet) */
	int		 status;	/* wait status, once reaped */
	int		 termed;	/* SIGTERM sent */
	int		 hupped;	/* SIGHUP sent */
	int		 unwanted;	/* the sink refused more output */
	long long	 start_ms;
	long long	 kill_at_ms;	/* SIGKILL then */
};

/*
 * Checks that file may be used: it exists and is a regular file (with an
 * execute bit when flags has CGI_CHECK_EXEC), and, when dir is not NULL,
 * its real path is inside dir's real path. When real is not NULL it gets
 * the resolved path (PATH_MAX bytes). Returns CGI_OK, CGI_NOT_FOUND or
 * CGI_FORBIDDEN.
 */
enum cgi_end
cgi_check(const char *file, const char *dir, int flags, char *real)
{
	char		 rfile[PATH_MAX], rdir[PATH_MAX];
	struct stat	 st;
	size_t		 n;

	if (realpath(file, rfile) == NULL)
		return errno == EACCES ? CGI_FORBIDDEN : CGI_NOT_FOUND;
	if (dir != NULL) {
		if (realpath(dir, rdir) == NULL)
			return CGI_NOT_FOUND;
		n = strlen(rdir);
		if (n == 1)
			n = 0;		/* dir is "/" */
		if (strncmp(rfile, rdir, n) != 0 || rfile[n] != '/')
			return CGI_FORBIDDEN;
	}
	if (stat(rfile, &st) == -1)
		return CGI_NOT_FOUND;
	if (S_ISDIR(st.st_mode))
		return CGI_NOT_FOUND;
	if (!S_ISREG(st.st_mode))
		return CGI_FORBIDDEN;
	if ((flags & CGI_CHECK_EXEC) && (st.st_mode & 0111) == 0)
		return CGI_FORBIDDEN;
	if (real != NULL)
		memcpy(real, rfile, strlen(rfile) + 1);
	return CGI_OK;
}

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Starts exe (argv[0] = name) in the directory of name, its stdio on
 * pipes. Returns 0, or -1 (logged).
 */
static int
spawn(struct run *run, const char *exe, const char *name)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct req	*r = run->r;
	sigset_t	 none, all;
	char		*argv[2], *dir, *slash;
	int		 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int		 err[2] = { -1, -1 }, rc = -1;

	if ((dir = arena_strdup(r->arena, name)) == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		dir = ".";
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1) {
		log_req(r, LOG_LEVEL_ERROR, "%s: pipe: %s", name,
		    strerror(errno));
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	argv[0] = (char *)name;
	argv[1] = NULL;
	rc = posix_spawn(&run->pid, exe, &fa, &attr, argv, r->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		log_req(r, LOG_LEVEL_ERROR, "%s: cannot run: %s", name,
		    strerror(rc));
		rc = -1;
		goto done;
	}
	run->pidfd = (int)syscall(SYS_pidfd_open, run->pid, 0);
	run->in = in[1], in[1] = -1;
	run->out = out[0], out[0] = -1;
	run->err = err[0], err[0] = -1;
	fcntl(run->in, F_SETFL, O_NONBLOCK);
	fcntl(run->out, F_SETFL, O_NONBLOCK);
	fcntl(run->err, F_SETFL, O_NONBLOCK);
	rc = 0;
done:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	return rc;
}

/* Writes as much of the body as the pipe takes. */
static void
feed(struct run *run)
{
	ssize_t	 n;

	while (run->body_left > 0) {
		n = write(run->in, run->body, run->body_left);
		if (n > 0) {
			run->body += n;
			run->body_left -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		break;		/* EPIPE: the script does not read it all */
	}
	close_fd(&run->in);
}

/*
 * Reads one chunk from *fd: stdout goes to sink, stderr lines to the log
 * of the request (err holds a partial line). Closes *fd at end-of-file.
 */
static void
drain(struct run *run, int *fd, const struct cgi_sink *sink,
    struct buf *err)
{
	char	 chunk[CHUNK];
	ssize_t	 n;

	do
		n = read(*fd, chunk, sizeof(chunk));
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		close_fd(fd);
		return;
	}
	if (sink == NULL)
		log_stderr_feed(run->r, err, chunk, (size_t)n);
	else if (!run->unwanted &&
	    sink->write(sink->ctx, chunk, (size_t)n) == -1)
		run->unwanted = 1;
}

/* Notes whether the script has exited, without reaping it. */
static void
check_exit(struct run *run)
{
	siginfo_t	 si;

	if (run->exited)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)run->pid, &si, WEXITED | WNOHANG |
	    WNOWAIT) == 0 && si.si_pid == run->pid)
		run->exited = 1;
}

/* Sends sig to the script's process group; logs why. */
static void
signal_group(struct run *run, int sig, const char *why)
{
	if (kill(-run->pid, sig) == -1 && errno != ESRCH)
		log_req(run->r, LOG_LEVEL_ERROR, "kill %d: %s", (int)run->pid,
		    strerror(errno));
	if (why != NULL)
		log_req(run->r, LOG_LEVEL_WARNING, "script %d %s after %lld "
		    "ms; sent SIG%s to its process group", (int)run->pid, why,
		    deadline_now_ms() - run->start_ms, sigabbrev_np(sig));
}

/* Acts on the watchdog's news: deadline passed, or client gone. */
static void
on_done(struct run *run)
{
	const struct limits *lim = &run->r->route.h->limits;

	if (deadline_err() == WC_CANCELED && !run->hupped) {
		signal_group(run, SIGHUP, NULL);
		run->hupped = 1;
		if (deadline_now_ms() + lim->deadline_grace_ms <
		    run->kill_at_ms)
			run->kill_at_ms = deadline_now_ms() +
			    lim->deadline_grace_ms;
	} else if (deadline_err() == WC_DEADLINE_EXCEEDED && !run->termed) {
		signal_group(run, SIGTERM, "passed its soft deadline");
		run->termed = 1;
	}
}

/*
 * The sink takes no more output (the client is gone): the script is told
 * as if the client had gone away, its stdout is closed (its next write
 * fails), and it gets deadline_grace to end.
 */
static void
give_up(struct run *run)
{
	long long	 at;

	close_fd(&run->out);
	signal_group(run, SIGHUP, NULL);
	run->hupped = 1;
	at = deadline_now_ms() + run->r->route.h->limits.deadline_grace_ms;
	if (at < run->kill_at_ms)
		run->kill_at_ms = at;
}

/* One round of the loop: waits for the pipes, the exit or the clock. */
static void
step(struct run *run, const struct cgi_sink *sink, struct buf *err,
    int *done_seen)
{
	struct pollfd	 p[5];
	long long	 now = deadline_now_ms(), until;
	int		 n = 0, i_in = -1, i_out = -1, i_err = -1, i_done = -1;

	if (run->in != -1)
		p[i_in = n++] = (struct pollfd){ run->in, POLLOUT, 0 };
	if (run->out != -1)
		p[i_out = n++] = (struct pollfd){ run->out, POLLIN, 0 };
	if (run->err != -1)
		p[i_err = n++] = (struct pollfd){ run->err, POLLIN, 0 };
	if (run->pidfd != -1 && !run->exited)
		p[n++] = (struct pollfd){ run->pidfd, POLLIN, 0 };
	if (!*done_seen)
		p[i_done = n++] = (struct pollfd){ deadline_done_fd(), POLLIN,
		    0 };
	until = run->kill_at_ms;
	if (!run->termed && run->r->soft_deadline_ms < until)
		until = run->r->soft_deadline_ms;
	if (run->pidfd == -1 && !run->exited && now + NO_PIDFD_TICK_MS < until)
		until = now + NO_PIDFD_TICK_MS;
	if (poll(p, (nfds_t)n, (int)(until - now + 1)) == -1) {
		if (errno != EINTR)
			log_req(run->r, LOG_LEVEL_ERROR, "poll: %s",
			    strerror(errno));
		return;
	}
	if (i_in != -1 && p[i_in].revents)
		feed(run);
	if (i_out != -1 && p[i_out].revents)
		drain(run, &run->out, sink, NULL);
	if (i_err != -1 && p[i_err].revents)
		drain(run, &run->err, NULL, err);
	check_exit(run);
	if ((i_done != -1 && p[i_done].revents) ||
	    deadline_now_ms() >= run->r->soft_deadline_ms) {
		*done_seen = deadline_err() != WC_OK;
		on_done(run);
	}
}

/* Ends the run: kills what is left of the group, reaps the script. */
static void
finish(struct run *run)
{
	signal_group(run, SIGKILL, NULL);
	while (waitpid(run->pid, &run->status, 0) == -1 && errno == EINTR)
		;
	close_fd(&run->in);
	close_fd(&run->out);
	close_fd(&run->err);
	close_fd(&run->pidfd);
}

/* Decides how a run that was not killed by us ended. */
static enum cgi_end
outcome(struct run *run)
{
	if (run->hupped)
		return CGI_CANCELED;
	if (run->termed && !(WIFEXITED(run->status) &&
	    WEXITSTATUS(run->status) == 0)) {
		log_req(run->r, LOG_LEVEL_ERROR, "script %d ended after "
		    "SIGTERM at its soft deadline (%s %d); answering 500",
		    (int)run->pid, WIFSIGNALED(run->status) ? "signal" :
		    "status", WIFSIGNALED(run->status) ?
		    WTERMSIG(run->status) : WEXITSTATUS(run->status));
		return CGI_DEADLINE;
	}
	return CGI_OK;
}

/*
 * Runs file for request r. With dir set, file must pass cgi_check() under
 * dir and its resolved path is what runs; with dir NULL (cgi = FILE) file
 * runs as configured. The body goes to its stdin, its stdout to sink and
 * its stderr lines to the log (err holds a partial line). Returns CGI_OK
 * when its output was read to the end; CGI_NOT_FOUND or CGI_FORBIDDEN when
 * it may not run; CGI_DEADLINE when it was stopped at a deadline;
 * CGI_CANCELED when the client went away or the sink refused more output;
 * CGI_ERROR when it could not be started.
 */
enum cgi_end
cgi_run(struct req *r, const char *file, const char *dir,
    const struct cgi_sink *sink, struct buf *err)
{
	struct run	 run;
	enum cgi_end	 end;
	char		 real[PATH_MAX];
	int		 done_seen = 0;

	if ((end = cgi_check(file, dir, CGI_CHECK_EXEC, real)) != CGI_OK)
		return end;
	memset(&run, 0, sizeof(run));
	run.r = r;
	run.pidfd = run.in = run.out = run.err = -1;
	run.body = r->body;
	run.body_left = r->body_len;
	run.start_ms = deadline_now_ms();
	run.kill_at_ms = r->hard_deadline_ms;
	if (spawn(&run, dir != NULL ? real : file, file) == -1)
		return CGI_ERROR;
	if (run.body_left == 0)
		close_fd(&run.in);
	end = CGI_OK;
	while (run.out != -1 || run.err != -1 || !run.exited) {
		if (run.unwanted && !run.hupped)
			give_up(&run);
		if (deadline_now_ms() >= run.kill_at_ms) {
			signal_group(&run, SIGKILL, run.hupped ? NULL :
			    "was still running at its hard deadline");
			end = run.hupped ? CGI_CANCELED : CGI_DEADLINE;
			break;
		}
		step(&run, sink, err, &done_seen);
	}
	finish(&run);
	log_stderr_flush(r, err);
	if (end == CGI_OK)
		end = outcome(&run);
	return end;
}
