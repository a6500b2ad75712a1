// SPDX-License-Identifier: MIT
/*
 * registry.c - the series directory under construction: names, units, kinds, help.
 *
 * Collectors declare series here; the main loop copies the result into the shm
 * directory when it publishes a layout. Names are validated once, here, so that every
 * name in shared memory is a dotted lowercase identifier with Prometheus-style labels.
 * It also holds the two hooks collector.h gives collectors to talk back to the main
 * loop without depending on it (col_error, layout_changed), so that every room's
 * collectors depend on this file and never on loop.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

/* name: [a-z][a-z0-9_]*(\.[a-z0-9_]+)* then optionally {k="v",...} with k [a-z_][a-z0-9_]* */
int reg_name_valid(const char *s)
{
	const char *p = s;
	if (!(*p >= 'a' && *p <= 'z'))
		return 0;
	int dot = 0;
	for (; *p && *p != '{'; p++) {
		if (*p == '.') {
			if (dot)
				return 0; /* empty component */
			dot = 1;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
			dot = 0;
		} else {
			return 0;
		}
	}
	if (dot)
		return 0;
	if (!*p)
		return 1;
	p++; /* '{' */
	for (;;) {
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			return 0;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
			p++;
		if (*p++ != '=' || *p++ != '"')
			return 0;
		while (*p && *p != '"') {
			if (*p == '\\' || *p == '\n' || (unsigned char)*p < 0x20)
				return 0; /* keep label values trivially quotable */
			p++;
		}
		if (*p++ != '"')
			return 0;
		if (*p == '}')
			return p[1] == '\0';
		if (*p++ != ',')
			return 0;
	}
}

int reg_series(struct series_reg *reg, const char *name, const char *unit, enum inforeg_kind kind,
	       const char *help)
{
	if (strlen(name) >= INFOREG_NAME_MAX)
		return -ENAMETOOLONG;
	if (!reg_name_valid(name) || strlen(unit ? unit : "") >= INFOREG_UNIT_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < reg->count; i++)
		if (strcmp(reg->defs[i].name, name) == 0)
			return -EEXIST;
	if (reg->count == reg->cap) {
		uint32_t cap = reg->cap ? reg->cap * 2 : 64;
		struct series_def *d = realloc(reg->defs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		reg->defs = d;
		reg->cap = cap;
	}
	struct series_def *d = &reg->defs[reg->count];
	memset(d, 0, sizeof(*d));
	strcpy(d->name, name);
	snprintf(d->unit, sizeof(d->unit), "%s", unit ? unit : "");
	snprintf(d->help, sizeof(d->help), "%s", help ? help : "");
	d->kind = kind;
	return (int)reg->count++;
}

int reg_seriesf(struct series_reg *reg, const char *unit, enum inforeg_kind kind, const char *help,
		const char *fmt, ...)
{
	char name[INFOREG_NAME_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= INFOREG_NAME_MAX)
		return -ENAMETOOLONG;
	return reg_series(reg, name, unit, kind, help);
}

void reg_free(struct series_reg *reg)
{
	free(reg->defs);
	reg->defs = NULL;
	reg->count = reg->cap = 0;
}

/* ---- collector hooks ------------------------------------------------------ */

/* The main loop and the collectors run on one thread: a plain flag is enough. */
static int layout_dirty;

void layout_changed(void)
{
	layout_dirty = 1;
}

int layout_take_change(void)
{
	int was = layout_dirty;
	layout_dirty = 0;
	return was;
}

void col_error(struct collector *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->last_errmsg, sizeof(c->last_errmsg), fmt, ap);
	va_end(ap);
	c->errmsg_fresh = 1;
}
