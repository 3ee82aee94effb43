/*
 * priv.c: what a worker may do. The master stays root when started as
 * root (it must bind, reopen logs, read the config again on SIGHUP and
 * start workers); each worker, right after fork and before any handler
 * code is loaded or run, sets its resource limits (rlimit_nofile,
 * rlimit_core, rlimit_as: raising a hard limit needs root, so this comes
 * first) and then drops to `user`/`group` for good: supplementary groups,
 * then gid, then uid, and checks that root cannot be regained. Classic CGI
 * processes inherit both.
 *
 * Changing credentials clears the dumpable flag (no core files) and the
 * parent-death signal; the first is set again when rlimit_core asks for
 * cores, the second is set by worker.c after this.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "priv.h"

static int
set_limit(int resource, const char *name, long long value)
{
	struct rlimit	 rl;

	if (value == CONF_UNSET)
		return 0;
	rl.rlim_cur = rl.rlim_max = value == LLONG_MAX ? RLIM_INFINITY :
	    (rlim_t)value;
	if (setrlimit(resource, &rl) == -1) {
		/* Not root: the soft limit may still go up to the hard one. */
		if (getrlimit(resource, &rl) == 0 && (value == LLONG_MAX ||
		    (rlim_t)value > rl.rlim_max)) {
			log_error("%s = %lld: above the hard limit %llu", name,
			    value, (unsigned long long)rl.rlim_max);
			return -1;
		}
		rl.rlim_cur = (rlim_t)value;
		if (setrlimit(resource, &rl) == -1) {
			log_error("setrlimit %s", name);
			return -1;
		}
	}
	return 0;
}

static int
drop(const struct conf *c)
{
	uid_t	 uid = (uid_t)c->uid;
	gid_t	 gid = (gid_t)c->gid;

	if (c->uid < 0 || (getuid() == uid && geteuid() == uid &&
	    getgid() == gid))
		return 0;
	if (initgroups(c->user, gid) == -1 && setgroups(1, &gid) == -1) {
		log_error("setgroups for user %s", c->user);
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		log_error("setresgid %lld", c->gid);
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		log_error("setresuid %s", c->user);
		return -1;
	}
	if (uid != 0 && setuid(0) != -1) {
		log_errorx("could regain root after dropping to %s", c->user);
		return -1;
	}
	return 0;
}

/*
 * Applies c's resource limits and user/group to the calling process (a
 * worker just forked). Returns 0, or -1 (logged).
 */
int
priv_worker(const struct conf *c)
{
	if (set_limit(RLIMIT_NOFILE, "rlimit_nofile", c->rlimit_nofile) == -1 ||
	    set_limit(RLIMIT_CORE, "rlimit_core", c->rlimit_core) == -1 ||
	    set_limit(RLIMIT_AS, "rlimit_as", c->rlimit_as) == -1)
		return -1;
	if (drop(c) == -1)
		return -1;
	if (c->rlimit_core != CONF_UNSET && c->rlimit_core != 0 &&
	    prctl(PR_SET_DUMPABLE, 1) == -1)
		log_warn("prctl(PR_SET_DUMPABLE)");
	return 0;
}

/*
 * Refuses to run handlers as root: when warmcgi runs as root, c must name
 * a user other than root to drop to, or say allow_root = yes. Not root, it
 * cannot become another user. Returns 0, or -1 with the reason in err.
 */
int
priv_check_root(const struct conf *c, char *err, size_t size)
{
	if (geteuid() != 0 && c->uid >= 0 && (uid_t)c->uid != geteuid()) {
		snprintf(err, size, "%s:0: user = %s: changing users needs "
		    "warmcgi to start as root", c->file, c->user);
		return -1;
	}
	if (geteuid() != 0 || c->allow_root)
		return 0;
	if (c->uid < 0) {
		snprintf(err, size, "%s:0: refusing to run handlers as root: "
		    "set user = NAME (an unprivileged user to run the "
		    "workers as), or allow_root = yes", c->file);
		return -1;
	}
	if (c->uid == 0) {
		snprintf(err, size, "%s:0: user = %s is root: refusing to run "
		    "handlers as root without allow_root = yes", c->file,
		    c->user);
		return -1;
	}
	return 0;
}
