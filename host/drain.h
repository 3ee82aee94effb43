/*
 * drain.h: taking a host out of a pool behind nginx and putting it back:
 * the socket operations the master uses, and the `warmcgi --drain` and
 * `--undrain` commands.
 */
#ifndef WARMCGI_DRAIN_H
#define WARMCGI_DRAIN_H

#include <signal.h>
#include <stddef.h>

struct conf;

/*
 * The signal that drains or undrains a master. Sent with sigqueue() it
 * carries DRAIN_VALUE_ON or DRAIN_VALUE_OFF; sent with kill() it toggles.
 */
#define DRAIN_SIGNAL		SIGUSR2
#define DRAIN_VALUE_ON		1
#define DRAIN_VALUE_OFF		2

int	 drain_filter(int);
int	 drain_unfilter(int);
int	 drain_queued(int);
int	 drain_shut(int);
int	 drain_relisten(int, int);
int	 drain_hidden_path(const char *, char *, size_t);
int	 drain_hide(const char *);
int	 drain_unhide(const char *);
void	 drain_unlink(const char *);

int	 drain_proc_listening(const char *, const char *, unsigned int);
int	 drain_is_serving(const struct conf *);
int	 drain_pid_write(const char *);
void	 drain_pid_remove(const char *);
int	 drain_command(const struct conf *, int);

#endif
