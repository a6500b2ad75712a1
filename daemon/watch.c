/* SPDX-License-Identifier: MIT */
/*
 * watch.c - the watch half of the control path (daemon/ctl.h): per-task CPU watches
 * requested by the configuration or at run time by REST threads.
 *
 * A request is validated in the caller's thread (name syntax, the process exists, the
 * cgroup directory exists on a cgroup2 mount) so the caller gets its error and reason at
 * once; an accepted request goes into a small queue that the ebpf.task collector drains
 * at the start of its sample, in the main-loop thread, where it updates the BPF maps and
 * asks for a re-layout. "Accepted" (what ctl_watch_list shows, what names are taken) is
 * updated at once, so a list right after an add shows the new watch.
 *
 * One mutex guards everything here; nothing under it blocks or calls out.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include "ebpf/ebpf.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define QUEUE_MAX (2 * WATCH_MAX)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int available;
static char off_reason[160] = "the ebpf.task collector is not running (eBPF off: see the status document)";
static struct watch_spec accepted[WATCH_MAX];
static int naccepted;
static struct watch_op queue[QUEUE_MAX];
static int nqueued;

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= WATCH_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		      *s == '-'))
			return 0;
	return 1;
}

int watch_spec_parse(const char *name, const char *spec, struct watch_spec *out, char *err, size_t errlen)
{
	const char *v;

	memset(out, 0, sizeof(*out));
	if (!name || !name_ok(name)) {
		set_err(err, errlen, "watch name must be 1-%d characters of [a-z0-9_.-]", WATCH_NAME_MAX - 1);
		return -EINVAL;
	}
	strcpy(out->name, name);
	if (!spec || !(v = strchr(spec, ':')) || !v[1]) {
		set_err(err, errlen, "watch spec must be pid:N, comm:NAME or cgroup:PATH");
		return -EINVAL;
	}
	v++;
	if (!strncmp(spec, "pid:", 4)) {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(v, &end, 10);
		if (errno || *end || pid <= 0 || pid > INT_MAX) {
			set_err(err, errlen, "pid must be a positive integer, got \"%.32s\"", v);
			return -EINVAL;
		}
		out->kind = WATCH_PID;
		out->pid = (pid_t)pid;
	} else if (!strncmp(spec, "comm:", 5)) {
		if (strlen(v) >= sizeof(out->comm) || strchr(v, '\n')) {
			set_err(err, errlen, "comm must be 1-%zu characters (the kernel's task name)",
				sizeof(out->comm) - 1);
			return -EINVAL;
		}
		out->kind = WATCH_COMM;
		strcpy(out->comm, v);
	} else if (!strncmp(spec, "cgroup:", 7)) {
		if (strlen(v) >= sizeof(out->cgroup)) {
			set_err(err, errlen, "cgroup path longer than %zu characters",
				sizeof(out->cgroup) - 1);
			return -EINVAL;
		}
		out->kind = WATCH_CGROUP;
		strcpy(out->cgroup, v);
	} else {
		set_err(err, errlen, "unknown watch kind in \"%.40s\": use pid:, comm: or cgroup:", spec);
		return -EINVAL;
	}
	return 0;
}

/* The cgroup v2 mount: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one. */
static const char *cgroup2_root(void)
{
	static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	struct statfs sf;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (statfs(roots[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			return roots[i];
	return NULL;
}

static int resolve_cgroup(const struct watch_spec *w, struct watch_resolved *out, char *err, size_t errlen)
{
	const char *root = cgroup2_root();
	char path[PATH_MAX], real[PATH_MAX], rroot[PATH_MAX];
	struct statfs sf;
	struct stat st;
	size_t rl;

	if (!root) {
		set_err(err, errlen, "no cgroup v2 hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified)");
		return -EINVAL;
	}
	if (w->cgroup[0] == '/')
		snprintf(path, sizeof(path), "%s", w->cgroup);
	else
		snprintf(path, sizeof(path), "%s/%s", root, w->cgroup);
	if (!realpath(path, real) || !realpath(root, rroot) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "cgroup %.200s: no such directory", path);
		return -EINVAL;
	}
	rl = strlen(rroot);
	if (statfs(real, &sf) != 0 || sf.f_type != CGROUP2_SUPER_MAGIC || strncmp(real, rroot, rl) ||
	    (real[rl] && real[rl] != '/')) {
		set_err(err, errlen, "%.200s is not a cgroup v2 directory (the v2 root is %s)", real, root);
		return -EINVAL;
	}
	out->cgid = st.st_ino; /* the kernfs node id bpf_get_current_cgroup_id() reports */
	out->cglevel = 0;
	for (const char *p = real + rl; *p; p++)
		if (*p == '/' && p[1])
			out->cglevel++;
	if (out->cglevel >= IR_CG_LEVEL_MAX) {
		set_err(err, errlen, "cgroup %.200s is nested deeper than %d levels", real,
			IR_CG_LEVEL_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

int watch_resolve(const struct watch_spec *w, struct watch_resolved *out, char *err, size_t errlen)
{
	char path[64];

	memset(out, 0, sizeof(*out));
	out->spec = *w;
	if (!name_ok(w->name)) {
		set_err(err, errlen, "watch name must be 1-%d characters of [a-z0-9_.-]", WATCH_NAME_MAX - 1);
		return -EINVAL;
	}
	switch (w->kind) {
	case WATCH_PID:
		snprintf(path, sizeof(path), "/proc/%d", (int)w->pid);
		if (w->pid <= 0 || access(path, F_OK) != 0) {
			set_err(err, errlen, "no process with pid %d", (int)w->pid);
			return -EINVAL;
		}
		return 0;
	case WATCH_COMM:
		if (!w->comm[0] || strnlen(w->comm, sizeof(w->comm)) >= sizeof(w->comm)) {
			set_err(err, errlen, "comm must be 1-%zu characters", sizeof(w->comm) - 1);
			return -EINVAL;
		}
		return 0;
	case WATCH_CGROUP:
		if (strnlen(w->cgroup, sizeof(w->cgroup)) >= sizeof(w->cgroup) || !w->cgroup[0]) {
			set_err(err, errlen, "cgroup path missing or too long");
			return -EINVAL;
		}
		return resolve_cgroup(w, out, err, errlen);
	}
	set_err(err, errlen, "unknown watch kind %d", (int)w->kind);
	return -EINVAL;
}

static int find_accepted(const char *name)
{
	for (int i = 0; i < naccepted; i++)
		if (!strcmp(accepted[i].name, name))
			return i;
	return -1;
}

int ctl_watch_add(const struct watch_spec *w, char *err, size_t errlen)
{
	struct watch_resolved r;
	int ret;

	/* resolve outside the lock: it touches the file system */
	ret = watch_resolve(w, &r, err, errlen);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&lock);
	if (!available) {
		set_err(err, errlen, "per-task watches need the ebpf.task collector: %s", off_reason);
		ret = -EOPNOTSUPP;
	} else if (find_accepted(w->name) >= 0) {
		set_err(err, errlen, "a watch named \"%s\" exists", w->name);
		ret = -EEXIST;
	} else if (naccepted == WATCH_MAX || nqueued == QUEUE_MAX) {
		set_err(err, errlen, "at most %d watches", WATCH_MAX);
		ret = -ENOSPC;
	} else {
		accepted[naccepted++] = r.spec;
		queue[nqueued].del = 0;
		queue[nqueued++].w = r;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

int ctl_watch_del(const char *name)
{
	int i, ret = 0;

	pthread_mutex_lock(&lock);
	i = find_accepted(name);
	if (i < 0 || nqueued == QUEUE_MAX) {
		/* a full queue means the main loop is stuck; refusing beats losing the order */
		ret = i < 0 ? -ENOENT : -EBUSY;
	} else {
		queue[nqueued].del = 1;
		memset(&queue[nqueued].w, 0, sizeof(queue[nqueued].w));
		snprintf(queue[nqueued].w.spec.name, sizeof(queue[nqueued].w.spec.name), "%s", name);
		nqueued++;
		accepted[i] = accepted[--naccepted];
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

int ctl_watch_list(struct watch_spec *out, int n)
{
	int total;

	pthread_mutex_lock(&lock);
	total = naccepted;
	for (int i = 0; i < naccepted && i < n; i++)
		out[i] = accepted[i];
	pthread_mutex_unlock(&lock);
	return total;
}

void watch_set_available(int on, const char *reason)
{
	pthread_mutex_lock(&lock);
	available = on;
	if (!on) {
		snprintf(off_reason, sizeof(off_reason), "%s", reason && reason[0] ? reason : "off");
		naccepted = 0;
		nqueued = 0;
	}
	pthread_mutex_unlock(&lock);
}

int watch_take_pending(struct watch_op *ops, int max)
{
	int n;

	pthread_mutex_lock(&lock);
	n = nqueued < max ? nqueued : max;
	memcpy(ops, queue, (size_t)n * sizeof(*ops));
	memmove(queue, queue + n, (size_t)(nqueued - n) * sizeof(*ops));
	nqueued -= n;
	pthread_mutex_unlock(&lock);
	return n;
}
