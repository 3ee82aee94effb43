/*
 * rawfcgi.c: the benchmark's baseline, (b) in bench/RESULTS.md. The least
 * a libfcgi responder can do: the stock FCGX_Accept_r() loop, writing the
 * same bytes warmcgi sends for examples/hello (its Status, Content-Type
 * and Content-Length fields, then the body), so nginx does the same work
 * for both. No environment, no body read, no log, no deadline.
 *
 *	cc -O2 rawfcgi.c -lfcgi -o rawfcgi
 *	rawfcgi SOCKET NPROC
 *
 * Opens the unix socket SOCKET (mode 0666), forks NPROC processes that
 * each loop on FCGX_Accept_r(), and waits. SIGTERM or SIGINT to the
 * parent kills them all.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: rawfcgi SOCKET NPROC\n");
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
