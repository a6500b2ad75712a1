/* SPDX-License-Identifier: MIT */
/*
 * nodes.c - node name -> the base URL of that node's inforegd: the only cluster state
 * the extender keeps. Two sources, the file first:
 *   --nodes FILE          lines "NAME URL" ('#' starts a comment), e.g.
 *                         "gpu-node-1 http://10.0.0.7:9470";
 *   --node-pattern URL    "{node}" replaced by the node's name, e.g.
 *                         "http://{node}.nodes.example:9470" (cluster DNS), or
 *                         "{address}" by the InternalIP of the Node object the request
 *                         carries (kube-scheduler sends whole Nodes unless
 *                         nodeCacheCapable), e.g. "http://{address}:9470" for an
 *                         inforegd DaemonSet on the host network.
 * A name only enters a URL through the pattern if it is a DNS subdomain (what
 * Kubernetes allows for node names), an address only if it is an IP address, so a
 * request cannot steer the extender elsewhere.
 * Loaded once at start; the table is read-only afterwards and shared by all workers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "extender.h"

struct ext_nodemap {
	char *pattern;
	const char *hole; /* "{node}" or "{address}", in pattern */
	size_t n;
	char **name;
	char **url;
};

void ext_nodemap_free(struct ext_nodemap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->name[i]);
		free(m->url[i]);
	}
	free(m->name);
	free(m->url);
	free(m->pattern);
	free(m);
}

static int is_url(const char *u)
{
	return (strncmp(u, "http://", 7) == 0 && u[7]) || (strncmp(u, "https://", 8) == 0 && u[8]);
}

/* Lowercase letters, digits, '-' and '.', 1..253 characters: a DNS subdomain. */
static int is_dns_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 253 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n && s[0] != '-' &&
	       s[0] != '.';
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (s = strstr(s, what); s; s = strstr(s + 1, what))
		n++;
	return n;
}

static int add(struct ext_nodemap *m, const char *name, const char *url)
{
	char **nn = realloc(m->name, (m->n + 1) * sizeof(*nn)), **nu;
	size_t ul = strlen(url);

	if (!nn)
		return -ENOMEM;
	m->name = nn;
	nu = realloc(m->url, (m->n + 1) * sizeof(*nu));
	if (!nu)
		return -ENOMEM;
	m->url = nu;
	while (ul && url[ul - 1] == '/')
		ul--;
	m->name[m->n] = strdup(name);
	m->url[m->n] = strndup(url, ul);
	if (!m->name[m->n] || !m->url[m->n]) {
		free(m->name[m->n]);
		free(m->url[m->n]);
		return -ENOMEM;
	}
	m->n++;
	return 0;
}

static int load_file(struct ext_nodemap *m, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "re");
	char line[1024];
	int lineno = 0, rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p, *name, *url, *extra, *save = NULL;
		size_t i;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d:1: line too long", file, lineno);
			rc = -EINVAL;
			break;
		}
		p = strchr(line, '#');
		if (p)
			*p = '\0';
		name = strtok_r(line, " \t\r\n", &save);
		if (!name)
			continue;
		url = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if (!url || extra || !is_url(url)) {
			snprintf(err, errlen, "%s:%d:%d: want 'NODE-NAME http[s]://HOST:PORT'", file, lineno,
				 (int)((url ? url : name) - line) + 1);
			rc = -EINVAL;
			break;
		}
		for (i = 0; i < m->n; i++)
			if (strcmp(m->name[i], name) == 0)
				break;
		if (i < m->n) {
			snprintf(err, errlen, "%s:%d:1: node '%.64s' listed twice", file, lineno, name);
			rc = -EINVAL;
			break;
		}
		rc = add(m, name, url);
		if (rc < 0) {
			snprintf(err, errlen, "%s: out of memory", file);
			break;
		}
	}
	if (!rc && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", file);
	}
	fclose(f);
	return rc;
}

struct ext_nodemap *ext_nodemap_load(const char *file, const char *pattern, char *err, size_t errlen)
{
	struct ext_nodemap *m = calloc(1, sizeof(*m));
	int rc;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (!file && !pattern) {
		snprintf(err, errlen, "no node addresses: give --nodes FILE or --node-pattern URL");
		goto inval;
	}
	if (pattern) {
		int holes = count(pattern, "{node}") + count(pattern, "{address}");

		if (holes != 1 || !is_url(pattern)) {
			snprintf(err, errlen,
				 "--node-pattern '%.100s': want one {node} or {address} in an http[s]:// URL",
				 pattern);
			goto inval;
		}
		m->hole = strstr(pattern, "{node}") ? "{node}" : "{address}";
		m->pattern = strdup(pattern);
		if (!m->pattern) {
			snprintf(err, errlen, "out of memory");
			ext_nodemap_free(m);
			errno = ENOMEM;
			return NULL;
		}
	}
	if (file) {
		rc = load_file(m, file, err, errlen);
		if (rc < 0) {
			ext_nodemap_free(m);
			errno = -rc;
			return NULL;
		}
	}
	return m;
inval:
	ext_nodemap_free(m);
	errno = EINVAL;
	return NULL;
}

int ext_nodemap_url(const struct ext_nodemap *m, const char *node, const char *address, char *buf, size_t len)
{
	const char *at, *fill = node;
	char v6[INET6_ADDRSTRLEN + 2];
	unsigned char bin[16];
	size_t i;
	int n;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->name[i], node) == 0) {
			n = snprintf(buf, len, "%s", m->url[i]);
			return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
		}
	}
	if (!m->pattern)
		return -ENOENT;
	if (strcmp(m->hole, "{address}") == 0) {
		if (!address)
			return -ENXIO;
		if (inet_pton(AF_INET6, address, bin) == 1) {
			snprintf(v6, sizeof(v6), "[%s]", address);
			fill = v6;
		} else if (inet_pton(AF_INET, address, bin) == 1) {
			fill = address;
		} else {
			return -EINVAL;
		}
	} else if (!is_dns_name(node)) {
		return -EINVAL;
	}
	at = strstr(m->pattern, m->hole);
	n = snprintf(buf, len, "%.*s%s%s", (int)(at - m->pattern), m->pattern, fill, at + strlen(m->hole));
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	for (i = (size_t)n; i > 0 && buf[i - 1] == '/'; i--)
		buf[i - 1] = '\0';
	return 0;
}

size_t ext_nodemap_count(const struct ext_nodemap *m)
{
	return m->n;
}

const char *ext_nodemap_name(const struct ext_nodemap *m, size_t i)
{
	return i < m->n ? m->name[i] : NULL;
}
