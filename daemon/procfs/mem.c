// SPDX-License-Identifier: MIT
/*
 * mem.c - "mem": memory and swap in bytes from /proc/meminfo.
 *
 * Every value is a gauge in bytes (the file's kB are KiB). mem.used is what free(1)
 * of procps-ng 4 (Debian 12's) prints: MemTotal - MemAvailable, the memory that
 * cannot be given to a new task without swapping. Only where the kernel prints no
 * MemAvailable (before 3.14) does it fall back to the classic definition, MemTotal -
 * MemFree - Buffers - Cached - SReclaimable (MemTotal - MemFree when that is
 * negative), as free(1) did before it knew MemAvailable.
 *
 * A field the kernel does not print reads NaN, and so does mem.used when one of its
 * terms is missing. The file is about 1.5 KB and stateless:
 * one parse per tick, no previous sample needed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "procfs.h"

/* ---- parsing ----------------------------------------------------------------- */

/* key lengths are compile-time constants: a tick compares ~55 lines against these,
 * so a line is rejected by length and first byte before any memcmp */
#define MK(k, o)                                                                                             \
	{                                                                                                    \
		k, sizeof(k) - 1, o                                                                          \
	}
static const struct {
	const char *key;
	size_t len;
	enum mem_out out;
} mem_keys[] = {
    MK("MemTotal", MEM_TOTAL),	   MK("MemFree", MEM_FREE),  MK("MemAvailable", MEM_AVAILABLE),
    MK("Buffers", MEM_BUFFERS),	   MK("Cached", MEM_CACHED), MK("SReclaimable", MEM_SRECLAIMABLE),
    MK("Shmem", MEM_SHMEM),	   MK("Dirty", MEM_DIRTY),   MK("SwapTotal", MEM_SWAP_TOTAL),
    MK("SwapFree", MEM_SWAP_FREE),
};
#undef MK

/* Index in mem_keys of the key KEY[0..KLEN), or -1. */
static int mem_key(const char *key, size_t klen)
{
	for (size_t k = 0; k < sizeof(mem_keys) / sizeof(mem_keys[0]); k++)
		if (mem_keys[k].len == klen && mem_keys[k].key[0] == key[0] &&
		    memcmp(mem_keys[k].key, key, klen) == 0)
			return (int)k;
	return -1;
}

/* "Key:   1234 kB": the value in bytes. */
static int parse_line(const char *p, const char *eol, const char **key, size_t *klen, double *v)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	if (!colon || colon == p)
		return -EINVAL;
	const char *q = colon + 1;
	uint64_t x;
	if (col_scan_u64(&q, eol, &x) < 0)
		return -EINVAL;
	while (q < eol && *q == ' ')
		q++;
	*key = p;
	*klen = (size_t)(colon - p);
	/* kB in meminfo means KiB; a bare number (HugePages_*) is a count */
	*v = col_starts_with(q, eol, "kB") ? (double)x * 1024.0 : (double)x;
	return 0;
}

int meminfo_parse(const char *text, double out[MEM_NOUT])
{
	for (int i = 0; i < MEM_NOUT; i++)
		out[i] = NAN;
	const char *cur = text, *p, *eol;
	while (col_line_next(&cur, &p, &eol)) {
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		int k = colon && colon > p ? mem_key(p, (size_t)(colon - p)) : -1;
		const char *key;
		size_t klen;
		double v;
		if (k < 0 || parse_line(p, eol, &key, &klen, &v) < 0)
			continue;
		/* a repeated key is garbage: the first one stands */
		if (isnan(out[mem_keys[k].out]))
			out[mem_keys[k].out] = v;
	}
	double total = out[MEM_TOTAL], mfree = out[MEM_FREE];
	if (isnan(total) || isnan(mfree)) {
		for (int i = 0; i < MEM_NOUT; i++)
			out[i] = NAN;
		return -EINVAL;
	}
	/* NaN if a term is missing (a cut read): a used without SReclaimable would be
	 * a plausible wrong number. available > total or free > total is no meminfo. */
	double avail = out[MEM_AVAILABLE], used;
	if (!isnan(avail)) {
		used = avail <= total ? total - avail : NAN;
	} else {
		used = total - mfree - out[MEM_BUFFERS] - out[MEM_CACHED] - out[MEM_SRECLAIMABLE];
		if (used < 0)
			used = total - mfree;
	}
	out[MEM_USED] = used >= 0 ? used : NAN;
	double st = out[MEM_SWAP_TOTAL], sf = out[MEM_SWAP_FREE];
	out[MEM_SWAP_USED] = isnan(st) || isnan(sf) ? NAN : sf < st ? st - sf : 0;
	return 0;
}

/* ---- the collector ------------------------------------------------------------ */

static const struct {
	const char *name, *help;
} mem_series[MEM_NOUT] = {
    [MEM_TOTAL] = {"mem.total", "Usable RAM (MemTotal)"},
    [MEM_AVAILABLE] = {"mem.available",
		       "RAM available for new work without swapping, kernel estimate (MemAvailable)"},
    [MEM_FREE] = {"mem.free", "Unused RAM (MemFree)"},
    [MEM_USED] = {"mem.used", "MemTotal - MemAvailable, the used of free(1) (procps-ng 4)"},
    [MEM_BUFFERS] = {"mem.buffers", "Block device buffers (Buffers)"},
    [MEM_CACHED] = {"mem.cached", "Page cache, tmpfs and shmem included (Cached)"},
    [MEM_SRECLAIMABLE] = {"mem.sreclaimable", "Reclaimable slab: dentries, inodes... (SReclaimable)"},
    [MEM_SHMEM] = {"mem.shmem", "Shared memory and tmpfs contents (Shmem)"},
    [MEM_DIRTY] = {"mem.dirty", "Memory waiting to be written back to disk (Dirty)"},
    [MEM_SWAP_TOTAL] = {"mem.swap.total", "Swap space (SwapTotal)"},
    [MEM_SWAP_FREE] = {"mem.swap.free", "Unused swap space (SwapFree)"},
    [MEM_SWAP_USED] = {"mem.swap.used", "SwapTotal - SwapFree"},
};

struct mem_priv {
	struct col_file *f;
	const char *pfx; /* "host." under a cgroup scope (cgroup.c), else "" */
	int idx[MEM_NOUT];
	double out[MEM_NOUT];
};

static int mem_init(struct collector *c, struct col_env *env)
{
	struct mem_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->priv = p;
	p->pfx = cfg_host_prefix(env->cfg);
	p->f = col_file_open(env->files, "/proc/meminfo", 4096);
	if (!p->f) {
		int e = -errno;
		snprintf(c->off_reason, sizeof(c->off_reason), "/proc/meminfo: %s", strerror(-e));
		return e;
	}
	return 0;
}

static int mem_declare(struct collector *c, struct series_reg *reg)
{
	struct mem_priv *p = c->priv;
	for (int i = 0; i < MEM_NOUT; i++) {
		int e = reg_seriesf(reg, "bytes", INFOREG_KIND_GAUGE, mem_series[i].help, "%s%s", p->pfx,
				    mem_series[i].name);
		if (e < 0)
			return e;
		p->idx[i] = e;
	}
	return 0;
}

static int mem_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct mem_priv *p = c->priv;
	int e;
	(void)now;
	if (p->f->len < 0) {
		e = (int)p->f->len;
		for (int i = 0; i < MEM_NOUT; i++)
			p->out[i] = NAN;
		col_error(c, "reading /proc/meminfo: %s", strerror(-e));
	} else if ((e = meminfo_parse(p->f->buf, p->out)) < 0) {
		col_error(c, "/proc/meminfo: no MemTotal or MemFree line");
	}
	for (int i = 0; i < MEM_NOUT; i++)
		values[p->idx[i]] = p->out[i];
	return e;
}

static void mem_fini(struct collector *c)
{
	free(c->priv);
	c->priv = NULL;
}

const struct collector_ops procfs_mem_ops = {
    .name = "mem",
    .init = mem_init,
    .declare = mem_declare,
    .sample = mem_sample,
    .fini = mem_fini,
};
