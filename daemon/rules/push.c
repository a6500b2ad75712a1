/* SPDX-License-Identifier: MIT */
/*
 * push.c - the `push` rule kind: series that producers outside the daemon set, over
 * REST (POST /v1/push, through ctl_push_values) or over a Unix datagram socket beside
 * the shm object (/dev/shm/NAME.sock, one "name value" line per datagram), so a
 * vendor agent on the node feeds the registry without HTTP.
 *
 *   {"name":"npu","kind":"push","names":["npu.temp","npu.power"],"ttl_ms":5000}
 *   {"name":"vendor","kind":"push","pattern":"vendor.*","max":32,"ttl_ms":2000}
 *
 * A rule declares its names up front (names) or admits the names that match a glob
 * (pattern, fnmatch) up to max of them; each admitted name re-lays the registry out
 * once. A value for a name no running push rule declares (or past a pattern's max) is
 * refused: 404 over REST, counted as rejected on the socket, so producers cannot make
 * the layout churn. A value reads fresh while younger than ttl_ms, then STALE; NaN
 * (unknown) before the first one.
 *
 * Threads: REST workers set values (ctl_push_values), the main loop drains the socket
 * (at most PUSH_DRAIN_MAX datagrams a tick, non-blocking; the first push rule's
 * sample() of a tick does it for all) and copies values into the sample. One mutex
 * (push_lock) guards the registered rules' names and values and the counters; nothing
 * under it blocks. The socket exists while at least one push rule runs. Its mode is
 * shm_mode plus write for owner and group where shm_mode lets them read (connecting
 * needs write permission): shm_mode 0640 with shm_group G lets G's members push, and
 * nobody else but the daemon's user.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl.h"
#include "daemon.h"
#include "exec_parse.h"
#include "object.h"
#include "rules.h"

#define PUSH_NAMES_MAX RULE_SERIES_MAX
#define PUSH_DGRAM_MAX 512
#define PUSH_BATCH     32
#define PUSH_DRAIN_MAX (32 * PUSH_BATCH) /* datagrams per tick; the rest wait in the socket */

struct push_name {
	char name[INFOREG_NAME_MAX];
	double value;
	uint64_t ts_ns; /* CLOCK_MONOTONIC when set; 0: never */
};

struct push_rule {
	/* parsed */
	char pattern[INFOREG_NAME_MAX]; /* "" for the list form */
	int max;			/* names the rule may hold */
	uint64_t ttl_ns;
	char unit[INFOREG_UNIT_MAX];
	/* under push_lock once registered */
	struct push_name *names; /* [max] */
	int n;			 /* list form: all; pattern: admitted so far */
	int relayout;		 /* a name was admitted since the last declare */
	int registered;
	/* main loop only */
	int ndecl;
	int idx[PUSH_NAMES_MAX];
};

static pthread_mutex_t push_lock = PTHREAD_MUTEX_INITIALIZER;
static struct push_rule *reg_rules[RULES_MAX]; /* push_lock */
static int nreg;			       /* push_lock */
static struct {
	uint64_t rest, sock, rejected, malformed; /* push_lock */
	char last_rejected[INFOREG_NAME_MAX];
} stats;
/* the socket: main loop only (opened and closed by start/free, drained by sample) */
static int sock_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static uint64_t last_drain_ns;

static int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A series name as the registry takes it: a letter first, then exec_key_valid's syntax. */
static int series_name_ok(const char *s)
{
	return s[0] >= 'a' && s[0] <= 'z' && strlen(s) < INFOREG_NAME_MAX && exec_key_valid(s);
}

/* ---- parse -------------------------------------------------------------------------- */

static int push_parse(struct rule *r, json_t *j, char *err, size_t errlen)
{
	static const char *const fields[] = {"names", "pattern", "max", "ttl_ms", "unit", NULL};
	struct push_rule *p = calloc(1, sizeof(*p));
	const char *pattern = NULL, *unit = NULL;
	double ttl = 0, max = 0;
	json_t *names, *x;
	size_t i;
	int e;

	if (!p)
		return set_err(err, errlen, "out of memory");
	r->priv = p;
	if ((e = rule_json_only(j, fields, err, errlen)) < 0 ||
	    (e = rule_json_string(j, "pattern", 0, &pattern, err, errlen)) < 0 ||
	    (e = rule_json_number(j, "ttl_ms", 1, &ttl, err, errlen)) < 0 ||
	    (e = rule_json_string(j, "unit", 0, &unit, err, errlen)) < 0)
		return e;
	if (ttl != floor(ttl) || ttl < 1 || ttl > 86400000)
		return set_err(err, errlen,
			       "ttl_ms: expected a whole number of milliseconds from 1 to 86400000");
	p->ttl_ns = (uint64_t)ttl * 1000000ull;
	if (unit && strlen(unit) >= sizeof(p->unit))
		return set_err(err, errlen, "unit: at most %zu characters", sizeof(p->unit) - 1);
	snprintf(p->unit, sizeof(p->unit), "%s", unit ? unit : "");

	names = json_object_get(j, "names");
	if (!!names == !!pattern)
		return set_err(err, errlen, "names: give either names (a list) or pattern (with max)");
	if (pattern) {
		if (!pattern[0] || strlen(pattern) >= sizeof(p->pattern))
			return set_err(err, errlen, "pattern: expected 1 to %zu characters",
				       sizeof(p->pattern) - 1);
		snprintf(p->pattern, sizeof(p->pattern), "%s", pattern);
		if ((e = rule_json_number(j, "max", 1, &max, err, errlen)) < 0)
			return e;
		if (max != floor(max) || max < 1 || max > PUSH_NAMES_MAX)
			return set_err(err, errlen, "max: expected a whole number from 1 to %d",
				       PUSH_NAMES_MAX);
		p->max = (int)max;
	} else {
		if (json_object_get(j, "max"))
			return set_err(err, errlen, "max: only with pattern");
		if (!json_is_array(names) || !json_array_size(names) ||
		    json_array_size(names) > PUSH_NAMES_MAX)
			return set_err(err, errlen, "names: expected an array of 1 to %d series names",
				       PUSH_NAMES_MAX);
		p->max = (int)json_array_size(names);
	}
	p->names = calloc((size_t)p->max, sizeof(*p->names));
	if (!p->names)
		return set_err(err, errlen, "out of memory");
	json_array_foreach(names, i, x)
	{
		const char *s = json_string_value(x);
		if (!s || !series_name_ok(s))
			return set_err(
			    err, errlen,
			    "names[%zu]: expected a series name (lowercase dotted, a letter first, "
			    "optional {label=\"value\"})",
			    i);
		for (int k = 0; k < p->n; k++)
			if (!strcmp(p->names[k].name, s))
				return set_err(err, errlen, "names[%zu]: \"%.64s\" given twice", i, s);
		snprintf(p->names[p->n++].name, INFOREG_NAME_MAX, "%s", s);
	}
	return 0;
}

/* ---- the socket (main loop) ------------------------------------------------------------ */

static int sock_open(const struct ird_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), SHM_DIR "/%s.sock", cfg->shm_name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return set_err(err, errlen, "socket path for shm %s is too long", cfg->shm_name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, "push socket: %s", strerror(e));
		return -e;
	}
	/* we hold the shm name's lock: a socket file left here is a dead daemon's */
	unlink(sa.sun_path);
	mode_t mode = (mode_t)(cfg->shm_mode & 0777);
	mode |= (mode & 0440) >> 1; /* read -> write too, for owner and group */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, mode) < 0 ||
	    (cfg->shm_gid != (gid_t)-1 && chown(sa.sun_path, (uid_t)-1, cfg->shm_gid) < 0)) {
		int e = errno;
		set_err(err, errlen, "push socket %s: %s", sa.sun_path, strerror(e));
		close(fd);
		unlink(sa.sun_path);
		return -e;
	}
	sock_fd = fd;
	snprintf(sock_path, sizeof(sock_path), "%s", sa.sun_path);
	return 0;
}

static void sock_close(void)
{
	if (sock_fd < 0)
		return;
	close(sock_fd);
	unlink(sock_path);
	sock_fd = -1;
	sock_path[0] = '\0';
}

/* ---- the registered names (push_lock held) ---------------------------------------------- */

/*
 * The slot for NAME: a declared or admitted name, else (ADMIT) a new one admitted by
 * a pattern with room, unless TAKEN (NAME is a series of the layout already: another
 * rule's or a built-in's). PENDING[i] counts admissions a caller has planned but not
 * made (the check pass of ctl_push_values); NULL when admitting for real.
 */
static struct push_name *lookup(const char *name, int admit, int taken, int *pending)
{
	for (int i = 0; i < nreg; i++)
		for (int k = 0; k < reg_rules[i]->n; k++)
			if (!strcmp(reg_rules[i]->names[k].name, name))
				return &reg_rules[i]->names[k];
	if (!admit || taken || !series_name_ok(name))
		return NULL;
	for (int i = 0; i < nreg; i++) {
		struct push_rule *p = reg_rules[i];
		int used = p->n + (pending ? pending[i] : 0);
		if (!p->pattern[0] || used >= p->max || fnmatch(p->pattern, name, 0) != 0)
			continue;
		if (pending) {
			pending[i]++;
			return &p->names[0]; /* a placeholder: the caller only checks for NULL */
		}
		struct push_name *s = &p->names[p->n++];
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->ts_ns = 0;
		p->relayout = 1;
		return s;
	}
	return NULL;
}

/* 1 if a registered pattern matches NAME (push_lock held). */
static int pattern_matches(const char *name)
{
	for (int i = 0; i < nreg; i++)
		if (reg_rules[i]->pattern[0] && fnmatch(reg_rules[i]->pattern, name, 0) == 0)
			return 1;
	return 0;
}

static void reject(const char *name)
{
	stats.rejected++;
	snprintf(stats.last_rejected, sizeof(stats.last_rejected), "%s", name);
}

/* One datagram: "name value" lines. */
static void take_dgram(char *buf, size_t len, const struct rule_tick *t)
{
	buf[len] = '\0';
	char *save, *line;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *s2, *a = strtok_r(line, " \t\r", &s2), *b = strtok_r(NULL, " \t\r", &s2);
		double v;
		if (!a)
			continue;
		if (!b || strtok_r(NULL, " \t\r", &s2) || exec_number_parse(b, &v) < 0 ||
		    !series_name_ok(a)) {
			stats.malformed++;
			continue;
		}
		struct push_name *s = lookup(a, 1, rule_series_find(t, a) >= 0, NULL);
		if (!s) {
			reject(a);
			continue;
		}
		s->value = v;
		s->ts_ns = t->now->mono_ns;
		stats.sock++;
	}
}

/* Reads what producers sent since the last tick (main loop, once a tick). */
static void drain(const struct rule_tick *t)
{
	uint64_t now = t->now->mono_ns;
	static char bufs[PUSH_BATCH][PUSH_DGRAM_MAX + 1];
	struct mmsghdr msgs[PUSH_BATCH];
	struct iovec iov[PUSH_BATCH];

	if (sock_fd < 0 || now == last_drain_ns)
		return;
	last_drain_ns = now;
	for (int got = 0; got < PUSH_DRAIN_MAX;) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < PUSH_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = PUSH_DGRAM_MAX};
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(sock_fd, msgs, PUSH_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		pthread_mutex_lock(&push_lock);
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				stats.malformed++; /* longer than PUSH_DGRAM_MAX: not one line */
			else
				take_dgram(bufs[i], msgs[i].msg_len, t);
		}
		pthread_mutex_unlock(&push_lock);
		got += n;
		if (n < PUSH_BATCH)
			break;
	}
}

/* ---- the control path (REST threads) ----------------------------------------------------- */

int ctl_push_values(const struct push_value *v, int n, char *err, size_t errlen)
{
	uint64_t now_ns = ird_now_mono();
	int pending[RULES_MAX] = {0}, e = 0;
	for (int i = 0; i < n; i++)
		if (!series_name_ok(v[i].name))
			return set_err(err, errlen, "\"%.64s\" is not a series name", v[i].name);
		else if (!isfinite(v[i].value))
			return set_err(err, errlen, "%.64s: not a finite number", v[i].name);
	pthread_mutex_lock(&push_lock);
	/* all or nothing: check every name first, then set */
	for (int i = 0; i < n && !e; i++)
		if (!lookup(v[i].name, 1, v[i].exists, pending)) {
			if (v[i].exists && pattern_matches(v[i].name)) {
				set_err(err, errlen, "\"%.64s\" is a series of another rule or a built-in",
					v[i].name);
				e = -EEXIST;
			} else {
				set_err(err, errlen,
					"no push rule declares \"%.64s\" (or its pattern is full)",
					v[i].name);
				e = -ENOENT;
			}
			reject(v[i].name);
		}
	for (int i = 0; i < n && !e; i++) {
		struct push_name *s = lookup(v[i].name, 1, v[i].exists, NULL);
		s->value = v[i].value;
		s->ts_ns = now_ns;
		stats.rest++;
	}
	pthread_mutex_unlock(&push_lock);
	return e;
}

json_t *push_status_json(void)
{
	pthread_mutex_lock(&push_lock);
	json_t *o = json_pack("{s:s?, s:i, s:I, s:I, s:I, s:I, s:s?}", "socket",
			      sock_path[0] ? sock_path : NULL, "rules", nreg, "accepted_rest",
			      (json_int_t)stats.rest, "accepted_socket", (json_int_t)stats.sock, "rejected",
			      (json_int_t)stats.rejected, "malformed", (json_int_t)stats.malformed,
			      "last_rejected", stats.last_rejected[0] ? stats.last_rejected : NULL);
	pthread_mutex_unlock(&push_lock);
	return o;
}

/* ---- start, declare, sample, free (main loop) --------------------------------------------- */

static int push_start(struct rule *r, const struct rule_env *env, char *err, size_t errlen)
{
	struct push_rule *p = r->priv;
	int e;
	if (sock_fd < 0 && (e = sock_open(env->cfg, err, errlen)) < 0)
		return e;
	pthread_mutex_lock(&push_lock);
	if (nreg == RULES_MAX) {
		pthread_mutex_unlock(&push_lock);
		return set_err(err, errlen, "too many push rules");
	}
	reg_rules[nreg++] = p;
	p->registered = 1;
	pthread_mutex_unlock(&push_lock);
	return 0;
}

static int push_declare(struct rule *r, struct series_reg *reg)
{
	struct push_rule *p = r->priv;
	char help[INFOREG_HELP_MAX];
	int e = 0;
	snprintf(help, sizeof(help), "pushed (rule %s)", r->name);
	pthread_mutex_lock(&push_lock);
	p->relayout = 0;
	p->ndecl = 0;
	for (int i = 0; i < p->n && e >= 0;) {
		e = rule_declare(r, reg, p->names[i].name, p->unit, INFOREG_KIND_GAUGE, help);
		if (e == -EEXIST && p->pattern[0]) {
			/* a producer's name that another rule or a built-in has: not admitted after
			 * all (a list name that collides is the rule's own error, reported) */
			reject(p->names[i].name);
			memmove(&p->names[i], &p->names[i + 1], (size_t)(p->n - i - 1) * sizeof(p->names[0]));
			p->n--;
			e = 0;
			continue;
		}
		if (e >= 0)
			p->idx[p->ndecl++] = e;
		i++;
	}
	pthread_mutex_unlock(&push_lock);
	return e < 0 ? e : 0;
}

static int push_sample(struct rule *r, const struct rule_tick *t, double *values)
{
	struct push_rule *p = r->priv;
	uint64_t now = t->now->mono_ns;
	double stale = rule_value(INFOREG_STALE);
	drain(t);
	pthread_mutex_lock(&push_lock);
	if (p->relayout) {
		p->relayout = 0;
		layout_changed(); /* declare() picks up the admitted names after this tick */
	}
	for (int i = 0; i < p->ndecl; i++) {
		const struct push_name *s = &p->names[i];
		/* a REST thread may have stamped it just after this tick's clock was read */
		int old = now > s->ts_ns && now - s->ts_ns > p->ttl_ns;
		values[p->idx[i]] = !s->ts_ns ? NAN : old ? stale : s->value;
	}
	pthread_mutex_unlock(&push_lock);
	return 0;
}

static void push_free(struct rule *r)
{
	struct push_rule *p = r->priv;
	if (!p)
		return;
	if (p->registered) {
		pthread_mutex_lock(&push_lock);
		for (int i = 0; i < nreg; i++)
			if (reg_rules[i] == p) {
				reg_rules[i] = reg_rules[--nreg];
				break;
			}
		int last = nreg == 0;
		pthread_mutex_unlock(&push_lock);
		if (last)
			sock_close(); /* started rules are freed by the main loop, like start */
	}
	free(p->names);
	free(p);
	r->priv = NULL;
}

const struct rule_kind_ops rule_push_ops = {
    .kind = "push",
    .phase = RULE_PHASE_COLLECT,
    .parse = push_parse,
    .start = push_start,
    .declare = push_declare,
    .sample = push_sample,
    .free = push_free,
};
