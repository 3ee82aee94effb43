/*
 * systemd.c: the two systemd protocols warmcgi speaks, without linking
 * libsystemd (both are a few lines; see sd_listen_fds(3) and
 * sd_notify(3)):
 *
 * - socket activation: when LISTEN_PID is our pid, LISTEN_FDS descriptors
 *   start at 3; the first one, a listening stream socket, replaces
 *   `listen`. systemd created it (with SocketMode, SocketUser, ...), so
 *   warmcgi neither chmods nor unlinks it;
 * - notification: datagrams to the unix socket named by NOTIFY_SOCKET
 *   (a path, or an abstract name starting with '@'): READY=1 once the
 *   first workers accept, RELOADING=1 and READY=1 around a reload,
 *   STOPPING=1, and STATUS= lines. Only the master sends them
 *   (NotifyAccess=main).
 *
 * Both variables are removed from the environment, so workers and CGI
 * programs never see them. main.c and master.c call this; nothing here
 * runs in a worker.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"

#define LISTEN_FDS_START	3

static struct sockaddr_un notify_addr;
static socklen_t	 notify_len;	/* 0: no NOTIFY_SOCKET */

/*
 * Returns the listening socket systemd passed (made non-blocking and
 * close-on-exec), or -1 if none was passed. Prints why and exits when what
 * was passed cannot be used.
 */
int
systemd_listen_fd(void)
{
	const char	*pid = getenv("LISTEN_PID");
	const char	*fds = getenv("LISTEN_FDS");
	struct stat	 st;
	int		 fd = LISTEN_FDS_START, n, accepting = 0, flags;
	socklen_t	 len = sizeof(accepting);

	if (pid == NULL || fds == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	n = (int)strtol(fds, NULL, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n < 1)
		return -1;
	if (n > 1)
		fprintf(stderr, "warmcgi: systemd passed %d sockets; using the "
		    "first\n", n);
	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) ==
	    -1 || !accepting) {
		fprintf(stderr, "warmcgi: LISTEN_FDS: descriptor %d is not a "
		    "listening socket (use ListenStream= in the .socket "
		    "unit)\n", fd);
		exit(1);
	}
	flags = fcntl(fd, F_GETFL);
	if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "warmcgi: LISTEN_FDS: fcntl: %s\n",
		    strerror(errno));
		exit(1);
	}
	return fd;
}

/*
 * Reads NOTIFY_SOCKET (and removes it from the environment). Call once in
 * the master before any worker is forked.
 */
void
systemd_notify_init(void)
{
	const char	*s = getenv("NOTIFY_SOCKET");
	size_t		 n;

	if (s == NULL)
		return;
	n = strlen(s);
	if ((s[0] == '/' || s[0] == '@') && n > 1 &&
	    n < sizeof(notify_addr.sun_path)) {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, s, n);
		if (s[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_len = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + n);
	} else {
		log_warnx("NOTIFY_SOCKET=%s: not a unix socket; systemd is "
		    "not notified", s);
	}
	unsetenv("NOTIFY_SOCKET");
}

/*
 * Sends one notification ("READY=1\nSTATUS=..."), formatted like printf,
 * if systemd asked for them. Failures are logged and otherwise ignored.
 */
void
systemd_notify(const char *fmt, ...)
{
	char		 msg[1024];
	va_list		 ap;
	int		 fd, n;

	if (notify_len == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify socket");
		return;
	}
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) == -1)
		log_warn("notifying systemd");
	close(fd);
}
