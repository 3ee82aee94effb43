/*
 * drain.c: taking a host out of a pool of warmcgi hosts behind nginx, and
 * putting it back. A drained host refuses new connections at once, so
 * that nginx's `fastcgi_next_upstream error` sends the requests to the
 * other hosts, while its workers finish the requests they have.
 *
 * The master (master.c) owns the sequence; this file has the socket
 * operations it uses:
 *
 *   TCP   The listening socket is shared by the master and every worker,
 *         so one operation on it acts for all of them. First a socket
 *         filter drops new connection requests (SYN): nothing new gets
 *         into the kernel's backlog, and what is already there (nginx has
 *         connected and sent its request) is still accepted and served.
 *         Once the backlog is empty, shutdown() ends the listening state:
 *         from then on a connection request is answered with a reset, and
 *         nginx moves on at once ("connection refused"), even for a POST,
 *         since nothing was sent. A SYN dropped in between is sent again
 *         by the client's kernel a second later and refused then. Undrain
 *         is listen() again on the same socket, which still owns its
 *         address and port.
 *   unix  The socket file is renamed to PATH.drained: connect() finds no
 *         file (nginx moves on), the backlog stays and is served, and
 *         undrain renames it back.
 *
 * The commands `warmcgi --drain` and `--undrain` (drain_command(), called
 * by main.c) find the master through pid_file, send it DRAIN_SIGNAL with
 * sigqueue() and wait until the socket is seen in the state asked for
 * (no listening TCP socket on the address and port in /proc/net/tcp or
 * tcp6, or the unix socket file gone), sending again if a signal was
 * merged with another. drain_proc_listening() is pure and unit-tested.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "drain.h"
#include "log.h"

#define HIDDEN_SUFFIX	".drained"
#define POLL_MS		20	/* the command checks the socket this often */
#define RESEND_MS	1000	/* and signals again after this */
#define WAIT_EXTRA_MS	5000	/* beyond pending_timeout */

/*
 * A classic BPF program for the listening socket: the TCP header starts
 * at offset 0 of what a socket filter sees; byte 13 holds the flags. A
 * segment with SYN and without ACK is dropped (returns 0), anything else
 * kept whole.
 */
static struct sock_filter syn_drop[] = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),	/* SYN | ACK */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),	/* SYN alone */
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
};

/*
 * Makes listening TCP socket fd drop new connection requests, keeping its
 * backlog. Returns 0, or -1 (logged).
 */
int
drain_filter(int fd)
{
	struct sock_fprog prog;

	prog.len = sizeof(syn_drop) / sizeof(syn_drop[0]);
	prog.filter = syn_drop;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == -1) {
		log_warn("drain: SO_ATTACH_FILTER");
		return -1;
	}
	return 0;
}

/*
 * Removes the filter of drain_filter(). Returns 0, or -1 (logged).
 */
int
drain_unfilter(int fd)
{
	int	 one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &one,
	    sizeof(one)) == -1 && errno != ENOENT) {
		log_warn("drain: SO_DETACH_FILTER");
		return -1;
	}
	return 0;
}

/*
 * Returns how many connections wait in the backlog of listening TCP
 * socket fd (Linux reports it in tcpi_unacked for a listener), or -1.
 */
int
drain_queued(int fd)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	return ti.tcpi_state == TCP_LISTEN ? (int)ti.tcpi_unacked : 0;
}

/*
 * Ends the listening state of TCP socket fd: connection requests are
 * refused from now on (what its backlog still held is reset). The socket
 * keeps its address. Returns 0, or -1 (logged).
 */
int
drain_shut(int fd)
{
	if (shutdown(fd, SHUT_RD) == -1 && errno != ENOTCONN) {
		log_warn("drain: shutdown");
		return -1;
	}
	return 0;
}

/*
 * Makes TCP socket fd, ended by drain_shut(), listen again. Returns 0, or
 * -1 (logged: another socket may have taken the port meanwhile).
 */
int
drain_relisten(int fd, int backlog)
{
	if (listen(fd, backlog) == -1) {
		log_warn("undrain: listen");
		return -1;
	}
	return 0;
}

/*
 * Writes the name a drained unix socket has (path + ".drained") into out.
 * Returns 0, or -1 if it does not fit.
 */
int
drain_hidden_path(const char *path, char *out, size_t len)
{
	int	 n = snprintf(out, len, "%s" HIDDEN_SUFFIX, path);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Renames the unix socket file at path to its drained name. Returns 0, or
 * -1 (logged).
 */
int
drain_hide(const char *path)
{
	char	 hidden[4096];

	if (drain_hidden_path(path, hidden, sizeof(hidden)) == -1 ||
	    rename(path, hidden) == -1) {
		log_warn("drain: rename %s", path);
		return -1;
	}
	return 0;
}

/*
 * Renames a drained unix socket file back to path, unless something else
 * has taken that name meanwhile. Returns 0, or -1 (logged).
 */
int
drain_unhide(const char *path)
{
	char	 hidden[4096];

	if (drain_hidden_path(path, hidden, sizeof(hidden)) == -1 ||
	    renameat2(AT_FDCWD, hidden, AT_FDCWD, path, RENAME_NOREPLACE) ==
	    -1) {
		log_warn("undrain: rename %s to %s", hidden, path);
		return -1;
	}
	return 0;
}

/*
 * Removes the unix socket file at path and its drained name.
 */
void
drain_unlink(const char *path)
{
	char	 hidden[4096];

	unlink(path);
	if (drain_hidden_path(path, hidden, sizeof(hidden)) == 0)
		unlink(hidden);
}

/*
 * Reads the text of /proc/net/tcp or /proc/net/tcp6. Returns 1 if it
 * lists a socket in the LISTEN state (0A) on addr (as the kernel prints
 * it there: hex digits, any case) and port, else 0.
 */
int
drain_proc_listening(const char *text, const char *addr, unsigned int port)
{
	const char	*line, *nl;
	char		 a[64];
	unsigned int	 p, st;

	for (line = text; line != NULL && *line != '\0'; line = nl ? nl + 1 :
	    NULL) {
		nl = strchr(line, '\n');
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*s %x", a, &p,
		    &st) == 3 && p == port && st == 0x0A &&
		    strcasecmp(a, addr) == 0)
			return 1;
	}
	return 0;
}

/*
 * Writes address sa as /proc/net/tcp{,6} prints it into out: each 32-bit
 * word of the address, as stored, in hex. Returns 0, or -1 for another
 * family.
 */
static int
proc_addr(const struct sockaddr *sa, char *out, size_t len)
{
	const unsigned char *b;
	uint32_t	 w;
	size_t		 n, i;

	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		n = 1;
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		n = 4;
	} else {
		return -1;
	}
	if (len < n * 8 + 1)
		return -1;
	for (i = 0; i < n; i++) {
		memcpy(&w, b + 4 * i, 4);
		snprintf(out + 8 * i, 9, "%08X", (unsigned int)w);
	}
	return 0;
}

/* Reads a small text file into buf. Returns 0, or -1. */
static int
read_text(const char *path, char **text)
{
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		if (cap - len < 4096) {
			if ((nb = realloc(buf, cap + 65536)) == NULL)
				break;
			buf = nb;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		return -1;
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/*
 * Returns 1 if the socket of c's listen accepts connections (as seen from
 * this network namespace), 0 if it is drained, -1 if that cannot be told.
 */
int
drain_is_serving(const struct conf *c)
{
	struct addrinfo	 hints, *res = NULL;
	struct stat	 st;
	char		 host[256], addr[40], *port, *text;
	int		 seen;

	if (!c->listen_is_tcp)
		return lstat(c->listen, &st) == 0 && S_ISSOCK(st.st_mode);
	/* The address master.c binds, resolved the same way. */
	snprintf(host, sizeof(host), "%s", c->listen);
	port = strrchr(host, ':');
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port,
	    &hints, &res) != 0)
		return -1;
	if (proc_addr(res->ai_addr, addr, sizeof(addr)) == -1 ||
	    read_text(res->ai_family == AF_INET6 ? "/proc/net/tcp6" :
	    "/proc/net/tcp", &text) == -1) {
		freeaddrinfo(res);
		return -1;
	}
	seen = drain_proc_listening(text, addr, (unsigned int)atoi(port));
	free(text);
	freeaddrinfo(res);
	return seen;
}

/*
 * Writes this process's pid into path (pid_file). Returns 0, or -1 with
 * errno set.
 */
int
drain_pid_write(const char *path)
{
	char	 text[32];
	int	 fd, n, saved;

	n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	if (write(fd, text, (size_t)n) != n) {
		saved = errno;
		close(fd);
		errno = saved ? saved : EIO;
		return -1;
	}
	return close(fd);
}

/* Reads the pid in pid_file path. Returns it, or -1. */
static int
pid_read(const char *path)
{
	char	*text;
	long	 pid;

	if (read_text(path, &text) == -1)
		return -1;
	pid = strtol(text, NULL, 10);
	free(text);
	return pid > 0 && pid < 1L << 30 ? (int)pid : -1;
}

/*
 * Removes pid_file path if it still names this process (a newer master
 * may have written it since).
 */
void
drain_pid_remove(const char *path)
{
	if (path != NULL && pid_read(path) == (int)getpid())
		unlink(path);
}

static long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends the drain signal carrying value to pid. Returns 0 or -1. */
static int
send_request(int pid, int value)
{
	union sigval	 v;

	v.sival_int = value;
	if (sigqueue(pid, DRAIN_SIGNAL, v) == -1) {
		fprintf(stderr, "warmcgi: master %d: %s\n", pid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * `warmcgi --drain` (on = 1) and `--undrain` (on = 0) for config c: tells
 * the master named by pid_file and waits until its socket refuses (or
 * accepts) connections. Prints what happened. Returns the exit status: 0
 * done, 1 not.
 */
int
drain_command(const struct conf *c, int on)
{
	const char	*what = on ? "drain" : "undrain";
	long long	 start = mono_ms(), sent, limit;
	int		 pid, state;

	if (c->pid_file == NULL) {
		fprintf(stderr, "warmcgi: --%s: %s sets no pid_file (or send "
		    "SIGUSR2 to the master yourself: it toggles)\n", what,
		    c->file);
		return 1;
	}
	if ((pid = pid_read(c->pid_file)) == -1 || kill(pid, 0) == -1) {
		fprintf(stderr, "warmcgi: --%s: no master running (pid_file "
		    "%s)\n", what, c->pid_file);
		return 1;
	}
	limit = c->limits.pending_timeout_ms + WAIT_EXTRA_MS;
	if (send_request(pid, on ? DRAIN_VALUE_ON : DRAIN_VALUE_OFF) == -1)
		return 1;
	sent = mono_ms();
	for (;;) {
		state = drain_is_serving(c);
		if (state == !on)
			break;
		if (mono_ms() - start > limit || kill(pid, 0) == -1) {
			fprintf(stderr, "warmcgi: --%s: %s still %s after "
			    "%lld ms (see the log of master %d)\n", what,
			    c->listen, state == 1 ? "accepts connections" :
			    state == 0 ? "refuses connections" :
			    "in an unknown state", mono_ms() - start, pid);
			return 1;
		}
		if (mono_ms() - sent >= RESEND_MS) {
			/* A signal sent while another was pending is lost. */
			if (send_request(pid, on ? DRAIN_VALUE_ON :
			    DRAIN_VALUE_OFF) == -1)
				return 1;
			sent = mono_ms();
		}
		usleep(POLL_MS * 1000);
	}
	printf("warmcgi: %s: %s %s (master %d)\n", on ? "drained" :
	    "undrained", c->listen, on ? "refuses new connections; the "
	    "requests in progress finish" : "accepts connections again", pid);
	return 0;
}
