/*
 * cgi.c: classic CGI. Runs one executable or script per request, the way
 * RFC 3875 describes and fcgiwrap or slowcgi do, from the worker's serving
 * thread:
 *
 * - only a regular, executable file whose real path (symlinks resolved)
 *   is inside the handler's directory runs; anything else is 404 or 403;
 * - posix_spawn() (clone with CLONE_VFORK: no copy of a worker that holds
 *   large modules) with the request's environment only, the script's
 *   directory as working directory, every signal back to its default, an
 *   empty mask, no descriptor but 0, 1 and 2, and a process group of its
 *   own so that its children can be signalled with it;
 * - one poll() loop writes the body to its stdin while it reads stdout and
 *   stderr, so large bodies in both directions cannot deadlock;
 * - at the soft deadline the group gets SIGTERM, when the client goes away
 *   SIGHUP, and at the hard deadline (or deadline_grace after SIGHUP)
 *   SIGKILL; the child is reaped through a pidfd, so no zombie is left.
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

/* The state of one running script. */
struct run {
	pid_t		 pid;
	int		 pidfd;
	int		 in;		/* its stdin (we write), or -1 */
	int		 out;		/* its stdout (we read), or -1 */
	int		 err;		/* its stderr (we read), or -1 */
	const char	*body;
	size_t		 body_left;
	int		 exited;
	int		 termed;	/* SIGTERM sent */
	int		 hupped;	/* SIGHUP sent */
	long long	 kill_at_ms;	/* SIGKILL then */
};

/*
 * Checks that file may run as CGI under dir: it exists, is a regular file
 * with an execute bit, and its real path is inside dir's real path.
 * Returns CGI_OK, CGI_NOT_FOUND or CGI_FORBIDDEN.
 */
enum cgi_end
cgi_check(const char *file, const char *dir)
{
	char		 rfile[PATH_MAX], rdir[PATH_MAX];
	struct stat	 st;
	size_t		 n;

	if (realpath(dir, rdir) == NULL)
		return CGI_NOT_FOUND;
	if (realpath(file, rfile) == NULL)
		return errno == EACCES ? CGI_FORBIDDEN : CGI_NOT_FOUND;
	n = strlen(rdir);
	if (strncmp(rfile, rdir, n) != 0 || rfile[n] != '/')
		return CGI_FORBIDDEN;
	if (stat(rfile, &st) == -1)
		return CGI_NOT_FOUND;
	if (S_ISDIR(st.st_mode))
		return CGI_NOT_FOUND;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
		return CGI_FORBIDDEN;
	return CGI_OK;
}

static int
spawn(struct run *run, struct req *r, const char *file)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t	 none, all;
	char		*argv[2], *dir, *slash;
	int		 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int		 err[2] = { -1, -1 }, rc = -1;

	if ((dir = arena_strdup(r->arena, file)) == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1)
		goto done;
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
	argv[0] = (char *)file;
	argv[1] = NULL;
	rc = posix_spawn(&run->pid, file, &fa, &attr, argv, r->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		log_req(r, LOG_LEVEL_ERROR, "%s: cannot run: %s", file,
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
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (out[0] != -1)
		close(out[0]);
	if (out[1] != -1)
		close(out[1]);
	if (err[0] != -1)
		close(err[0]);
	if (err[1] != -1)
		close(err[1]);
	return rc;
}

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
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
 * Reads what is there on *fd (stdout to sink, or stderr lines to the log
 * of r); closes it at end-of-file.
 */
static void
drain(int *fd, const struct cgi_sink *sink, struct req *r, struct buf *err)
{
	char	 chunk[65536];
	ssize_t	 n;

	for (;;) {
		n = read(*fd, chunk, sizeof(chunk));
		if (n > 0) {
			if (sink != NULL)
				sink->write(sink->ctx, chunk, (size_t)n);
			else
				log_stderr_feed(r, err, chunk, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		close_fd(fd);
		return;
	}
}

static void
reap(struct run *run, int options)
{
	int	 status;

	if (run->exited)
		return;
	if (waitpid(run->pid, &status, options) == run->pid)
		run->exited = 1;
}

/* Acts on the watchdog's news: deadline passed, or client gone. */
static void
on_done(struct run *run, struct req *r)
{
	const struct limits *lim = &r->route.h->limits;

	if (deadline_err() == WC_CANCELED && !run->hupped) {
		kill(-run->pid, SIGHUP);
		run->hupped = 1;
		run->kill_at_ms = deadline_now_ms() + lim->deadline_grace_ms;
	} else if (deadline_err() == WC_DEADLINE_EXCEEDED && !run->termed) {
		kill(-run->pid, SIGTERM);
		run->termed = 1;
		log_req(r, LOG_LEVEL_WARNING, "script passed its soft deadline; "
		    "sent SIGTERM");
	}
}

/*
 * Runs file (already routed) for request r: the body goes to its stdin,
 * its stdout to sink and its stderr lines to the log (err holds a partial
 * line). Returns CGI_OK when its
 * output was read to the end; CGI_NOT_FOUND or CGI_FORBIDDEN when it may
 * not run; CGI_HARD_DEADLINE or CGI_CANCELED when it was killed; CGI_ERROR
 * when it could not be started.
 */
enum cgi_end
cgi_run(struct req *r, const char *file, const struct cgi_sink *sink,
    struct buf *err)
{
	struct run	 run;
	struct pollfd	 p[5];
	enum cgi_end	 end;
	long long	 now, until;
	int		 n, i_in, i_out, i_err, i_pid, i_done, done_seen = 0;

	if ((end = cgi_check(file, r->route.h->target)) != CGI_OK)
		return end;
	memset(&run, 0, sizeof(run));
	run.pidfd = run.in = run.out = run.err = -1;
	run.body = r->body;
	run.body_left = r->body_len;
	run.kill_at_ms = r->hard_deadline_ms;
	if (spawn(&run, r, file) == -1)
		return CGI_ERROR;
	if (run.body_left == 0)
		close_fd(&run.in);
	end = CGI_OK;
	while (run.out != -1 || run.err != -1 || !run.exited) {
		now = deadline_now_ms();
		if (now >= run.kill_at_ms) {
			kill(-run.pid, SIGKILL);
			end = run.hupped ? CGI_CANCELED : CGI_HARD_DEADLINE;
			break;
		}
		n = 0;
		i_in = i_out = i_err = i_pid = i_done = -1;
		if (run.in != -1)
			p[i_in = n++] = (struct pollfd){ run.in, POLLOUT, 0 };
		if (run.out != -1)
			p[i_out = n++] = (struct pollfd){ run.out, POLLIN, 0 };
		if (run.err != -1)
			p[i_err = n++] = (struct pollfd){ run.err, POLLIN, 0 };
		if (run.pidfd != -1 && !run.exited)
			p[i_pid = n++] = (struct pollfd){ run.pidfd, POLLIN,
			    0 };
		if (!done_seen)
			p[i_done = n++] = (struct pollfd){ deadline_done_fd(),
			    POLLIN, 0 };
		until = run.kill_at_ms;
		if (!run.termed && r->soft_deadline_ms < until)
			until = r->soft_deadline_ms;
		if (poll(p, (nfds_t)n, (int)(until - now + 1)) == -1 &&
		    errno != EINTR)
			break;
		if (i_in != -1 && p[i_in].revents)
			feed(&run);
		if (i_out != -1 && p[i_out].revents)
			drain(&run.out, sink, r, NULL);
		if (i_err != -1 && p[i_err].revents)
			drain(&run.err, NULL, r, err);
		if (i_pid != -1 && p[i_pid].revents)
			reap(&run, WNOHANG);
		if (run.pidfd == -1)
			reap(&run, WNOHANG);
		if ((i_done != -1 && p[i_done].revents) ||
		    deadline_now_ms() >= r->soft_deadline_ms) {
			done_seen = deadline_err() != WC_OK;
			on_done(&run, r);
		}
	}
	if (end != CGI_OK || run.hupped)
		kill(-run.pid, SIGKILL);
	reap(&run, 0);
	close_fd(&run.in);
	close_fd(&run.out);
	close_fd(&run.err);
	close_fd(&run.pidfd);
	log_stderr_flush(r, err);
	if (end == CGI_OK && run.hupped)
		end = CGI_CANCELED;
	return end;
}
