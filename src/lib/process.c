/* SPDX-License-Identifier: MIT */
/* The container process's identity, privileges and exec. */
#define _GNU_SOURCE
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT	     47
#define PR_CAP_AMBIENT_RAISE 2
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_lookup(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* A later value of a name replaces an earlier one, in the earlier one's
 * place (the order docker and runc give). */
static void env_dedupe(char **env)
{
	size_t n = strv_length(env), out = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = env_name_len(env[i]);
		bool replaced = false;
		for (size_t j = 0; j < out; j++) {
			if (env_name_len(env[j]) == len && strncmp(env[j], env[i], len) == 0) {
				free(env[j]);
				env[j] = env[i];
				replaced = true;
				break;
			}
		}
		if (!replaced)
			env[out++] = env[i];
	}
	env[out] = NULL;
}

/* The home directory of uid in the container's /etc/passwd, or NULL. A
 * hostile image may make the file a fifo or a device: only a regular file
 * is read, and only so much of it. */
static char *passwd_home(uid_t uid)
{
	cleanup_close int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cleanup_free char *line = NULL;
	size_t cap = 0, total = 0;
	char *home = NULL;
	struct stat st;
	ssize_t n;
	FILE *f;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	f = fdopen(fd, "r");
	if (f == NULL)
		return NULL;
	fd = -1; /* the stream owns it now */
	while (home == NULL && total < (16u << 20) && (n = getline(&line, &cap, f)) > 0) {
		char *fields[7] = {0}, *c = line;
		int64_t v;
		int k = 0;
		total += (size_t)n;
		line[strcspn(line, "\n")] = '\0';
		/* name:passwd:uid:gid:gecos:home:shell, empty fields allowed */
		for (; k < 7 && c; k++) {
			fields[k] = c;
			c = strchr(c, ':');
			if (c)
				*c++ = '\0';
		}
		if (k >= 6 && parse_int64(fields[2], 0, UINT32_MAX, &v) == 0 && (uid_t)v == uid &&
		    fields[5][0] != '\0')
			home = strdup(fields[5]);
	}
	fclose(f);
	return home;
}

int husk_process_prepare_env(struct husk_process *p, husk_error **err)
{
	cleanup_free char *home = NULL;
	cleanup_free char *kv = NULL;
	char **env;
	size_t n;

	if (p->env == NULL && (p->env = calloc(1, sizeof(char *))) == NULL)
		return husk_error_set(err, ENOMEM, "process.env");
	env_dedupe(p->env);
	if (env_lookup(p->env, "HOME") != NULL)
		return 0;
	home = passwd_home(p->uid);
	if (asprintf(&kv, "HOME=%s", home ? home : "/") < 0)
		return husk_error_set(err, ENOMEM, "process.env");
	n = strv_length(p->env);
	env = realloc(p->env, (n + 2) * sizeof(char *));
	if (env == NULL)
		return husk_error_set(err, ENOMEM, "process.env");
	env[n] = steal_pointer(&kv);
	env[n + 1] = NULL;
	p->env = env;
	return 0;
}

static int check_executable(const char *arg0, const char *path, husk_error **err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return husk_error_fail(err, errno == ENOENT ? HUSK_ERR_NOT_FOUND : HUSK_ERR_SYSTEM,
				       "exec: \"%s\": stat %s: %s", arg0, path,
				       errno == ENOENT ? "no such file or directory"
						       : strerror(errno));
	if (S_ISDIR(st.st_mode) || access(path, X_OK) < 0 || (st.st_mode & 0111) == 0)
		return husk_error_fail(err, HUSK_ERR_PERMISSION, "exec: \"%s\": permission denied",
				       arg0);
	return 0;
}

int husk_process_find_executable(const struct husk_process *p, char **ret, husk_error **err)
{
	const char *arg0 = p->args[0], *search;
	cleanup_free char *paths = NULL;
	char *save = NULL;
	bool denied = false;

	if (strchr(arg0, '/') != NULL) {
		if (check_executable(arg0, arg0, err) < 0)
			return -1;
		*ret = strdup(arg0);
		return *ret ? 0 : husk_error_set(err, ENOMEM, "exec");
	}
	search = env_lookup(p->env, "PATH");
	paths = strdup(search ? search : DEFAULT_PATH);
	if (paths == NULL)
		return husk_error_set(err, ENOMEM, "exec");
	for (char *dir = strtok_r(paths, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		cleanup_free char *candidate = NULL;
		struct stat st;
		if (asprintf(&candidate, "%s/%s", *dir ? dir : ".", arg0) < 0)
			return husk_error_set(err, ENOMEM, "exec");
		if (stat(candidate, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (access(candidate, X_OK) < 0 || (st.st_mode & 0111) == 0) {
			denied = true;
			continue;
		}
		*ret = steal_pointer(&candidate);
		return 0;
	}
	if (denied)
		return husk_error_fail(err, HUSK_ERR_PERMISSION, "exec: \"%s\": permission denied",
				       arg0);
	return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
			       "exec: \"%s\": executable file not found in $PATH", arg0);
}

int husk_process_apply_rlimits(const struct husk_process *p, husk_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) == 0)
			continue;
		if (errno == EPERM) {
			struct rlimit cur;
			getrlimit(p->rlimits[i].resource, &cur);
			return husk_error_fail(
			    err, HUSK_ERR_PERMISSION,
			    "process.rlimits: cannot raise %s to %llu (hard limit "
			    "%llu): raising a hard limit needs CAP_SYS_RESOURCE, "
			    "which this runtime does not have",
			    husk_rlimit_name(p->rlimits[i].resource),
			    (unsigned long long)p->rlimits[i].hard,
			    (unsigned long long)cur.rlim_max);
		}
		return husk_error_set(err, errno, "setrlimit %s",
				      husk_rlimit_name(p->rlimits[i].resource));
	}
	return 0;
}

int husk_process_apply_oom_score_adj(const struct husk_process *p, husk_error **err)
{
	char buf[16];
	int n;

	if (!p->has_oom_score_adj)
		return 0;
	n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	if (write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, (size_t)n, err) < 0)
		return husk_error_wrap(err, "process.oomScoreAdj");
	return 0;
}

static int drop_bounding_set(uint64_t keep, husk_error **err)
{
	for (int c = 0; c <= husk_cap_last(); c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return husk_error_set(err, errno, "drop %s from the bounding set",
					      husk_cap_name(c));
	}
	return 0;
}

static int set_caps(const struct husk_caps *caps, husk_error **err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(caps->effective >> (32 * i));
		data[i].permitted = (uint32_t)(caps->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(caps->inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return husk_error_set(err, errno, "set capabilities");
	/* The kernel only lets a capability into the ambient set when it is
	 * permitted and inheritable; configs (runc's and crun's default spec
	 * among them) often list ambient ones without inheritable: skip those,
	 * as other runtimes do. */
	uint64_t ambient = caps->ambient & caps->inheritable & caps->permitted;

	for (int c = 0; c <= husk_cap_last(); c++)
		if ((ambient & (1ULL << c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EINVAL)
			return husk_error_set(err, errno, "raise ambient %s", husk_cap_name(c));
	return 0;
}

int husk_process_apply_user_and_caps(const struct husk_process *p, bool setgroups_allowed,
				     husk_error **err)
{
	if (p->has_caps && drop_bounding_set(p->caps.bounding, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return husk_error_set(err, errno, "keep capabilities");
	if (setgroups_allowed &&
	    setgroups(p->n_additional_gids, p->n_additional_gids ? p->additional_gids : NULL) < 0)
		return husk_error_set(err, errno, "process.user.additionalGids: setgroups");
	if (!setgroups_allowed && p->n_additional_gids > 0)
		return husk_error_fail(err, HUSK_ERR_PERMISSION,
				       "process.user.additionalGids: setgroups is denied in this "
				       "user namespace");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return husk_error_set(err, errno, "process.user.gid: setgid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return husk_error_set(err, errno, "process.user.uid: setuid %u", (unsigned)p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return husk_error_set(err, errno, "keep capabilities");
	if (p->has_caps)
		return set_caps(&p->caps, err);
	if (p->uid != 0) {
		struct husk_caps none = {0};
		return set_caps(&none, err);
	}
	return 0;
}

int husk_process_apply_no_new_privs(const struct husk_process *p, husk_error **err)
{
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_error_set(err, errno, "process.noNewPrivileges");
	return 0;
}

int husk_process_apply_cwd_and_umask(const struct husk_process *p, husk_error **err)
{
	umask(p->has_umask ? p->umask : 0022);
	if (chdir(p->cwd) < 0) {
		if (errno != ENOENT || mkdir_p(p->cwd, 0755, NULL) < 0 || chdir(p->cwd) < 0)
			return husk_error_set(err, errno, "process.cwd: chdir `%s`", p->cwd);
	}
	return 0;
}

int husk_close_fds_on_exec(int preserve_fds, husk_error **err)
{
	unsigned int first = 3 + (unsigned)(preserve_fds > 0 ? preserve_fds : 0);
	DIR *d;
	struct dirent *de;

	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return husk_error_set(err, errno, "list open fds");
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] != '.' && fd >= (int)first && fd != dirfd(d))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

void husk_process_reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int husk_process_exec(const struct husk_process *p, const char *path, husk_error **err)
{
	static char *const empty_env[] = {NULL};

	execve(path, p->args, p->env ? p->env : empty_env);
	if (errno == ENOENT)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
				       "exec: \"%s\": no such file or directory", p->args[0]);
	if (errno == EACCES)
		return husk_error_fail(err, HUSK_ERR_PERMISSION, "exec: \"%s\": permission denied",
				       p->args[0]);
	return husk_error_set(err, errno, "exec: \"%s\"", p->args[0]);
}
