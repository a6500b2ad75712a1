// SPDX-License-Identifier: MIT
/*
 * config.c - parse inforegd's configuration: "key = value" lines, '#' comments.
 *
 * The same parser reads the embedded default (cfg_embedded_default, named
 * "<embedded>") and a user's file, so both follow one grammar. Every error is
 * reported as "FILE:LINE:COLUMN: message", the column pointing at the offending key
 * or value (1-based), and a bad file changes nothing in the running configuration
 * (the caller parses into a copy).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

const char cfg_embedded_default[] = "# inforegd embedded default configuration\n"
				    "shm = inforeg\n"
				    "period_ms = 100\n"
				    "history_s = 60\n"
				    "shm_mode = 0644\n"
				    "listen = 127.0.0.1:9470\n"
				    "workers = 1\n"
				    "ebpf = on\n";

void cfg_defaults(struct ird_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->shm_name, "inforeg");
	cfg->period_ms = 100;
	cfg->history_s = 60;
	cfg->shm_mode = 0644;
	cfg->shm_gid = (gid_t)-1;
	cfg->workers = 1;
	strcpy(cfg->nvml_library, "libnvidia-ml.so.1");
	strcpy(cfg->sysfs_root, "/sys");
	cfg->devices_exec_period_ms = 1000;
	cfg->devices_exec_timeout_ms = 5000;
	cfg->devices_stale_ms = 5000;
	cfg->gpu_free_util = 10;
	cfg->gpu_free_mem = 1024.0 * 1024 * 1024;
	strcpy(cfg->source, "<defaults>");
}

struct pctx {
	const char *name;
	int line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int perr(struct pctx *c, int col, const char *fmt, ...)
{
	int n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->name, c->line, col);
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_uint(const char *v, unsigned long min, unsigned long max, int base, unsigned long *out)
{
	char *end;
	if (!*v || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	unsigned long x = strtoul(v, &end, base);
	if (errno || *end || x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

static int parse_double(const char *v, double min, double max, double *out)
{
	char *end;
	if (!*v)
		return -1;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || *end || !(x >= min && x <= max))
		return -1;
	*out = x;
	return 0;
}

/* "17179869184", "16GiB", "512 MiB", "4KiB" -> bytes */
static int parse_bytes(const char *v, double *out)
{
	static const struct {
		const char *suf;
		double mul;
	} sufs[] = {
	    {"", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
	char *end;
	if (!(*v >= '0' && *v <= '9'))
		return -1;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || !(x >= 0 && x < 1e18))
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
		if (!strcmp(end, sufs[i].suf)) {
			*out = x * sufs[i].mul;
			return 0;
		}
	return -1;
}

static int copy_str(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int apply(struct ird_config *cfg, struct pctx *c, const char *key, int kcol, const char *val, int vcol)
{
	unsigned long x;
	if (!strcmp(key, "shm")) {
		if (copy_str(cfg->shm_name, sizeof(cfg->shm_name), val) || !*val || strchr(val, '/') ||
		    val[0] == '.')
			return perr(c, vcol, "shm: expected a name of at most %zu characters without '/'",
				    sizeof(cfg->shm_name) - 1);
	} else if (!strcmp(key, "period_ms")) {
		if (parse_uint(val, 1, 60000, 10, &x))
			return perr(c, vcol, "period_ms: expected an integer from 1 to 60000, got '%s'", val);
		cfg->period_ms = (uint32_t)x;
	} else if (!strcmp(key, "history_s")) {
		if (parse_uint(val, 1, 86400, 10, &x))
			return perr(c, vcol, "history_s: expected an integer from 1 to 86400, got '%s'", val);
		cfg->history_s = (uint32_t)x;
	} else if (!strcmp(key, "shm_mode")) {
		if (parse_uint(val, 0, 0777, 8, &x) || (x & 0022) || !(x & 0400))
			return perr(c, vcol,
				    "shm_mode: expected an octal mode readable by the owner and writable by "
				    "nobody else (e.g. 0644, 0640), got '%s'",
				    val);
		cfg->shm_mode = (uint32_t)x;
	} else if (!strcmp(key, "shm_group")) {
		struct group *g = getgrnam(val);
		if (g)
			cfg->shm_gid = g->gr_gid;
		else if (!parse_uint(val, 0, 0x7fffffff, 10, &x))
			cfg->shm_gid = (gid_t)x;
		else
			return perr(c, vcol, "shm_group: no group named '%s'", val);
	} else if (!strcmp(key, "listen")) {
		if (strncmp(cfg->listen_layer, c->name, sizeof(cfg->listen_layer) - 1) != 0) {
			/* the first listen of a layer replaces the list the layer below set */
			snprintf(cfg->listen_layer, sizeof(cfg->listen_layer), "%s", c->name);
			cfg->n_listen = 0;
		}
		if (!strcmp(val, "none")) {
			cfg->listen_none = 1;
			cfg->n_listen = 0;
		} else {
			if (cfg->n_listen >= CFG_LISTEN_MAX)
				return perr(c, vcol, "listen: at most %d addresses", CFG_LISTEN_MAX);
			const char *colon = strrchr(val, ':');
			if (!colon || !colon[1] || parse_uint(colon + 1, 1, 65535, 10, &x) ||
			    copy_str(cfg->listen[cfg->n_listen], sizeof(cfg->listen[0]), val))
				return perr(c, vcol,
					    "listen: expected ADDR:PORT, [IPV6]:PORT or none, got '%s'", val);
			for (int i = 0; i < cfg->n_listen; i++)
				if (!strcmp(cfg->listen[i], val))
					return perr(c, vcol, "listen: '%s' is given twice", val);
			cfg->listen_none = 0;
			cfg->n_listen++;
		}
	} else if (!strcmp(key, "workers")) {
		if (parse_uint(val, 1, 64, 10, &x))
			return perr(c, vcol, "workers: expected an integer from 1 to 64, got '%s'", val);
		cfg->workers = (int)x;
	} else if (!strcmp(key, "max_connections")) {
		if (parse_uint(val, 0, 1000000, 10, &x))
			return perr(c, vcol,
				    "max_connections: expected an integer from 0 (auto) to 1000000, got '%s'",
				    val);
		cfg->max_connections = (int)x;
	} else if (!strcmp(key, "token_file")) {
		if (copy_str(cfg->token_file, sizeof(cfg->token_file), val))
			return perr(c, vcol, "token_file: path too long");
	} else if (!strcmp(key, "tls_cert")) {
		if (copy_str(cfg->tls_cert, sizeof(cfg->tls_cert), val))
			return perr(c, vcol, "tls_cert: path too long");
	} else if (!strcmp(key, "tls_key")) {
		if (copy_str(cfg->tls_key, sizeof(cfg->tls_key), val))
			return perr(c, vcol, "tls_key: path too long");
	} else if (!strcmp(key, "ebpf")) {
		if (!strcmp(val, "on"))
			cfg->no_ebpf = 0;
		else if (!strcmp(val, "off"))
			cfg->no_ebpf = 1;
		else
			return perr(c, vcol, "ebpf: expected on or off, got '%s'", val);
	} else if (!strcmp(key, "rules_dir")) {
		if (copy_str(cfg->rules_dir, sizeof(cfg->rules_dir), val) || val[0] != '/')
			return perr(c, vcol, "rules_dir: expected an absolute directory path");
	} else if (!strncmp(key, "period.", 7)) {
		const char *name = key + 7;
		size_t nl = strlen(name);
		if (!nl || nl >= sizeof(cfg->periods[0].name) ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._") != nl)
			return perr(c, kcol, "%s: expected period.COLLECTOR (a collector name such as disk)",
				    key);
		if (parse_uint(val, 1, 3600000, 10, &x))
			return perr(c, vcol, "%s: expected milliseconds from 1 to 3600000, got '%s'", key,
				    val);
		struct cfg_period *p = (struct cfg_period *)cfg_period_of(cfg, name);
		if (!p) {
			if (cfg->n_periods >= CFG_PERIODS_MAX)
				return perr(c, kcol, "%s: more than %d period.* keys", key, CFG_PERIODS_MAX);
			p = &cfg->periods[cfg->n_periods++];
			strcpy(p->name, name);
		}
		p->ms = (uint32_t)x;
		snprintf(p->where, sizeof(p->where), "%.*s:%d:%d", CFG_PATH_MAX - 1, c->name, c->line, kcol);
	} else if (!strcmp(key, "cgroup")) {
		if (val[0] != '/')
			return perr(
			    c, vcol,
			    "cgroup: expected an absolute cgroup path such as /kubepods/pod1, got '%s'", val);
		if (strstr(val, "/../") || (strlen(val) >= 3 && !strcmp(val + strlen(val) - 3, "/..")))
			return perr(c, vcol, "cgroup: '..' is not allowed in '%s'", val);
		if (copy_str(cfg->cgroup, sizeof(cfg->cgroup), val))
			return perr(c, vcol, "cgroup: path too long");
	} else if (!strcmp(key, "cgroup_root")) {
		if (copy_str(cfg->cgroup_root, sizeof(cfg->cgroup_root), val))
			return perr(c, vcol, "cgroup_root: path too long");
	} else if (!strcmp(key, "disable")) {
		if (copy_str(cfg->disabled, sizeof(cfg->disabled), val))
			return perr(c, vcol, "disable: list too long");
	} else if (!strcmp(key, "nvml_library")) {
		if (copy_str(cfg->nvml_library, sizeof(cfg->nvml_library), val))
			return perr(c, vcol, "nvml_library: path too long");
	} else if (!strcmp(key, "nvml_period_ms")) {
		if (parse_uint(val, 0, 60000, 10, &x))
			return perr(c, vcol, "nvml_period_ms: expected an integer from 0 to 60000, got '%s'",
				    val);
		cfg->nvml_period_ms = (uint32_t)x;
	} else if (!strcmp(key, "sysfs_root")) {
		if (copy_str(cfg->sysfs_root, sizeof(cfg->sysfs_root), val) || val[0] != '/')
			return perr(c, vcol,
				    "sysfs_root: expected an absolute path of at most %zu characters",
				    sizeof(cfg->sysfs_root) - 1);
	} else if (!strcmp(key, "devices_exec")) {
		if (copy_str(cfg->devices_exec, sizeof(cfg->devices_exec), val))
			return perr(c, vcol, "devices_exec: command line longer than %zu characters",
				    sizeof(cfg->devices_exec) - 1);
		if (!strcmp(val, "none"))
			cfg->devices_exec[0] = 0;
	} else if (!strcmp(key, "devices_exec_period_ms")) {
		if (parse_uint(val, 100, 3600000, 10, &x))
			return perr(
			    c, vcol,
			    "devices_exec_period_ms: expected an integer from 100 to 3600000, got '%s'", val);
		cfg->devices_exec_period_ms = (uint32_t)x;
	} else if (!strcmp(key, "devices_exec_timeout_ms")) {
		if (parse_uint(val, 10, 600000, 10, &x))
			return perr(
			    c, vcol,
			    "devices_exec_timeout_ms: expected an integer from 10 to 600000, got '%s'", val);
		cfg->devices_exec_timeout_ms = (uint32_t)x;
	} else if (!strcmp(key, "devices_stale_ms")) {
		if (parse_uint(val, 100, 3600000, 10, &x))
			return perr(c, vcol,
				    "devices_stale_ms: expected an integer from 100 to 3600000, got '%s'",
				    val);
		cfg->devices_stale_ms = (uint32_t)x;
	} else if (!strcmp(key, "gpu_free_util")) {
		double d;
		if (parse_double(val, 0, 100, &d))
			return perr(c, vcol, "gpu_free_util: expected a percentage from 0 to 100, got '%s'",
				    val);
		cfg->gpu_free_util = d;
	} else if (!strcmp(key, "gpu_free_mem")) {
		double d;
		if (parse_bytes(val, &d))
			return perr(
			    c, vcol,
			    "gpu_free_mem: expected bytes with an optional KiB, MiB or GiB suffix, got '%s'",
			    val);
		cfg->gpu_free_mem = d;
	} else if (!strcmp(key, "watch")) {
		/* watch = NAME KIND:VALUE */
		char name[WATCH_NAME_MAX + 1] = "";
		const char *sp = val;
		while (*sp && !isspace((unsigned char)*sp))
			sp++;
		size_t nl = (size_t)(sp - val);
		while (isspace((unsigned char)*sp))
			sp++;
		if (nl == 0 || nl > WATCH_NAME_MAX - 1 || !*sp)
			return perr(c, vcol, "watch: expected 'NAME pid:PID|comm:NAME|cgroup:PATH'");
		memcpy(name, val, nl);
		name[nl] = 0;
		if (cfg->n_watches >= WATCH_MAX)
			return perr(c, vcol, "watch: at most %d watches", WATCH_MAX);
		for (int i = 0; i < cfg->n_watches; i++)
			if (!strcmp(cfg->watches[i].name, name))
				return perr(c, vcol, "watch: '%s' is defined twice", name);
		char werr[160];
		if (watch_spec_parse(name, sp, &cfg->watches[cfg->n_watches], werr, sizeof(werr)) < 0)
			return perr(c, vcol + (int)(sp - val), "watch: %s", werr);
		cfg->n_watches++;
	} else {
		return perr(c, kcol, "unknown key '%s'", key);
	}
	return 0;
}

int cfg_parse(struct ird_config *cfg, const char *name, const char *text, char *err, size_t errlen)
{
	struct pctx c = {.name = name, .line = 0, .err = err, .errlen = errlen};
	const char *p = text;
	while (*p) {
		c.line++;
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[1024];
		if (len >= sizeof(line))
			return perr(&c, 1, "line longer than %zu characters", sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (eol ? 1 : 0);

		for (size_t i = 0; i < len; i++)
			if (line[i] == '\0' ||
			    (line[i] != '\t' && (unsigned char)line[i] < 0x20 && line[i] != '\r'))
				return perr(&c, (int)i + 1, "control character in configuration");
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			continue;
		int kcol = (int)(s - line) + 1;
		char *k = s;
		while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == '.'))
			s++;
		char *kend = s;
		while (isspace((unsigned char)*s))
			s++;
		if (kend == k)
			return perr(&c, kcol, "expected a key");
		if (*s != '=')
			return perr(&c, (int)(s - line) + 1, "expected '=' after '%.*s'", (int)(kend - k), k);
		*kend = 0;
		s++;
		while (isspace((unsigned char)*s))
			s++;
		char *v = s, *vend = v + strlen(v);
		while (vend > v && isspace((unsigned char)vend[-1]))
			*--vend = 0;
		int vcol = (int)(v - line) + 1;
		if (!*v)
			return perr(&c, vcol, "missing value for '%s'", k);
		int e = apply(cfg, &c, k, kcol, v, vcol);
		if (e)
			return e;
	}
	snprintf(cfg->source, sizeof(cfg->source), "%s", name);
	return 0;
}

int cfg_load_file(struct ird_config *cfg, const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (a configuration must be one)", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > (1 << 20)) {
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		close(fd);
		return -EINVAL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	int e = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(buf);
		return -e;
	}
	buf[n] = 0;
	if (memchr(buf, 0, (size_t)n)) {
		size_t off = strlen(buf);
		int line = 1, col = 1;
		for (size_t i = 0; i < off; i++, col++)
			if (buf[i] == '\n')
				line++, col = 0;
		snprintf(err, errlen, "%s:%d:%d: NUL byte in configuration", path, line, col);
		free(buf);
		return -EINVAL;
	}
	int r = cfg_parse(cfg, path, buf, err, errlen);
	free(buf);
	return r;
}

const struct cfg_period *cfg_period_of(const struct ird_config *cfg, const char *name)
{
	for (int i = 0; cfg && i < cfg->n_periods; i++)
		if (!strcmp(cfg->periods[i].name, name))
			return &cfg->periods[i];
	return NULL;
}

const char *cfg_host_prefix(const struct ird_config *cfg)
{
	return cfg && cfg->cgroup[0] ? "host." : "";
}

int cfg_collector_disabled(const struct ird_config *cfg, const char *name)
{
	size_t n = strlen(name);
	const char *p = cfg->disabled;
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if ((size_t)(e - p) == n && !strncmp(p, name, n))
			return 1;
		p = e;
	}
	return 0;
}
