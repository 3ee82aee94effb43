/*
 * systemd.h: socket activation (LISTEN_FDS) and service notification
 * (NOTIFY_SOCKET), without libsystemd.
 */
#ifndef WARMCGI_SYSTEMD_H
#define WARMCGI_SYSTEMD_H

int	 systemd_listen_fd(void);
void	 systemd_notify_init(void);
void	 systemd_notify(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
