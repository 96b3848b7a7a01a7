/* SPDX-License-Identifier: GPL-2.0-or-later
 * privsep.c - hand the state dir to the proxy user and become that user;
 * limit the supervisor, which stays root, to the capabilities it needs.
 *
 * After the drop the daemon needs root for nothing: the listeners are
 * bound, the CA is in memory, the ledger is open, and reopening it on
 * SIGHUP or removing the upstream bundle at exit works because the state
 * dir now belongs to the proxy user. The iptables redirect is the
 * script's business, not the daemon's.
 *
 * Threading: see privsep.h. Ownership: nothing is kept.
 */
#include "config.h"

#include "privsep.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"

int
privsep_lookup(const char *user, struct privsep_user *out)
{
	struct passwd *pw;

	errno = 0;
	if (!(pw = getpwnam(user))) {
		if (errno == 0 || errno == ENOENT || errno == ESRCH)
			return 0;
		log_err("privsep: looking up user %s", user);
		return -1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return 1;
}

/* Owner of one directory entry; symlinks and odd files are skipped. */
static int
privsep_own_entry(int dirfd, const char *name, const struct privsep_user *u)
{
	struct stat st;
	bool bundle = strcmp(name, BUNDLE_FILE) == 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		log_err("privsep: %s", name);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	/* A second link may be a file outside the dir (a planted hard
	 * link to /etc/shadow, say): handing it over would give that away.
	 * The daemon never makes one, so it is left as it is. */
	if (st.st_nlink > 1) {
		log_warnx("privsep: %s has %lu links: not handed to the proxy "
			  "user",
			  name, (unsigned long)st.st_nlink);
		return 0;
	}
	if (fchownat(dirfd, name, bundle ? 0 : u->uid, bundle ? 0 : u->gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		log_err("privsep: chown %s", name);
		return -1;
	}
	return 0;
}

/* Gives the state dir to u: the directory and every regular file in it
 * (CA key and certificate, ledger, upstream bundle) but the bundle. */
static int
privsep_own_state(const char *state_dir, const struct privsep_user *u)
{
	struct dirent *de;
	DIR *d = NULL;
	int fd, rc = -1;

	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, u->uid, u->gid) < 0) {
		log_err("privsep: state dir %s", state_dir);
		goto out;
	}
	if (!(d = fdopendir(fd))) {
		log_err("privsep: state dir %s", state_dir);
		goto out;
	}
	fd = -1; /* the DIR owns it now */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    privsep_own_entry(dirfd(d), de->d_name, u) < 0)
			goto out;
	rc = 0;
out:
	if (d)
		closedir(d);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* 0 when the process holds no capability at all. */
static int
privsep_no_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted)
			return -1;
	return 0;
}

/* What the supervisor does as root, and no more: start the LS as its
 * user (setgroups, setgid, setuid), signal it (another uid), and write
 * the combined bundle into the state dir, which the proxy user owns.
 * Creating run cgroups and writing cgroup.procs need no capability:
 * root owns those files. */
static const int privsep_supervisor_caps[] = {
	CAP_SETUID,
	CAP_SETGID,
	CAP_KILL,
	CAP_DAC_OVERRIDE,
};

int
privsep_limit_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	size_t nkeep = sizeof(privsep_supervisor_caps) /
		       sizeof(privsep_supervisor_caps[0]);

	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		bool keep = false;

		for (size_t i = 0; i < nkeep; i++)
			keep = keep || privsep_supervisor_caps[i] == cap;
		if (!keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			log_err("privsep: dropping capability %d", cap);
			return -1;
		}
	}
	for (size_t i = 0; i < nkeep; i++) {
		int c = privsep_supervisor_caps[i];

		d[c / 32].effective |= 1U << (c % 32);
		d[c / 32].permitted |= 1U << (c % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0) {
		log_err("privsep: limiting capabilities");
		return -1;
	}
	return 0;
}

/* setgroups/setgid/setuid to u, for good: checks that root cannot be
 * regained and that no capability is left. */
static int
privsep_become(const struct privsep_user *u)
{
	if (setgroups(1, &u->gid) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0) {
		log_err("privsep: becoming uid %lu", (unsigned long)u->uid);
		return -1;
	}
	if (u->uid != 0 && (setuid(0) == 0 || privsep_no_caps() < 0)) {
		log_errx("privsep: root privileges survived the drop");
		return -1;
	}
	return 0;
}

int
privsep_drop(const char *user, const char *state_dir)
{
	struct privsep_user u;
	int found;

	if (geteuid() != 0)
		return 0;
	if ((found = privsep_lookup(user, &u)) < 0)
		return -1;
	if (found == 0) {
		log_warnx("privsep: user %s does not exist; the daemon stays "
			  "root (create it with mitm-redirect.sh)",
			  user);
		return 0;
	}
	if (u.uid == 0) {
		log_info("privsep: --user %s is root: the daemon stays root",
			 user);
		return 0;
	}
	if (privsep_own_state(state_dir, &u) < 0 || privsep_become(&u) < 0)
		return -1;
	log_info("privsep: running as %s (uid %lu)", user,
		 (unsigned long)u.uid);
	return 0;
}

int
privsep_state_searchable(const char *state_dir)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    ((st.st_mode & 011) != 011 &&
	     fchmod(fd, (st.st_mode & 0700) | 0711) < 0)) {
		log_err("standalone: state dir %s: chmod 0711", state_dir);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}
