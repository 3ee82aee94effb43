/*
 * master.h: the master process: listen socket, workers, signals.
 */
#ifndef WARMCGI_MASTER_H
#define WARMCGI_MASTER_H

struct conf;

void	 master_catch_signals(void);
int	 master_listen(const struct conf *);
void	 master_run(struct conf *, int, int) __attribute__((noreturn));

#endif
