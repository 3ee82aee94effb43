/*
 * module.c: handler modules. module_load() dlopens a .so (RTLD_NOW, so a
 * missing symbol is an error now, not a crash at the first request;
 * RTLD_LOCAL, so handlers cannot capture each other's symbols) and finds
 * its main(). module_call() runs main() as a CGI program would run:
 *
 * - environ is the request's environment;
 * - stdin reads the body, stdout and stderr are collected in memory. The C
 *   streams are fopencookie() FILEs installed once per process, so a C
 *   handler's printf costs no system call. File descriptors 0, 1 and 2 are
 *   in-memory files too (fd 0 holds the body), for handlers that write(1)
 *   directly: C++ iostreams bound to fd 1, Rust's std::io, system(). An
 *   inotify watch on fds 1 and 2 tells, in the same poll() as the
 *   descriptor probe below, whether anything reached them during a call;
 *   only then are they read. Before a cookie write during the call we fold
 *   what reached fd 1 into the buffer, so the two kinds of output keep
 *   their order. A library initialized before the
 *   capture (libstdc++ in a module preloaded by the master) keeps the
 *   process's first stdin and stdout FILEs: they are flushed and purged
 *   around every call, so nothing crosses from one request to the next;
 * - exit(), _exit() and _Exit() are interposed: called inside main() they
 *   end the request, not the worker (see shared/notes, "Interposing exit");
 * - pthread_create() is interposed to count the threads that are running,
 *   so that one a handler leaves behind is noticed without a system call.
 *
 * Runs in the worker's main thread; deadline.c tracks the call so that a
 * crash or the hard deadline answers for it.
 */
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "deadline.h"
#include "log.h"
#include "module.h"
#include "warmcgi.h"

typedef int (*main_fn)(int, char **, char **);

struct module {
	char		*path;
	void		*dl;
	main_fn		 main;
	int		 fd;		/* -1, or what a reload opened */
	dev_t		 dev;		/* identity when loaded, to notice */
	ino_t		 ino;		/* a replaced file */
	struct timespec	 mtime;
};

struct capture {
	struct buf	 out;		/* stdout of the current call */
	struct buf	 err;		/* a partial stderr line */
	struct req	*req;		/* whose stderr lines are logged */
	size_t		 max_out;	/* collect no more than this */
	int		 overflow;	/* stdout went past max_out */
	FILE		*out_fp;	/* cookie streams, installed as */
	FILE		*err_fp;	/* stdout, stderr and stdin */
	FILE		*in_fp;
	FILE		*first_in;	/* the process's own stdin and */
	FILE		*first_out;	/* stdout, on fds 0 and 1 */
	int		 out_closed;	/* the handler fclose()d one */
	int		 err_closed;
	int		 in_closed;
	int		 out_drained;	/* fd 1 folded in at the last flush */
	int		 fd1_clean;	/* nothing reached fd 1: no fold */
	int		 notify;	/* inotify on fds 1 and 2, or -1 */
	int		 shm;		/* they are files in SHM_DIR */
	int		 watch[3];	/* its watches on fds 1 and 2 */
	const char	*in_data;	/* the body, for the stdin cookie */
	size_t		 in_len;
	size_t		 in_pos;
	int		 fd0_body;	/* fd 0 holds the body (else empty) */
	int		 fd_dir;	/* /proc/self/fd: its size counts fds */
	long long	 fds_before;	/* open when main() was called */
	long long	 fds_after;	/* open when the last call returned */
	long long	 delta_seen;	/* fds_delta then */
	unsigned long	 fds_seen;	/* fds_moved then */
	int		 threads;	/* running after the last call */
	int		 called;	/* a call began since capture_new() */
	long long	 fds_held;	/* left open by handlers, this worker */
	int		 recycle;	/* fds_held > FDS_HELD_MAX */
	int		 unchecked;	/* calls since the last count */
};

#define OUT_KEEP	(4 << 20)	/* buffer kept between calls */
#define FDS_HELD_MAX	32	/* then the worker is replaced */
#define FDS_COUNT_EVERY	16	/* calls: counted then, probed between */
#define SHM_DIR		"/dev/shm"
#define SHM_FREE_MIN	(256LL << 20)	/* bytes free in SHM_DIR to use it */
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC	0x01021994
#endif

static __thread sigjmp_buf *exit_jb;	/* set while main() runs */
static sigset_t		 mask;		/* serving thread's signal mask */
static int		 mask_saved;
static __thread int exit_status;

extern char **environ;

static long long	 count_fds(int);

/*
 * Descriptors a handler leaves open. Counting them (the size of
 * /proc/self/fd) costs a worker more than any other system call of a kept
 * request, so it is done every FDS_COUNT_EVERY calls, and between counts
 * only when a probe finds one: the kernel gives out the lowest free
 * descriptor, so whatever a handler opens (open(), socket(), dup(), a
 * library's connection) and keeps takes fd_low, the lowest one free
 * before the call, and one poll() after the call tells (POLLNVAL: still
 * free), the same poll() that asks inotify about fds 1 and 2. What the
 * probe cannot see (a descriptor moved to a chosen number, two opened and
 * the first closed) the next count finds, a few calls later.
 *
 * The descriptors open before a call are those open after the last one
 * plus those the host opened and minus those it closed meanwhile
 * (capture_fd_opened(), capture_fd_closed(): connections), which keep
 * fd_low and fd_next current too: a connection accepted takes fd_low and
 * fd_next becomes the lowest, one closed below them becomes the lowest,
 * so accepting and closing one connection per request needs no probe
 * before the call. fds_moved is bumped when the host cannot say what
 * changed (a module loaded, logs reopened): the next call counts anew.
 */
static long long	 fds_delta;
static unsigned long	 fds_moved = 1;
static int		 fd_low = -1;	/* lowest free descriptor, or -1 */
static int		 fd_next = -1;	/* the next one free, or -1 */

static void
copy_err(char *err, size_t errlen, const char *what, const char *detail)
{
	snprintf(err, errlen, "%s: %s", what, detail ? detail : "unknown");
}

static struct module *
load(const char *path, int fresh, char *err, size_t errlen)
{
	struct module	*m;
	struct stat	 st;
	char		 name[64];
	const char	*open_as = path;
	int		 fd = -1;

	if (fresh) {
		/*
		 * The dynamic linker hands back an object already loaded
		 * under the same name, so open the new file under a name of
		 * its own: the descriptor stays open (and its number
		 * unique) as long as the module is loaded.
		 */
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(fd, &st) == -1) {
			copy_err(err, errlen, path, strerror(errno));
			if (fd != -1)
				close(fd);
			return NULL;
		}
		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		open_as = name;
	} else if (stat(path, &st) == -1) {
		copy_err(err, errlen, path, strerror(errno));
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->path = strdup(path)) == NULL) {
		free(m);
		if (fd != -1)
			close(fd);
		copy_err(err, errlen, path, "out of memory");
		return NULL;
	}
	capture_fds_moved();	/* fd, and whatever the module opens */
	m->fd = fd;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->mtime = st.st_mtim;
	if ((m->dl = dlopen(open_as, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "%s", dlerror());
		module_free(m);
		return NULL;
	}
	dlerror();
	if ((m->main = (main_fn)dlsym(m->dl, "main")) == NULL) {
		copy_err(err, errlen, path, "no main() exported (build with "
		    "cc -shared -fPIC and keep main visible)");
		module_free(m);
		return NULL;
	}
	return m;
}

/*
 * Loads the module at path and finds its main(). Returns the module, or
 * NULL with the reason in err (errlen bytes). Release with module_free().
 */
struct module *
module_load(const char *path, char *err, size_t errlen)
{
	return load(path, 0, err, errlen);
}

/*
 * Loads the file now at path although a module loaded from path is still
 * in this process (it was replaced on disk): the new file is mapped beside
 * the old one, which stays valid. Returns the module, or NULL with the
 * reason in err. Release with module_free().
 */
struct module *
module_reload(const char *path, char *err, size_t errlen)
{
	return load(path, 1, err, errlen);
}

/*
 * Unloads a module and releases it.
 */
void
module_free(struct module *m)
{
	if (m == NULL)
		return;
	capture_fds_moved();
	if (m->dl != NULL)
		dlclose(m->dl);
	if (m->fd != -1)
		close(m->fd);
	free(m->path);
	free(m);
}

/*
 * Returns the path the module was loaded from.
 */
const char *
module_path(const struct module *m)
{
	return m->path;
}

/*
 * Returns 1 if the file at the module's path is no longer the one that was
 * loaded (replaced by rename, or rewritten), 0 otherwise.
 */
int
module_changed(const struct module *m)
{
	struct stat	 st;

	if (stat(m->path, &st) == -1)
		return 1;
	return st.st_dev != m->dev || st.st_ino != m->ino ||
	    st.st_mtim.tv_sec != m->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != m->mtime.tv_nsec;
}

/*
 * Checks that path loads and exports main() without loading it into this
 * process: a child does the dlopen (constructors run there only). Returns
 * 0, or -1 with the reason in err.
 */
int
module_check(const char *path, char *err, size_t errlen)
{
	struct module	*m;
	int		 fds[2], status;
	pid_t		 pid;
	ssize_t		 n;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		copy_err(err, errlen, "pipe", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		copy_err(err, errlen, "fork", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		m = module_load(path, err, errlen);
		if (m == NULL && write(fds[1], err, strlen(err)) < 0)
			_exit(2);
		_exit(m == NULL);
	}
	close(fds[1]);
	n = read(fds[0], err, errlen - 1);
	close(fds[0]);
	err[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n <= 0)
		copy_err(err, errlen, path, WIFSIGNALED(status) ?
		    "crashed while loading" : "failed to load");
	return -1;
}

/* Moves descriptor f to fd (0, 1 or 2), without close-on-exec. */
static int
move_to(int f, int fd)
{
	if (f == -1)
		return -1;
	if (f != fd) {
		if (dup2(f, fd) == -1) {
			close(f);
			return -1;
		}
		close(f);
	}
	return 0;
}

/* Puts a new memfd at fd (0, 1 or 2), without close-on-exec. */
static int
memfd_at(int fd, const char *name)
{
	return move_to(memfd_create(name, 0), fd);
}

/* Opens an unnamed in-memory file for fd 1 or 2: a memfd or in SHM_DIR. */
static int
stdio_open(int shm, int fd)
{
	if (shm)
		return open(SHM_DIR, O_TMPFILE | O_RDWR, 0600);
	return memfd_create(fd == 1 ? "warmcgi-stdout" : "warmcgi-stderr", 0);
}

/* Stops trusting inotify: fds 1 and 2 are read after every call. */
static void
notify_off(struct capture *c)
{
	if (c->notify != -1)
		close(c->notify);
	c->notify = -1;
}

/*
 * Puts a new file at fd 1 or 2 and watches it. Returns 0, or -1 if no file
 * could be put there.
 */
static int
stdio_at(struct capture *c, int fd)
{
	char	 path[32];

	if (move_to(stdio_open(c->shm, fd), fd) == -1) {
		if (!c->shm || memfd_at(fd, "warmcgi-stdio") == -1)
			return -1;
		notify_off(c);		/* a memfd may not notify */
		return 0;
	}
	if (c->notify == -1)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((c->watch[fd] = inotify_add_watch(c->notify, path,
	    IN_MODIFY)) == -1)
		notify_off(c);
	return 0;
}

/*
 * Reads c->notify's queue to its end. Sets gone[1] and gone[2] when the
 * file watched at fd 1 or 2 was released (closed, or replaced with
 * dup2()). Returns -1 if events were lost.
 */
static int
notify_read(struct capture *c, int gone[3])
{
	char	 ev[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t	 n, off;
	int	 rc = 0;

	while ((n = read(c->notify, ev, sizeof(ev))) > 0)
		for (off = 0; off < n; off += (ssize_t)sizeof(*e) + e->len) {
			e = (const struct inotify_event *)(ev + off);
			if (e->mask & IN_Q_OVERFLOW)
				rc = -1;
			if ((e->mask & IN_IGNORED) && e->wd == c->watch[1])
				gone[1] = 1;
			if ((e->mask & IN_IGNORED) && e->wd == c->watch[2])
				gone[2] = 1;
		}
	return rc;
}

/*
 * Returns 1 if c->notify hears of a write to a file made as
 * stdio_open(shm) makes them. Some kernels do not report writes to memfds
 * (Linux 6.18). A file in SHM_DIR is used only on a tmpfs with
 * SHM_FREE_MIN free, so that what a handler writes to fd 1 does not run
 * out of room.
 */
static int
notify_works(struct capture *c, int shm)
{
	struct statfs	 fs;
	struct pollfd	 p;
	char		 path[32];
	int		 f, ok, gone[3] = { 0, 0, 0 };

	if (shm && (statfs(SHM_DIR, &fs) == -1 ||
	    fs.f_type != TMPFS_MAGIC ||
	    (long long)fs.f_bavail * fs.f_bsize < SHM_FREE_MIN))
		return 0;
	if ((f = stdio_open(shm, 1)) == -1)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	p.fd = c->notify;
	p.events = POLLIN;
	p.revents = 0;
	ok = inotify_add_watch(c->notify, path, IN_MODIFY) != -1 &&
	    write(f, "x", 1) == 1 && poll(&p, 1, 0) == 1;
	close(f);	/* releases the watch */
	notify_read(c, gone);
	return ok;
}

/*
 * Checks every `module =` handler of c with module_check(). Appends one
 * "FILE:LINE: problem" line per module that does not load to errors.
 * Returns 0, or -1 if any did not.
 */
int
module_check_conf(const struct conf *c, struct buf *errors)
{
	const struct handler *h;
	char		 err[1024];
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < c->nhandlers; i++) {
		h = &c->handlers[i];
		if (h->kind != HANDLER_MODULE)
			continue;
		if (module_check(h->target, err, sizeof(err)) == -1) {
			buf_printf(errors, "%s:%d: %s\n", c->file,
			    h->target_line, err);
			rc = -1;
		}
	}
	return rc;
}

/*
 * Cookie streams. They never fail from the handler's point of view: output
 * past the limit is dropped and counted as overflow.
 */
static void
append_out(struct capture *c, const char *p, size_t n)
{
	if (c->overflow || n > c->max_out - c->out.len) {
		c->overflow = 1;
		return;
	}
	if (buf_append(&c->out, p, n) == -1)
		c->overflow = 1;
}

/*
 * Moves what was written to fd (1 or 2) directly into the capture. A
 * descriptor the handler closed is replaced. Costs one lseek() when there
 * is nothing to move.
 */
static void
drain_fd(struct capture *c, int fd)
{
	char	 chunk[65536];
	off_t	 end, off = 0;
	ssize_t	 n;

	if ((end = lseek(fd, 0, SEEK_CUR)) <= 0) {
		if (end == -1 && errno == EBADF)
			stdio_at(c, fd);
		return;
	}
	while (off < end && (n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		if (fd == 1)
			append_out(c, chunk, (size_t)n);
		else
			log_stderr_feed(c->req, &c->err, chunk, (size_t)n);
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1 || ftruncate(fd, 0) == -1)
		stdio_at(c, fd);
}

/*
 * After fds 1 and 2 were drained: empties the inotify queue (the drains'
 * own truncations are in it) and puts a new file at whichever descriptor
 * lost the one watched there. If events were lost, both get new files.
 */
static void
notify_rearm(struct capture *c)
{
	int	 gone[3] = { 0, 0, 0 };

	if (c->notify == -1)
		return;
	if (notify_read(c, gone) == -1)
		gone[1] = gone[2] = 1;
	if (gone[1])
		stdio_at(c, 1);
	if (gone[2])
		stdio_at(c, 2);
}

/*
 * Asks, in one poll(), whether anything reached fds 1 and 2 since they
 * were last drained (c->notify readable) and whether fd_low, the lowest
 * descriptor free before the call, still is (POLLNVAL). Sets *low_free to
 * 1 (free), 0 (taken) or -1 (not probed). Returns 1 if nothing was
 * written to fds 1 and 2, 0 if they must be read (or no inotify).
 */
static int
streams_probe(struct capture *c, int *low_free)
{
	struct pollfd	 p[2];
	int		 probe;

	*low_free = -1;
	if (c->notify == -1)
		return 0;
	probe = c->fd_dir != -1 && c->fds_before > 0 && fd_low >= 0;
	p[0].fd = c->notify;
	p[0].events = POLLIN;
	p[1].fd = probe ? fd_low : -1;
	p[1].events = 0;
	p[0].revents = p[1].revents = 0;
	if (poll(p, 2, 0) == -1)
		return 0;
	if (probe)
		*low_free = (p[1].revents & POLLNVAL) != 0;
	return p[0].revents == 0;
}

static ssize_t
out_write(void *cookie, const char *p, size_t n)
{
	struct capture	*c = cookie;

	if (!c->fd1_clean) {
		fflush(c->first_out);
		drain_fd(c, 1);
	}
	c->out_drained = 1;
	append_out(c, p, n);
	return (ssize_t)n;
}

static ssize_t
err_write(void *cookie, const char *p, size_t n)
{
	struct capture	*c = cookie;

	drain_fd(c, 2);
	log_stderr_feed(c->req, &c->err, p, n);
	return (ssize_t)n;
}

static ssize_t
in_read(void *cookie, char *p, size_t n)
{
	struct capture	*c = cookie;

	if (n > c->in_len - c->in_pos)
		n = c->in_len - c->in_pos;
	memcpy(p, c->in_data + c->in_pos, n);
	c->in_pos += n;
	return (ssize_t)n;
}

static int
out_close(void *cookie)
{
	((struct capture *)cookie)->out_closed = 1;
	return 0;
}

static int
err_close(void *cookie)
{
	((struct capture *)cookie)->err_closed = 1;
	return 0;
}

static int
in_close(void *cookie)
{
	((struct capture *)cookie)->in_closed = 1;
	return 0;
}

/* (Re)creates whichever cookie stream is missing or was closed. */
static int
install_streams(struct capture *c)
{
	cookie_io_functions_t out = { NULL, out_write, NULL, out_close };
	cookie_io_functions_t err = { NULL, err_write, NULL, err_close };
	cookie_io_functions_t in = { in_read, NULL, NULL, in_close };

	if (c->out_fp == NULL || c->out_closed) {
		if ((c->out_fp = fopencookie(c, "w", out)) == NULL)
			return -1;
		c->out_closed = 0;
	}
	if (c->err_fp == NULL || c->err_closed) {
		if ((c->err_fp = fopencookie(c, "w", err)) == NULL)
			return -1;
		setvbuf(c->err_fp, NULL, _IONBF, 0);
		c->err_closed = 0;
	}
	if (c->in_fp == NULL || c->in_closed) {
		if ((c->in_fp = fopencookie(c, "r", in)) == NULL)
			return -1;
		c->in_closed = 0;
	}
	stdout = c->out_fp;
	stderr = c->err_fp;
	stdin = c->in_fp;
	return 0;
}

/*
 * Sets up the process for capturing handler stdio: memfds on descriptors
 * 0, 1 and 2 and cookie streams for stdin, stdout and stderr. Whatever
 * these descriptors were is replaced, so call it after log_open(). Returns
 * the capture, or NULL with errno set.
 */
struct capture *
capture_new(void)
{
	struct capture	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	buf_init(&c->out);
	buf_init(&c->err);
	c->fd_dir = -1;
	c->watch[1] = c->watch[2] = -1;
	c->first_in = stdin;
	c->first_out = stdout;
	/* Fds 0 to 2 taken first: inotify's descriptor is not one of them. */
	if (memfd_at(0, "warmcgi-stdin") == -1 ||
	    memfd_at(1, "warmcgi-stdout") == -1 ||
	    memfd_at(2, "warmcgi-stderr") == -1) {
		free(c);
		return NULL;
	}
	c->notify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->notify != -1 && !notify_works(c, 0)) {
		if (notify_works(c, 1))
			c->shm = 1;
		else
			notify_off(c);
	}
	if ((c->notify != -1 && (stdio_at(c, 1) == -1 ||
	    stdio_at(c, 2) == -1)) || install_streams(c) == -1) {
		notify_off(c);
		free(c);
		return NULL;
	}
	/* Without /proc (or before Linux 6.2) the leak checks are off. */
	c->fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (count_fds(c->fd_dir) <= 0) {
		close(c->fd_dir);
		c->fd_dir = -1;
	}
	return c;
}

/*
 * Counts this process's open descriptors (the size of /proc/self/fd, since
 * Linux 6.2): one fstat(), no directory read. Returns -1 when unknown.
 */
static long long
count_fds(int dir)
{
	struct stat	 st;

	if (dir == -1 || fstat(dir, &st) == -1)
		return -1;
	return (long long)st.st_size;
}

/*
 * Tells the capture that the host opened descriptor fd between calls (a
 * connection accepted or received: the lowest free one).
 */
void
capture_fd_opened(int fd)
{
	fds_delta++;
	fd_low = fd == fd_low ? fd_next : -1;	/* else: find them again */
	fd_next = -1;
}

/* Tells the capture that the host closed descriptor fd between calls. */
void
capture_fd_closed(int fd)
{
	fds_delta--;
	if (fd_low < 0)
		return;
	if (fd < fd_low) {
		fd_next = fd_low;
		fd_low = fd;
	} else if (fd_next >= 0 && fd < fd_next)
		fd_next = fd;
}

/*
 * Finds fd_low and fd_next before a call, as two dups would: four system
 * calls, after a module load, a log reopen or a probe that found fd_low
 * taken. Leaves them -1 if unknown.
 */
static void
find_low(const struct capture *c)
{
	int	 lo, next;

	fd_low = fd_next = -1;
	if ((lo = fcntl(c->fd_dir, F_DUPFD_CLOEXEC, 0)) == -1)
		return;
	next = fcntl(c->fd_dir, F_DUPFD_CLOEXEC, lo + 1);
	close(lo);
	if (next >= 0)
		close(next);
	fd_low = lo;
	fd_next = next;
}

/*
 * Tells the capture that the host opened or closed descriptors between
 * calls without counting them (a module, a log): the next call counts
 * them anew.
 */
void
capture_fds_moved(void)
{
	fds_moved++;
	fd_low = fd_next = -1;
}

/*
 * Threads started with pthread_create() (interposed below: modules and the
 * libraries they load resolve it to the executable's) that have not ended.
 * A thread created some other way (clone(), glibc's own helpers) is not
 * counted.
 */
static atomic_int	 threads_running;

struct thread_start {
	void	*(*fn)(void *);
	void	*arg;
};

/* Runs when the thread returns, calls pthread_exit() or is canceled. */
static void
thread_ended(void *unused)
{
	(void)unused;
	atomic_fetch_sub(&threads_running, 1);
}

static void *
thread_main(void *p)
{
	struct thread_start	 ts = *(struct thread_start *)p;
	void			*ret;

	free(p);
	pthread_cleanup_push(thread_ended, NULL);
	ret = ts.fn(ts.arg);
	pthread_cleanup_pop(1);
	return ret;
}

WC_API int
pthread_create(pthread_t *t, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	static int	(*real)(pthread_t *, const pthread_attr_t *,
			    void *(*)(void *), void *);
	struct thread_start *ts;
	int		 rc;

	if (real == NULL && (real = (int (*)(pthread_t *,
	    const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT,
	    "pthread_create")) == NULL)
		return EAGAIN;
	if ((ts = malloc(sizeof(*ts))) == NULL)
		return EAGAIN;
	ts->fn = fn;
	ts->arg = arg;
	atomic_fetch_add(&threads_running, 1);
	if ((rc = real(t, attr, thread_main, ts)) != 0) {
		atomic_fetch_sub(&threads_running, 1);
		free(ts);
	}
	return rc;
}

/*
 * After a call: warns about the threads and descriptors the handler left
 * behind (naming the request). A module that keeps a connection open
 * between requests is warned about once; one that leaks on every request
 * fills the worker's descriptor table, so after FDS_HELD_MAX the worker
 * is replaced, the way a drop-in module that changed on disk is.
 */
static void
check_residue(struct capture *c, int low_free)
{
	long long	 n;
	int		 threads, calls, free_low;

	/* The host's own threads never change: compare with the last call. */
	threads = atomic_load(&threads_running);
	if ((n = threads - c->threads) > 0)
		log_req(c->req, LOG_LEVEL_WARNING, "the handler left %lld "
		    "thread%s running after main() returned", n,
		    n == 1 ? "" : "s");
	c->threads = threads;
	c->fds_seen = fds_moved;
	c->delta_seen = fds_delta;
	if (c->fd_dir == -1 || c->fds_before <= 0) {
		c->fds_after = -1;
		return;
	}
	calls = ++c->unchecked;
	if (low_free != -1)
		free_low = low_free;		/* streams_probe() asked */
	else
		free_low = fd_low >= 0 && fcntl(fd_low, F_GETFD) == -1 &&
		    errno == EBADF;
	if (free_low && calls < FDS_COUNT_EVERY) {
		c->fds_after = c->fds_before;	/* nothing at fd_low */
		return;
	}
	c->unchecked = 0;
	if (!free_low)
		fd_low = -1;			/* taken: find it again */
	c->fds_after = count_fds(c->fd_dir);
	if ((n = c->fds_after - c->fds_before) <= 0)
		return;
	c->fds_held += n;
	if (!free_low || calls == 1)		/* this call's own */
		log_req(c->req, LOG_LEVEL_WARNING, "the handler left %lld "
		    "file descriptor%s open (%lld in this worker)", n,
		    n == 1 ? "" : "s", c->fds_held);
	else
		log_req(c->req, LOG_LEVEL_WARNING, "%lld file descriptor%s "
		    "left open by this call or one of the %d before it "
		    "(%lld in this worker)", n, n == 1 ? " was" : "s were",
		    calls - 1, c->fds_held);
	if (c->fds_held > FDS_HELD_MAX && !c->recycle) {
		c->recycle = 1;
		log_req(c->req, LOG_LEVEL_ERROR, "handlers left more than %d "
		    "file descriptors open in this worker; it is replaced "
		    "after this request", FDS_HELD_MAX);
	}
}

/*
 * Returns 1 when handlers leaked so many descriptors that this worker
 * should be replaced after its request.
 */
int
capture_recycle_wanted(const struct capture *c)
{
	return c->recycle;
}

/* Makes fd 0 read body (len bytes) from its start, then end-of-file. */
static int
set_fd0(struct capture *c, const char *body, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	if (len == 0 && !c->fd0_body)
		return 0;
	if (ftruncate(0, 0) == -1 && memfd_at(0, "warmcgi-stdin") == -1)
		return -1;
	while (off < len) {
		if ((n = pwrite(0, body + off, len - off, (off_t)off)) <= 0)
			return -1;
		off += (size_t)n;
	}
	lseek(0, 0, SEEK_SET);
	c->fd0_body = len > 0;
	return 0;
}

/*
 * Prepares a call for request r: stdin reads body (len bytes), stdout
 * collects at most max_out bytes, stderr lines become records of r.
 * Returns 0, or -1 if the streams could not be set up.
 */
int
capture_begin(struct capture *c, struct req *r, const char *body,
    size_t len, size_t max_out)
{
	buf_trim(&c->out, OUT_KEEP);
	buf_reset(&c->err);
	c->req = r;
	c->overflow = 0;
	c->out_drained = 0;
	c->max_out = max_out;
	c->in_data = body;
	c->in_len = len;
	c->in_pos = 0;
	if (install_streams(c) == -1 || set_fd0(c, body, len) == -1)
		return -1;
	if (c->fds_seen == fds_moved && c->fds_after > 0)
		c->fds_before = c->fds_after + fds_delta - c->delta_seen;
	else {
		c->fds_before = count_fds(c->fd_dir);
		c->unchecked = 0;
	}
	if (fd_low == -1 && c->fd_dir != -1)
		find_low(c);
	if (!c->called) {	/* the first call: after the watchdog started */
		c->threads = atomic_load(&threads_running);
		c->called = 1;
	}
	__fpurge(stdin);
	clearerr(stdin);
	__fpurge(c->first_in);		/* it reads fd 0 from its start */
	clearerr(c->first_in);
	clearerr(stdout);
	clearerr(stderr);
	return 0;
}

/*
 * Ends a call: flushes the handler's streams and collects what it wrote to
 * descriptors 1 and 2 directly.
 */
void
capture_end(struct capture *c)
{
	int	 clean, low_free;

	fflush(c->first_out);		/* its buffer goes to fd 1 now */
	clean = streams_probe(c, &low_free);
	c->out_drained = 0;
	c->fd1_clean = clean;		/* out_write() need not look */
	if (!c->out_closed)
		fflush(c->out_fp);
	c->fd1_clean = 0;
	if (!clean) {
		if (!c->out_drained)
			drain_fd(c, 1);
		drain_fd(c, 2);
		notify_rearm(c);
	}
	log_stderr_flush(c->req, &c->err);
	check_residue(c, low_free);
	c->req = NULL;	/* the request is over; see stderr_line() */
}

/*
 * Returns what the last call wrote on stdout.
 */
struct buf *
capture_out(struct capture *c)
{
	return &c->out;
}

/*
 * Returns 1 if the last call wrote more than capture_begin()'s max_out.
 */
int
capture_overflowed(const struct capture *c)
{
	return c->overflow;
}

/*
 * Calls the module's main() with env as environ and stdio set up by
 * capture_begin(). Sets *status to what main() returned or passed to
 * exit(). Returns MODULE_RETURNED or MODULE_EXITED. The caller calls
 * capture_end() afterwards.
 */
enum module_end
module_call(struct module *m, char **env, int *status)
{
	sigjmp_buf	 jb;
	char		*argv[2];
	char		**saved_env = environ;
	volatile enum module_end how = MODULE_RETURNED;

	argv[0] = m->path;
	argv[1] = NULL;
	environ = env;
	exit_jb = &jb;
	if (!mask_saved) {
		/* The serving thread's mask outside handlers never changes. */
		if (pthread_sigmask(SIG_SETMASK, NULL, &mask) != 0)
			sigemptyset(&mask);
		mask_saved = 1;
	}
	deadline_enter_handler();
	/* No mask saved per call (a syscall); restored on the exit path. */
	if (sigsetjmp(jb, 0) == 0) {
		*status = m->main(1, argv, env);
	} else {
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
		how = MODULE_EXITED;
		*status = exit_status;
	}
	deadline_leave_handler();
	exit_jb = NULL;
	environ = saved_env;
	return how;
}

/*
 * The interposed exits. Inside a handler's main() they jump back to
 * module_call(); anywhere else they are the C library's.
 */
static void
leave_handler(int status)
{
	exit_status = status;
	siglongjmp(*exit_jb, 1);
}

WC_API void
exit(int status)
{
	void	(*real)(int);

	if (exit_jb != NULL)
		leave_handler(status);
	real = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	real(status);
	__builtin_unreachable();
}

WC_API void
_exit(int status)
{
	if (exit_jb != NULL)
		leave_handler(status);
	_Exit(status);
}
