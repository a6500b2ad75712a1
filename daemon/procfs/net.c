// SPDX-License-Identifier: MIT
/*
 * net.c - "net": per-interface traffic rates from /proc/net/dev.
 *
 * Every interface the file lists in the daemon's network namespace is exported,
 * loopback and virtual ones included (lo, bridges, veths, tunnels): deciding which
 * ones "count" is a policy for the reader, and summing them double-counts (a bridge
 * and its ports carry the same bytes), so no total is published. Per interface:
 * bytes, packets, errors and drops per second, received and sent (kind RATE).
 *
 * The interface set is read at init and again at each declare. An interface that
 * disappears reads NaN (no series vanishes under a reader between layouts); one
 * that appears makes sample() call layout_changed(), and the next declare picks it
 * up, dropping the vanished ones. Counters of interfaces present before and after a
 * re-declaration are carried over, so their rates do not blank. A counter that goes
 * backwards (interface re-created under the same name) reads NaN for one period.
 * Interface names become label values as they are, except the few bytes the
 * registry refuses in a label ('"', '\\', control characters), which become '_'.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

/* ---- parsing ----------------------------------------------------------------- */

/* Column of each exported counter among the 16 of a /proc/net/dev line. */
static const int net_col[NET_NOUT] = {
    [NET_RX_BYTES] = 0, [NET_RX_PACKETS] = 1, [NET_RX_ERRORS] = 2,  [NET_RX_DROPS] = 3,
    [NET_TX_BYTES] = 8, [NET_TX_PACKETS] = 9, [NET_TX_ERRORS] = 10, [NET_TX_DROPS] = 11,
};
#define NET_COLS_NEEDED 12

/* "  eth0: 63120572 1884 0 0 0 0 0 0 91528 1217 0 0 0 0 0 0". The two header lines
 * have no ':' and are refused here like any other odd line. */
static int parse_line(const char *p, const char *eol, const char **name, size_t *nlen, uint64_t ctr[NET_NOUT])
{
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	if (!colon)
		return -EINVAL;
	size_t n = (size_t)(colon - p);
	/* names cannot hold blanks, ':' or '/' (dev_valid_name); '|' marks a header */
	for (size_t i = 0; i < n; i++)
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '|' || p[i] == '/')
			return -EINVAL;
	if (n == 0 || n >= COL_DEV_NAME_MAX)
		return -EINVAL;
	uint64_t col[NET_COLS_NEEDED];
	const char *q = colon + 1;
	for (int i = 0; i < NET_COLS_NEEDED; i++)
		if (col_scan_u64(&q, eol, &col[i]) < 0)
			return -EINVAL;
	for (int i = 0; i < NET_NOUT; i++)
		ctr[i] = col[net_col[i]];
	*name = p;
	*nlen = n;
	return 0;
}

int netdev_enumerate(struct col_devset *s, const char *text)
{
	struct col_devtab fresh = {0};
	const char *cur = text, *p, *eol, *name;
	size_t n;
	uint64_t ctr[NET_NOUT];
	while (col_line_next(&cur, &p, &eol)) {
		if (parse_line(p, eol, &name, &n, ctr) < 0 || col_devtab_find(&fresh, name, n))
			continue;
		if (!col_devtab_add(&fresh, name, n)) {
			col_devtab_free(&fresh);
			return -ENOMEM;
		}
	}
	col_devtab_replace(&s->tab, &fresh);
	s->unknown = 0;
	return (int)s->tab.n;
}

int netdev_update(struct col_devset *s, const char *text, double dt)
{
	const char *cur = text, *p, *eol, *name;
	size_t n;
	uint64_t ctr[NET_NOUT];
	int lines = 0;

	col_devtab_begin(&s->tab);
	s->unknown = 0;
	while (text && col_line_next(&cur, &p, &eol)) {
		if (parse_line(p, eol, &name, &n, ctr) < 0)
			continue;
		lines++;
		struct col_dev *d = col_devtab_find(&s->tab, name, n);
		if (!d) {
			s->unknown = 1;
			continue;
		}
		if (d->have_cur)
			continue; /* listed twice: garbage, keep the first */
		memcpy(d->cur, ctr, sizeof(ctr));
		d->have_cur = 1;
	}
	for (unsigned i = 0; i < s->tab.n; i++) {
		struct col_dev *d = &s->tab.dev[i];
		for (int k = 0; k < NET_NOUT; k++)
			d->out[k] = d->have_cur && d->have_prev ? col_rate(d->cur[k], d->prev[k], dt) : NAN;
	}
	return lines ? 0 : text ? -EINVAL : -ENODATA;
}

void netdev_fini(struct col_devset *s)
{
	col_devtab_free(&s->tab);
}

/* ---- the collector ------------------------------------------------------------ */

static const struct col_dev_series net_series[NET_NOUT] = {
    [NET_RX_BYTES] = {"net.rx.bytes_per_s", "bytes/s", "Bytes received per second"},
    [NET_TX_BYTES] = {"net.tx.bytes_per_s", "bytes/s", "Bytes sent per second"},
    [NET_RX_PACKETS] = {"net.rx.packets_per_s", "packets/s", "Packets received per second"},
    [NET_TX_PACKETS] = {"net.tx.packets_per_s", "packets/s", "Packets sent per second"},
    [NET_RX_ERRORS] = {"net.rx.errors_per_s", "errors/s", "Receive errors per second"},
    [NET_TX_ERRORS] = {"net.tx.errors_per_s", "errors/s", "Transmit errors per second"},
    [NET_RX_DROPS] = {"net.rx.drops_per_s", "drops/s", "Received packets dropped per second"},
    [NET_TX_DROPS] = {"net.tx.drops_per_s", "drops/s", "Packets dropped before sending per second"},
};

/* the cumulative counters, named as node_exporter's node_network_*_total */
static const struct col_dev_counter net_counters[] = {
    {"net.receive.bytes", "bytes", "Bytes received (cumulative)", NET_RX_BYTES, 1},
    {"net.transmit.bytes", "bytes", "Bytes sent (cumulative)", NET_TX_BYTES, 1},
    {"net.receive.packets", "packets", "Packets received (cumulative)", NET_RX_PACKETS, 1},
    {"net.transmit.packets", "packets", "Packets sent (cumulative)", NET_TX_PACKETS, 1},
    {"net.receive.errs", "count", "Receive errors (cumulative)", NET_RX_ERRORS, 1},
    {"net.transmit.errs", "count", "Transmit errors (cumulative)", NET_TX_ERRORS, 1},
    {"net.receive.drop", "count", "Received packets dropped (cumulative)", NET_RX_DROPS, 1},
    {"net.transmit.drop", "count", "Packets dropped before sending (cumulative)", NET_TX_DROPS, 1},
};

#define NET_PATH "/proc/net/dev"

static const struct col_devsrc net_src = {
    .path = NET_PATH,
    .what = "interface",
    .no_lines = "no interface line",
    .bytes_per_line = 256,
    .enumerate = netdev_enumerate,
    .update = netdev_update,
    .fini = netdev_fini,
    .series = net_series,
    .nout = NET_NOUT,
    .counters = net_counters,
    .ncounters = sizeof(net_counters) / sizeof(net_counters[0]),
};

static int net_init(struct collector *c, struct col_env *env)
{
	return col_devsrc_init(c, env, &net_src);
}

const struct collector_ops procfs_net_ops = {
    .name = "net",
    .default_period_ms = 1000, /* slow-moving: read once a second unless asked */
    .init = net_init,
    .declare = col_devsrc_declare,
    .sample = col_devsrc_sample,
    .fini = col_devsrc_fini,
};
