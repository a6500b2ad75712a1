// SPDX-License-Identifier: MIT
/*
 * devtab.c - the table of named devices (network interfaces, disks) whose counters
 * become rates, and the per-device collector over one /proc table file built on it
 * (net.c and disk.c are that collector with their own parsers).
 *
 * Devices are kept in an array in file order; lookups start where the previous one
 * ended, so a tick over an unchanged file costs one compare per line. A device that
 * disappears reads NaN; one that appears asks for a re-layout once.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/* ---- named devices --------------------------------------------------------- */

static int dev_is(const struct col_dev *d, const char *name, size_t len)
{
	return strncmp(d->name, name, len) == 0 && d->name[len] == '\0';
}

struct col_dev *col_devtab_find(struct col_devtab *t, const char *name, size_t len)
{
	if (len >= COL_DEV_NAME_MAX)
		return NULL;
	for (unsigned k = 0; k < t->n; k++) {
		unsigned i = (t->hint + k) % t->n;
		if (dev_is(&t->dev[i], name, len)) {
			t->hint = i + 1 == t->n ? 0 : i + 1;
			return &t->dev[i];
		}
	}
	return NULL;
}

struct col_dev *col_devtab_add(struct col_devtab *t, const char *name, size_t len)
{
	if (len == 0 || len >= COL_DEV_NAME_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	struct col_dev *nd = realloc(t->dev, (t->n + 1) * sizeof(*nd));
	if (!nd) {
		errno = ENOMEM;
		return NULL;
	}
	t->dev = nd;
	struct col_dev *d = &t->dev[t->n++];
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	d->keep = 1;
	for (int i = 0; i < COL_DEV_NCTR; i++) {
		d->out[i] = NAN;
		d->idx[i] = -1;
		d->cidx[i] = -1;
	}
	return d;
}

void col_devtab_begin(struct col_devtab *t)
{
	for (unsigned i = 0; i < t->n; i++) {
		struct col_dev *d = &t->dev[i];
		/* a device missing last tick has no previous: its next rate would span two ticks */
		d->have_prev = d->have_cur;
		if (d->have_cur)
			memcpy(d->prev, d->cur, sizeof(d->prev));
		d->have_cur = 0;
	}
	t->hint = 0;
}

void col_devtab_replace(struct col_devtab *t, struct col_devtab *fresh)
{
	for (unsigned i = 0; i < fresh->n; i++) {
		struct col_dev *nd = &fresh->dev[i];
		struct col_dev *od = col_devtab_find(t, nd->name, strlen(nd->name));
		if (!od)
			continue;
		/* same name, same counters: rates continue across the re-declaration */
		nd->have_cur = od->have_cur;
		nd->have_prev = od->have_prev;
		memcpy(nd->cur, od->cur, sizeof(nd->cur));
		memcpy(nd->prev, od->prev, sizeof(nd->prev));
		memcpy(nd->out, od->out, sizeof(nd->out));
	}
	col_devtab_free(t);
	*t = *fresh;
	t->hint = 0;
	fresh->dev = NULL;
	fresh->n = 0;
}

void col_devtab_free(struct col_devtab *t)
{
	free(t->dev);
	t->dev = NULL;
	t->n = 0;
	t->hint = 0;
}

int col_devtab_declare(struct collector *c, struct series_reg *reg, struct col_devtab *t,
		       const struct col_dev_series *series, int nout, const char *what)
{
	char label[COL_DEV_NAME_MAX];
	for (unsigned i = 0; i < t->n; i++) {
		struct col_dev *d = &t->dev[i];
		for (int k = 0; k < nout; k++)
			d->idx[k] = -1;
		if (!d->keep || col_label_value(label, sizeof(label), d->name) < 0)
			continue;
		for (int k = 0; k < nout; k++) {
			int e = reg_seriesf(reg, series[k].unit, INFOREG_KIND_RATE, series[k].help,
					    "%s{dev=\"%s\"}", series[k].name, label);
			if (e == -EEXIST || e == -EINVAL || e == -ENAMETOOLONG) {
				/* two names that map to one label, or one the registry refuses:
				 * that device goes unexported rather than the whole collector */
				col_error(c, "%s \"%s\" not exported: %s", what, label, strerror(-e));
				break;
			}
			if (e < 0)
				return e;
			d->idx[k] = e;
		}
	}
	return 0;
}

int col_devtab_declare_counters(struct collector *c, struct series_reg *reg, struct col_devtab *t,
				const struct col_dev_counter *ctrs, int nctr, const char *what)
{
	char label[COL_DEV_NAME_MAX];
	for (unsigned i = 0; i < t->n; i++) {
		struct col_dev *d = &t->dev[i];
		for (int k = 0; k < nctr; k++)
			d->cidx[k] = -1;
		/* a device whose rates could not be declared gets no counters either */
		if (!d->keep || d->idx[0] < 0 || col_label_value(label, sizeof(label), d->name) < 0)
			continue;
		for (int k = 0; k < nctr; k++) {
			int e = reg_seriesf(reg, ctrs[k].unit, INFOREG_KIND_COUNTER, ctrs[k].help,
					    "%s{device=\"%s\"}", ctrs[k].name, label);
			if (e == -EEXIST || e == -EINVAL || e == -ENAMETOOLONG) {
				col_error(c, "%s \"%s\": counters not exported: %s", what, label,
					  strerror(-e));
				break;
			}
			if (e < 0)
				return e;
			d->cidx[k] = e;
		}
	}
	return 0;
}

void col_devtab_put_counters(const struct col_devtab *t, const struct col_dev_counter *ctrs, int nctr,
			     double *values)
{
	for (unsigned i = 0; i < t->n; i++) {
		const struct col_dev *d = &t->dev[i];
		for (int k = 0; k < nctr; k++)
			if (d->cidx[k] >= 0)
				values[d->cidx[k]] =
				    d->have_cur ? (double)d->cur[ctrs[k].ctr] * ctrs[k].scale : NAN;
	}
}

void col_devtab_put(const struct col_devtab *t, int nout, double *values)
{
	for (unsigned i = 0; i < t->n; i++) {
		const struct col_dev *d = &t->dev[i];
		for (int k = 0; k < nout; k++)
			if (d->idx[k] >= 0)
				values[d->idx[k]] = d->out[k];
	}
}

/* ---- the per-device table collector (net, disk) ---------------------------------- */

struct devsrc_priv {
	const struct col_devsrc *src;
	struct col_file *f;
	struct col_devset *s; /* the parser's state */
	int asked;	      /* layout_changed() called; cleared by declare */
	char *buf;	      /* init's and declare's own reads */
	size_t cap;
};

int col_devsrc_init(struct collector *c, struct col_env *env, const struct col_devsrc *src)
{
	struct devsrc_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->priv = p;
	p->src = src;
	p->s = calloc(1, sizeof(*p->s));
	if (!p->s)
		return -ENOMEM;
	ssize_t len = col_slurp(src->path, &p->buf, &p->cap);
	int e = len < 0 ? (int)len : src->enumerate(p->s, p->buf);
	if (e >= 0) {
		/* size for every line, skipped devices included */
		size_t lines = 0;
		for (const char *q = p->buf; *q; q++)
			lines += *q == '\n';
		p->f = col_file_open(env->files, src->path, 1024 + lines * src->bytes_per_line);
		if (!p->f)
			e = -errno;
	}
	if (e < 0) {
		snprintf(c->off_reason, sizeof(c->off_reason), "%s: %s", src->path, strerror(-e));
		return e;
	}
	return 0;
}

int col_devsrc_declare(struct collector *c, struct series_reg *reg)
{
	struct devsrc_priv *p = c->priv;
	const struct col_devsrc *src = p->src;
	/* re-read the set: new devices join, vanished ones go */
	if (col_slurp(src->path, &p->buf, &p->cap) >= 0) {
		int e = src->enumerate(p->s, p->buf);
		if (e < 0)
			return e;
	}
	p->asked = 0;
	int e = col_devtab_declare(c, reg, &p->s->tab, src->series, src->nout, src->what);
	if (e >= 0 && src->counters)
		e = col_devtab_declare_counters(c, reg, &p->s->tab, src->counters, src->ncounters, src->what);
	return e;
}

int col_devsrc_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct devsrc_priv *p = c->priv;
	const struct col_devsrc *src = p->src;
	int e;
	if (p->f->len < 0) {
		e = (int)p->f->len;
		src->update(p->s, NULL, now->dt);
		col_error(c, "reading %s: %s", src->path, strerror(-e));
	} else if ((e = src->update(p->s, p->f->buf, now->dt)) < 0) {
		col_error(c, "%s: %s", src->path, src->no_lines);
	}
	col_devtab_put(&p->s->tab, src->nout, values);
	if (src->counters)
		col_devtab_put_counters(&p->s->tab, src->counters, src->ncounters, values);
	if (p->s->unknown && !p->asked) {
		p->asked = 1;
		layout_changed();
	}
	return e;
}

void col_devsrc_fini(struct collector *c)
{
	struct devsrc_priv *p = c->priv;
	if (!p)
		return;
	if (p->s)
		p->src->fini(p->s);
	free(p->s);
	free(p->buf);
	free(p);
	c->priv = NULL;
}
