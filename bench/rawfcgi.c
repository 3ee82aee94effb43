/*
 * rawfcgi.c: the benchmark's baseline, (b) in bench/RESULTS.md. The least
 * a libfcgi responder can do: the stock FCGX_Accept_r() loop, writing the
 * same bytes warmcgi sends for examples/hello (its Status, Content-Type
 * and Content-Length fields, then the body), so nginx does the same work
 * for both. No environment, no body read, no log, no deadline.
 *
 *	cc -O2 rawfcgi.c -lfcgi -o rawfcgi
 *	rawfcgi SOCKET NPROC [epoll]
 *
 * Opens the unix socket SOCKET (mode 0666), forks NPROC processes that
 * each loop on FCGX_Accept_r(), and waits. SIGTERM or SIGINT to the
 * parent kills them all.
 *
 * With "epoll", (b-epoll): the design for kept-alive connections that
 * shared/notes/keepalive.md measured fastest ("own"). Each process waits
 * in its own epoll on the listening socket (non-blocking, EPOLLEXCLUSIVE)
 * and on the idle connections nginx keeps, and gives libfcgi the one that
 * has a request (req.ipcFd). No master, no descriptor passing, nothing
 * else: the ceiling of kept connections with libfcgi, which warmcgi's
 * (a-keep) is compared with.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 14\r\n"
    "\r\n"
    "Hello, World!\n";

/*
 * (b-epoll): serves kept connections from one epoll set. A connection
 * whose peer closed it (RDHUP, HUP) is closed without a read; one libfcgi
 * closed (not kept, or dead) leaves the set with its descriptor.
 */
static char	 in_set[65536];	/* descriptors in the epoll set */

static void
set_in(int fd, char v)
{
	if (fd >= 0 && fd < (int)sizeof(in_set))
		in_set[fd] = v;
}

static void
serve_epoll(int listen_fd)
{
	FCGX_Request		 req;
	struct epoll_event	 ev, evs[64];
	int			 ep, n, i, fd, rc;

	if (FCGX_InitRequest(&req, listen_fd, 0) != 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		_exit(1);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = listen_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) == -1)
		_exit(1);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == listen_fd) {
				fd = accept4(listen_fd, NULL, NULL,
				    SOCK_CLOEXEC);
				if (fd == -1)
					continue;	/* another took it */
			} else if (evs[i].events &
			    (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				set_in(fd, 0);
				close(fd);
				continue;
			}
			/* Required for a descriptor libfcgi did not accept. */
			req.ipcFd = fd;
			req.keepConnection = 1;
			rc = FCGX_Accept_r(&req);
			if (req.ipcFd != fd)
				set_in(fd, 0);	/* dead: libfcgi closed it */
			if (rc < 0 || req.ipcFd < 0)
				continue;	/* and found nothing to accept */
			fd = req.ipcFd;		/* or accepted another */
			FCGX_PutStr(response, sizeof(response) - 1, req.out);
			FCGX_Finish_r(&req);
			if (req.ipcFd == -1) {
				set_in(fd, 0);		/* closed */
				continue;
			}
			if (fd >= (int)sizeof(in_set)) {
				close(fd);		/* no room: not kept */
				req.ipcFd = -1;
			} else if (!in_set[fd]) {
				ev.events = EPOLLIN | EPOLLRDHUP;
				ev.data.fd = fd;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
					in_set[fd] = 1;
			}
		}
	}
}

static void
serve(int listen_fd)
{
	FCGX_Request	 req;

	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&req) >= 0)
		FCGX_PutStr(response, sizeof(response) - 1, req.out);
	_exit(0);
}

int
main(int argc, char **argv)
{
	sigset_t	 set;
	pid_t		*kids;
	int		 fd, n, i, sig;

	if (argc < 3 || argc > 4 || (n = atoi(argv[2])) < 1 ||
	    (argc == 4 && strcmp(argv[3], "epoll") != 0)) {
		fprintf(stderr, "usage: rawfcgi SOCKET NPROC [epoll]\n");
		return 2;
	}
	if ((kids = calloc((size_t)n, sizeof(*kids))) == NULL)
		return 1;
	FCGX_Init();
	if ((fd = FCGX_OpenSocket(argv[1], 511)) == -1 ||
	    chmod(argv[1], 0666) == -1) {
		perror(argv[1]);
		return 1;
	}
	/* Shared by the processes: accept4() never blocks one of them. */
	if (argc == 4 && fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		perror("fcntl");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == -1) {
			perror("fork");
			break;
		}
		if (kids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			if (argc == 4)
				serve_epoll(fd);
			else
				serve(fd);
		}
	}
	sigwait(&set, &sig);
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	unlink(argv[1]);
	return 0;
}
