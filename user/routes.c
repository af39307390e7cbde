// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * routes.c - build and validate the route model (routes.h) from an inventory's
 * "proxies" variable, for one host:
 *
 *   proxies:
 *     target: {group: G}                  this host must be in G
 *     routes:
 *       NAME:
 *         mode: http|tcp                  layer 4 either way
 *         address: "*" | IP                IPv4 or IPv6
 *         family: ipv4|ipv6|dual          extension, default ipv4 (ipv6
 *                                         for an IPv6 address)
 *         port: 1..65535                  int, string or "{{ ref }}"
 *         proto: tcp|udp                  extension, default tcp
 *         nat: snat|dnat                  extension, default snat
 *         syn_cookies: auto|on|off        extension, default auto (TCP only)
 *         destination:
 *           group: {name: G2, port: P}    backends: G2's hosts at P
 *           balance: roundrobin
 *           options: [httplog|tcplog ...]
 *           check: {inter, timeout, rise, fall, port}   extension
 *           check: {type: tcp|http, method, uri, version, host,
 *                   expect_status}   HTTP check (option httpchk)
 *         allow: [CIDR ...]                 extension: source policy
 *         deny: [CIDR ...]
 *         rate_limit: {rate: N, per: 1s, burst: B}   extension
 *     allow: [CIDR ...]                     extension: pool-wide policy
 *     deny: [CIDR ...]
 *   egress: {...}                           extension: egress NAT (egress.c)
 *
 * Every problem becomes a diagnostic at the node it is about; a route with
 * an error is left out of the set, and the caller refuses the set anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/types.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "http_check.h"
#include "policy.h"
#include "maglev.h"
#include "portier.h"
#include "routes.h"
#include "template.h"
#include "util.h"

#define PORT_MIN 1
#define PORT_MAX 65535
/* HAProxy's health-check defaults. */
#define CHECK_INTER_DEFAULT_MS PT_CHECK_INTER_DEFAULT_MS
#define CHECK_RISE_DEFAULT PT_CHECK_RISE_DEFAULT
#define CHECK_FALL_DEFAULT PT_CHECK_FALL_DEFAULT
/* Bounds for check settings: a day, and a count nobody needs more of. */
#define CHECK_TIME_MAX_MS (24U * 3600 * 1000)
#define CHECK_COUNT_MAX PT_CHECK_COUNT_MAX
/* Host names listed in a message before "...". */
#define HINT_NAMES_MAX 8

#define MS_PER_S 1000U
#define MS_PER_MIN (60U * MS_PER_S)
#define MS_PER_H (60U * MS_PER_MIN)

/* A host's addresses, looked up once for all routes: per family (index
 * 0 IPv4, 1 IPv6), 0 or the negative errno of the lookup. */
struct host_addr {
	bool done[2];		/* looked up */
	int err[2];
	struct pt_addr addr[2];
	bool reported;		/* a failure of the name itself was reported */
	bool ansible_host;	/* name is ansible_host's, not the host's name */
	struct pt_pos pos;	/* ansible_host's position, else the host's */
	char name[256];		/* what was looked up (ansible_host or the name) */
};

/* State of one build. */
struct build {
	const struct pt_inventory *inv;
	const struct pt_build_opts *o;
	struct pt_diags *d;
	const struct pt_host *self;
	struct pt_val *vars;		/* this host's resolved variables */
	struct pt_routeset *rs;
	struct host_addr *addrs;	/* cache, indexed by pt_host.index */
	bool backend_failed;		/* the current route lost a backend */
	bool listen_failed;		/* the current route's address was refused:
					 * its family is a guess, its backends'
					 * family not reported */
};

/* A route being built, with what the duplicate check needs to know. */
struct cand {
	struct pt_route r;
	bool ok;		/* no error of its own */
	bool listen_ok;		/* address, port and proto are valid */
	enum pt_family fam;	/* the route's family key */
};

static const char *const route_keys[] = { "mode", "address", "port", "proto", "nat",
					  "syn_cookies", "destination", "allow", "deny", "rate_limit",
					  "family", NULL };
static const char *const dest_keys[] = { "group", "balance", "maglev_size", "options", "check",
					  NULL };
static const char *const group_keys[] = { "name", "port", NULL };
static const char *const hc_keys[] = { "inter", "timeout", "rise", "fall", "port", "type",
				       "method", "uri", "version", "host", "expect_status",
				       NULL };
/* The keys of an HTTP check (type: http), from "http_keys + 1" on. */
static const char *const http_keys[] = { "type", "method", "uri", "version", "host",
					 "expect_status", NULL };
static const char *const proxies_keys[] = { "target", "routes", "allow", "deny", NULL };
static const char *const rate_keys[] = { "rate", "per", "burst", NULL };
static const char *const target_keys[] = { "group", NULL };

/* ---- text forms -------------------------------------------------------- */

static const char *const syn_cookies_names[] = { "auto", "on", "off" };

enum pt_syn_cookies pt_route_syn_cookies(const struct pt_route *r)
{
	return r->proto == IPPROTO_TCP ? r->syn_cookies : PT_SYN_COOKIES_OFF;
}

const char *pt_syn_cookies_name(enum pt_syn_cookies c)
{
	return (unsigned int)c < 3 ? syn_cookies_names[c] : "unknown";
}

int pt_syn_cookies_parse(const char *s, enum pt_syn_cookies *out)
{
	for (unsigned int i = 0; i < 3; i++)
		if (!strcmp(s, syn_cookies_names[i])) {
			*out = (enum pt_syn_cookies)i;
			return 0;
		}
	return -EINVAL;
}

const char *pt_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:	/* egress echo flows */
		return "icmp";
	}
	return "unknown";
}

bool pt_host_has_addr(const struct pt_addr *addr, void *arg)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	(void)arg;
	if ((addr->family != AF_INET && addr->family != AF_INET6) || getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != addr->family)
			continue;
		if (addr->family == AF_INET)
			found = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				addr->v4.s_addr;
		else
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
					&addr->v6, sizeof(addr->v6));
	}
	freeifaddrs(ifa);
	return found;
}

static const char *const family_names[] = { "ipv4", "ipv6", "dual" };

const char *pt_family_name(enum pt_family f)
{
	return (unsigned int)f < ARRAY_SIZE(family_names) ? family_names[f] : "unknown";
}

int pt_family_parse(const char *s, enum pt_family *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(family_names); i++)
		if (!strcmp(s, family_names[i])) {
			*out = (enum pt_family)i;
			return 0;
		}
	return -EINVAL;
}

int pt_route_family(const struct pt_route *r)
{
	if (r->family)
		return r->family == AF_INET6 ? AF_INET6 : AF_INET;
	return !r->wildcard && r->addr.family == AF_INET6 ? AF_INET6 : AF_INET;
}

const char *pt_route_listen_str(const struct pt_route *r, char *buf, size_t len)
{
	char a[PT_ADDRPORT_STRLEN];
	bool label = r->dual || (r->wildcard && pt_route_family(r) == AF_INET6);

	if (r->wildcard)
		snprintf(a, sizeof(a), "*:%u", r->port);
	else
		pt_addrport_str(&r->addr, r->port, a, sizeof(a));
	snprintf(buf, len, "%s/%s%s%s%s", a, pt_proto_name(r->proto), label ? " (" : "",
		 label ? (pt_route_family(r) == AF_INET6 ? "ipv6" : "ipv4") : "",
		 label ? ")" : "");
	return buf;
}

const char *pt_addr6_unusable(const struct pt_addr *a)
{
	const uint8_t *x = a->v6.s6_addr;

	if (a->family != AF_INET6)
		return NULL;
	if (IN6_IS_ADDR_UNSPECIFIED(&a->v6))
		return "the unspecified address";
	if (x[0] == 0xfe && (x[1] & 0xc0) == 0x80)
		return "link-local (fe80::/10: it names no one host beyond its link)";
	if (x[0] == 0xff)
		return "multicast (ff00::/8)";
	if (IN6_IS_ADDR_V4MAPPED(&a->v6))
		return "IPv4-mapped (::ffff:0:0/96: write the IPv4 address instead)";
	if (IN6_IS_ADDR_LOOPBACK(&a->v6))
		return "the loopback address";
	return NULL;
}

const char *const pt_option_names[PT_N_OPTIONS] = { "httplog", "tcplog" };

const char *pt_options_str(unsigned int opts, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < PT_N_OPTIONS && off < len; i++)
		if (opts & (1U << i))
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "",
					pt_option_names[i]);
	if (!off)
		snprintf(buf, len, "-");
	return buf;
}

const char *pt_nat_name(enum pt_nat nat)
{
	switch (nat) {
	case PT_NAT_SNAT:
		return "snat";
	case PT_NAT_DNAT:
		return "dnat";
	}
	return "unknown";
}

static const char *const balance_names[] = { "roundrobin", "maglev", "source" };

const char *pt_balance_name(unsigned int b)
{
	return b < sizeof(balance_names) / sizeof(balance_names[0]) ? balance_names[b] :
								     "unknown";
}

int pt_balance_parse(const char *s, enum pt_balance *out)
{
	for (unsigned int i = 0; i < sizeof(balance_names) / sizeof(balance_names[0]); i++)
		if (!strcmp(s, balance_names[i])) {
			*out = (enum pt_balance)i;
			return 0;
		}
	return -EINVAL;
}

const char *pt_addr_str(const struct pt_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, &a->v6, buf, len))
		snprintf(buf, len, "-");
	return buf;
}

const char *pt_addrport_str(const struct pt_addr *a, uint16_t port, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 pt_addr_str(a, addr, sizeof(addr)), port);
	return buf;
}

/* A port as written after the colon: 1-65535, digits only. */
static bool addrport_port(const char *s, uint16_t *port)
{
	unsigned long p;

	if (!pt_parse_uint(s, 1, UINT16_MAX, &p))
		return false;
	*port = (uint16_t)p;
	return true;
}

/* The first n bytes of s as an address of family af into *out. */
static bool addrport_host(const char *s, size_t n, int af, struct pt_addr *out)
{
	char host[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(af, host, &out->v6) != 1)
		return false;
	out->family = af;
	return true;
}

int pt_addrport_parse(const char *s, bool port_optional, struct pt_addr *addr,
		      uint16_t *port, char *err, size_t err_len)
{
	const char *want = port_optional ? "ADDR, ADDR:PORT or [IPv6ADDR]:PORT" :
					   "ADDR:PORT or [IPv6ADDR]:PORT";
	const char *colon = strrchr(s, ':'), *p;
	struct pt_addr tmp;

	memset(addr, 0, sizeof(*addr));
	*port = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			snprintf(err, err_len, "'%s' has no ']' closing its IPv6 address; write %s",
				 s, want);
			return -EINVAL;
		}
		if (!addrport_host(s + 1, (size_t)(close - s - 1), AF_INET6, addr)) {
			snprintf(err, err_len,
				 "'%s': '%.*s' in brackets is not an IPv6 address (brackets are "
				 "for IPv6 only); write %s", s, (int)(close - s - 1), s + 1, want);
			return -EINVAL;
		}
		p = close + 1;
		if (!*p && port_optional)
			return 0;
		if (*p != ':' || !p[1]) {
			memset(addr, 0, sizeof(*addr));
			snprintf(err, err_len, "'%s' has no ':PORT' after ']'; write %s", s, want);
			return -EINVAL;
		}
		colon = p;
	} else if (colon && strchr(s, ':') != colon) {
		/* Two colons or more, no brackets: all of it is an IPv6 address. */
		if (port_optional && addrport_host(s, strlen(s), AF_INET6, addr))
			return 0;
		memset(addr, 0, sizeof(*addr));
		if (addrport_host(s, (size_t)(colon - s), AF_INET6, &tmp))
			snprintf(err, err_len,
				 "'%s' is ambiguous: an IPv6 address with a port is written in "
				 "brackets, [ADDR]:PORT (such as [2001:db8::1]:80)", s);
		else if (addrport_host(s, strlen(s), AF_INET6, &tmp))
			snprintf(err, err_len, "'%s' has no port; write [%s]:PORT (port 1-65535)",
				 s, s);
		else
			snprintf(err, err_len, "'%s' is not an address and port; write %s", s,
				 want);
		return -EINVAL;
	} else {
		size_t n = colon ? (size_t)(colon - s) : strlen(s);

		if (!addrport_host(s, n, AF_INET, addr)) {
			snprintf(err, err_len,
				 "'%s': '%.*s' is not an IPv4 or IPv6 address; write %s", s, (int)n,
				 s, want);
			return -EINVAL;
		}
		if (!colon) {
			if (port_optional)
				return 0;
			memset(addr, 0, sizeof(*addr));
			snprintf(err, err_len, "'%s' has no port; write %s (port 1-65535)", s,
				 want);
			return -EINVAL;
		}
	}
	if (!addrport_port(colon + 1, port)) {
		memset(addr, 0, sizeof(*addr));
		snprintf(err, err_len, "'%s': port '%s' is not a number from 1 to 65535", s,
			 colon + 1);
		return -EINVAL;
	}
	return 0;
}

int pt_addr_parse(const char *s, struct pt_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int pt_addr_cmp(const struct pt_addr *a, const struct pt_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == AF_INET)
		return memcmp(&a->v4, &b->v4, sizeof(a->v4));
	if (a->family == AF_INET6)
		return memcmp(&a->v6, &b->v6, sizeof(a->v6));
	return 0;
}

bool pt_addr_equal(const struct pt_addr *a, const struct pt_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	if (a->family == AF_INET6)
		return !memcmp(&a->v6, &b->v6, sizeof(a->v6));
	return true;
}

const struct pt_route *pt_routeset_find(const struct pt_routeset *rs, const char *name)
{
	for (size_t i = 0; i < rs->n_routes; i++)
		if (!strcmp(rs->routes[i].name, name))
			return &rs->routes[i];
	return NULL;
}

static void route_clear(struct pt_route *r)
{
	free(r->name);
	free(r->mode);
	free(r->dest_group);
	for (size_t i = 0; i < r->n_backends; i++)
		free(r->backends[i].host);
	free(r->backends);
	pt_policy_free(&r->policy);
	memset(r, 0, sizeof(*r));
}

void pt_routeset_free(struct pt_routeset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_routes; i++)
		route_clear(&rs->routes[i]);
	free(rs->routes);
	pt_policy_free(&rs->pool_policy);
	pt_egress_free(rs->egress);
	free(rs->egress);
	free(rs->host);
	free(rs->target_group);
	free(rs);
}

/* ---- small parsers ----------------------------------------------------- */

bool pt_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

bool pt_parse_duration(const char *s, unsigned int *ms)
{
	static const struct {
		const char *unit;
		unsigned int ms;
	} units[] = { { "", 1 }, { "ms", 1 }, { "s", MS_PER_S }, { "m", MS_PER_MIN },
		      { "h", MS_PER_H } };
	size_t digits = strspn(s, "0123456789");
	unsigned long v = 0;
	char num[16];

	if (!digits || digits >= sizeof(num))
		return false;
	memcpy(num, s, digits);
	num[digits] = '\0';
	if (!pt_parse_uint(num, 1, CHECK_TIME_MAX_MS, &v))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(s + digits, units[i].unit))
			continue;
		if (v > CHECK_TIME_MAX_MS / units[i].ms)
			return false;
		*ms = (unsigned int)(v * units[i].ms);
		return true;
	}
	return false;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* "a, b, c" */
static char *join_list(const char *const *list)
{
	char *s = xstrdup("");

	for (; *list; list++) {
		char *n = xasprintf("%s%s%s", s, *s ? ", " : "", *list);

		free(s);
		s = n;
	}
	return s;
}

/* Warn about keys of map m that are not in known. */
static void check_keys(struct build *b, const struct pt_val *m, const char *const *known,
		       const char *where, const char *route)
{
	char *names;

	if (!m || m->type != PT_VAL_MAP)
		return;
	for (size_t i = 0; i < m->n; i++) {
		if (in_list(known, m->map[i].key))
			continue;
		names = join_list(known);
		pt_warn(b->d, &m->map[i].key_pos, route,
			"unknown key '%s' in %s is ignored; known keys: %s. Check the spelling",
			m->map[i].key, where, names);
		free(names);
	}
}

/* ---- values ------------------------------------------------------------ */

/* The value of key in map m, templates resolved (a new reference). *node
 * receives the node as written (for positions). NULL if absent or after an
 * error; *err tells which. */
static struct pt_val *get(struct build *b, const struct pt_val *m, const char *key,
			  const char *route, const struct pt_val **node, bool *err)
{
	struct pt_val *v = m && m->type == PT_VAL_MAP ? pt_val_get(m, key) : NULL;
	struct pt_val *r;

	*node = v;
	*err = false;
	if (!v)
		return NULL;
	r = pt_template_resolve(v, route, b->vars, b->d);
	if (!r)
		*err = true;
	return r;
}

/* A resolved value that must be a scalar: its text, or NULL after an error
 * at node's position. */
static const char *want_scalar(struct build *b, const struct pt_val *v,
			       const struct pt_val *node, const char *route, const char *what)
{
	if (v->type == PT_VAL_SCALAR && v->str)
		return v->str;
	pt_error(b->d, &node->pos, route, "%s must be a single value, not a %s; write it as %s",
		 what, pt_val_type_name(v->type), what);
	return NULL;
}

/* A text value at m.key (templates resolved), copied; NULL if absent or bad. */
static char *get_text(struct build *b, const struct pt_val *m, const char *key,
		      const char *route, const char *what, const struct pt_val **node, bool *err)
{
	struct pt_val *v = get(b, m, key, route, node, err);
	const char *s;
	char *out = NULL;

	if (!v)
		return NULL;
	s = want_scalar(b, v, *node, route, what);
	if (s)
		out = xstrdup(s);
	else
		*err = true;
	pt_val_unref(v);
	return out;
}

/* A port at m.key: 0 if absent, -1 after an error, else the port. */
static long get_port(struct build *b, const struct pt_val *m, const char *key,
		     const char *route, const char *what)
{
	const struct pt_val *node;
	bool err;
	char *s = get_text(b, m, key, route, what, &node, &err);
	unsigned long port;

	if (!s)
		return err ? -1 : 0;
	if (!pt_parse_uint(s, PORT_MIN, PORT_MAX, &port)) {
		pt_error(b->d, &node->pos, route,
			 "%s '%s' is not a port number; use a number from %d to %d", what, s,
			 PORT_MIN, PORT_MAX);
		free(s);
		return -1;
	}
	free(s);
	return (long)port;
}

static char *host_names(struct pt_host **hosts, size_t n);

/* ---- host addresses ---------------------------------------------------- */

/* getaddrinfo's answer for name in family (AF_UNSPEC: any): 0 with the
 * first address of family (when not AF_UNSPEC) in *out, or -ENOENT when
 * there is none, or -errno. */
static int gai_first(const char *name, int family, struct pt_addr *out)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *i;
	int err = getaddrinfo(name, NULL, &hints, &res);

	if (err)
		return err == EAI_SYSTEM ? -errno : -ENOENT;
	err = -ENOENT;
	for (i = res; i && err; i = i->ai_next) {
		if (family == AF_UNSPEC) {
			err = 0;
		} else if (i->ai_family == family) {
			memset(out, 0, sizeof(*out));
			out->family = family;
			if (family == AF_INET)
				out->v4 = ((struct sockaddr_in *)i->ai_addr)->sin_addr;
			else
				out->v6 = ((struct sockaddr_in6 *)i->ai_addr)->sin6_addr;
			err = 0;
		}
	}
	freeaddrinfo(res);
	return err;
}

/* The question asked is the family's alone (an IPv4 route asks what it
 * always asked); only when it has no answer, whether the name exists at
 * all (then -ENODATA: no address of that family). */
static int default_resolve(const char *name, int family, struct pt_addr *out, void *arg)
{
	int err = gai_first(name, family, out);

	(void)arg;
	if (err != -ENOENT)
		return err;
	return gai_first(name, AF_UNSPEC, out) ? -ENOENT : -ENODATA;
}

static int resolve_name(struct build *b, const char *name, int family, struct pt_addr *out)
{
	if (b->o->resolve)
		return b->o->resolve(name, family, out, b->o->resolve_arg);
	return default_resolve(name, family, out, NULL);
}

static const char *family_text(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* What h's address is looked up from: ansible_host (templated), else its
 * inventory name, into c->name and c->pos. Returns 0 or -EINVAL after an
 * error (reported into d). */
static int host_lookup_name(struct build *b, const struct pt_host *h, const char *route,
			    struct pt_diags *d, struct host_addr *c)
{
	struct pt_val *hv, *ah, *v = NULL;
	int err = 0;

	hv = pt_host_vars(b->inv, h);
	ah = pt_val_get(hv, "ansible_host");
	c->pos = h->pos;
	snprintf(c->name, sizeof(c->name), "%s", h->name);
	if (ah) {
		c->ansible_host = true;
		c->pos = ah->pos;
		v = pt_template_resolve(ah, route, hv, d);
		if (!v) {
			err = -EINVAL;
		} else if (v->type != PT_VAL_SCALAR || !v->str || !*v->str ||
			   strlen(v->str) >= sizeof(c->name)) {
			pt_error(d, &c->pos, route,
				 "host '%s': ansible_host is not an address or host name; set it "
				 "to the host's IP address", h->name);
			err = -EINVAL;
		} else {
			snprintf(c->name, sizeof(c->name), "%s", v->str);
		}
	}
	if (v)
		pt_val_unref(v);
	pt_val_unref(hv);
	return err;
}

/* Look up h's address of family (AF_INET or AF_INET6): ansible_host
 * (templated; an IP literal or a name to resolve), else its inventory name
 * resolved, once per family. A bad ansible_host, a name that does not
 * resolve, or an unusable IPv6 address is reported once per host (with
 * quiet, not at all nor remembered). Returns 0, -ENODATA when h has no
 * address of family (not reported: the caller knows what it means), or
 * another -errno after a reported error. */
static int host_address(struct build *b, const struct pt_host *h, const char *route, bool quiet,
			int family, struct pt_addr *out)
{
	struct pt_diags scratch = { 0 };
	struct pt_diags *d = quiet ? &scratch : b->d;
	struct host_addr *c = &b->addrs[h->index];
	int fi = family == AF_INET6, err;
	const char *why;
	char a[INET6_ADDRSTRLEN];

	if (c->done[fi]) {
		*out = c->addr[fi];
		return c->err[fi];
	}
	if (c->reported) {
		err = -ENOENT;
		goto done;
	}
	err = host_lookup_name(b, h, route, d, c);
	if (!err && pt_addr_parse(c->name, out) == 0) {
		if (out->family != family)
			err = -ENODATA;
	} else if (!err) {
		err = resolve_name(b, c->name, family, out);
		why = err == -ENOENT ? "no such name" : strerror(-err);
		if (err == -ENODATA)
			;	/* the caller's to report */
		else if (err && c->ansible_host)
			pt_error(d, &c->pos, route,
				 "host '%s': ansible_host '%s' does not resolve (%s); set "
				 "ansible_host to the host's IP address", h->name, c->name, why);
		else if (err)
			pt_error(d, &c->pos, route,
				 "host '%s' has no ansible_host and its name does not resolve "
				 "(%s); set ansible_host: <IP address> for it in the inventory",
				 h->name, why);
	}
	if (!err && (why = pt_addr6_unusable(out))) {
		pt_error(d, &c->pos, route,
			 "host '%s': address %s is %s, not a backend's address; set "
			 "ansible_host to the host's global IPv6 address (or its IPv4 one)",
			 h->name, pt_addr_str(out, a, sizeof(a)), why);
		err = -EINVAL;
	}
	pt_diags_free(&scratch);
	if (quiet && err && err != -ENODATA)
		return err;	/* not reported: the next lookup reports it */
	if (err && err != -ENODATA)
		c->reported = true;
done:
	c->done[fi] = true;
	c->err[fi] = err;
	c->addr[fi] = *out;
	return err;
}

/* This host's own address, quietly: its IPv4 one, else its IPv6 one. */
static void self_address(struct build *b)
{
	if (host_address(b, b->self, NULL, true, AF_INET, &b->rs->host_addr) &&
	    host_address(b, b->self, NULL, true, AF_INET6, &b->rs->host_addr))
		memset(&b->rs->host_addr, 0, sizeof(b->rs->host_addr));
}

static bool addr_is_local(struct build *b, const struct pt_host *h, const struct pt_addr *a)
{
	if (h == b->self)
		return true;
	if (b->o->is_local)
		return b->o->is_local(a, b->o->is_local_arg);
	return b->rs->host_addr.family && pt_addr_equal(a, &b->rs->host_addr);
}

/* ---- one route --------------------------------------------------------- */

/* family: ipv4 | ipv6 | dual into c->fam and c->r.family; the default is
 * the family of the route's address (ipv4 for "*"), even of an address
 * refused for another reason. */
static void parse_family(struct build *b, const struct pt_val *rv, struct cand *c)
{
	struct pt_route *r = &c->r;
	const struct pt_val *node;
	bool err;
	char *s;
	int af = !r->wildcard ? r->addr.family : 0;	/* 0: not understood */
	char a[INET6_ADDRSTRLEN];

	c->fam = af == AF_INET6 ? PT_FAMILY_IPV6 : PT_FAMILY_IPV4;
	s = get_text(b, rv, "family", r->name, "family", &node, &err);
	if (s && pt_family_parse(s, &c->fam)) {
		pt_error(b->d, &node->pos, r->name,
			 "family '%s' is not supported; use ipv4 (the default), ipv6 or dual", s);
		c->fam = af == AF_INET6 ? PT_FAMILY_IPV6 : PT_FAMILY_IPV4;
	} else if (s && af && c->fam == PT_FAMILY_DUAL) {
		pt_error(b->d, &node->pos, r->name,
			 "family dual serves IPv4 and IPv6 clients, but address %s is one "
			 "%s address; write address: \"*\" for a dual route, or declare one "
			 "route per address", pt_addr_str(&r->addr, a, sizeof(a)), family_text(af));
		c->fam = af == AF_INET6 ? PT_FAMILY_IPV6 : PT_FAMILY_IPV4;
	} else if (s && af && (c->fam == PT_FAMILY_IPV6) != (af == AF_INET6)) {
		pt_error(b->d, &node->pos, r->name,
			 "family %s does not fit address %s, an %s address; remove family (an "
			 "address sets it) or change the address", s,
			 pt_addr_str(&r->addr, a, sizeof(a)), family_text(af));
		c->fam = af == AF_INET6 ? PT_FAMILY_IPV6 : PT_FAMILY_IPV4;
	}
	free(s);
	r->family = c->fam == PT_FAMILY_IPV6 ? AF_INET6 : AF_INET;
	r->dual = c->fam == PT_FAMILY_DUAL;
}

static void parse_listen(struct build *b, const struct pt_val *rv, struct cand *c)
{
	struct pt_route *r = &c->r;
	const struct pt_val *node;
	bool err, ok = true;
	const char *why;
	char *s;
	long port;

	/* address: "*" (default) or one IPv4 or IPv6 address. */
	s = get_text(b, rv, "address", r->name, "address", &node, &err);
	r->wildcard = true;
	if (err) {
		ok = false;
	} else if (s && strcmp(s, "*")) {
		r->wildcard = false;
		if (pt_addr_parse(s, &r->addr)) {
			pt_error(b->d, &node->pos, r->name,
				 "address '%s' is not an IP address; write \"*\" for every "
				 "address of this host, or one address (e.g. a VIP)", s);
			ok = false;
		} else if ((r->addr.family == AF_INET && !r->addr.v4.s_addr) ||
			   (r->addr.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&r->addr.v6))) {
			pt_error(b->d, &node->pos, r->name,
				 "address '%s' is not one address; write \"*\" for every address "
				 "of this host on the input side", s);
			ok = false;
		} else if ((why = pt_addr6_unusable(&r->addr))) {
			pt_error(b->d, &node->pos, r->name,
				 "address '%s' is %s, which portier does not serve; use a "
				 "global IPv6 address or \"*\"", s, why);
			ok = false;
		}
	}
	free(s);
	b->listen_failed = !ok;
	parse_family(b, rv, c);
	port = get_port(b, rv, "port", r->name, "port");
	if (port == 0 && !pt_val_get(rv, "port"))
		pt_error(b->d, &r->pos, r->name,
			 "no port; add 'port: N' (the port this route listens on)");
	if (port <= 0)
		ok = false;
	else
		r->port = (uint16_t)port;

	/* proto: tcp (default) or udp. */
	r->proto = IPPROTO_TCP;
	s = get_text(b, rv, "proto", r->name, "proto", &node, &err);
	if (err) {
		ok = false;
	} else if (s && !strcmp(s, "udp")) {
		r->proto = IPPROTO_UDP;
	} else if (s && strcmp(s, "tcp")) {
		pt_error(b->d, &node->pos, r->name,
			 "proto '%s' is not supported; use tcp (the default) or udp", s);
		ok = false;
	}
	free(s);
	c->listen_ok = ok;
}

static void parse_mode_nat(struct build *b, const struct pt_val *rv, struct pt_route *r)
{
	const struct pt_val *node;
	bool err;
	char *s;

	s = get_text(b, rv, "mode", r->name, "mode", &node, &err);
	if (s && strcmp(s, "http") && strcmp(s, "tcp"))
		pt_warn(b->d, &node->pos, r->name,
			"mode '%s' is unknown; portier forwards at layer 4 whatever the mode. "
			"Use http or tcp", s);
	r->mode = s ? s : xstrdup("tcp");

	r->nat = PT_NAT_SNAT;
	s = get_text(b, rv, "nat", r->name, "nat", &node, &err);
	if (s && !strcmp(s, "dnat"))
		r->nat = PT_NAT_DNAT;
	else if (s && strcmp(s, "snat"))
		pt_error(b->d, &node->pos, r->name,
			 "nat '%s' is unknown; use snat (the default: backends see this "
			 "gateway's address) or dnat (backends see the client's address)", s);
	free(s);

	/* syn_cookies: auto (default), on, off; TCP only (parse_listen has
	 * set the protocol). A UDP route keeps the value but never uses it. */
	r->syn_cookies = PT_SYN_COOKIES_AUTO;
	s = get_text(b, rv, "syn_cookies", r->name, "syn_cookies", &node, &err);
	if (s && pt_syn_cookies_parse(s, &r->syn_cookies))
		pt_error(b->d, &node->pos, r->name,
			 "syn_cookies '%s' is unknown; use auto (the default: cookies while a "
			 "SYN flood lasts), on (every SYN) or off", s);
	else if (s && r->proto == IPPROTO_UDP)
		pt_warn(b->d, &node->pos, r->name,
			"syn_cookies applies to TCP routes only; ignored on this UDP route "
			"(remove it)");
	free(s);
}

static void parse_options(struct build *b, const struct pt_val *dv, struct pt_route *r)
{
	const struct pt_val *node;
	struct pt_val *v;
	bool err;

	v = get(b, dv, "options", r->name, &node, &err);
	if (!v)
		return;
	if (v->type == PT_VAL_NULL)
		goto out;
	if (v->type != PT_VAL_SEQ) {
		pt_error(b->d, &node->pos, r->name,
			 "options must be a list (e.g. options: [httplog]), not a %s",
			 pt_val_type_name(v->type));
		goto out;
	}
	for (size_t i = 0; i < v->n; i++) {
		struct pt_val *o = pt_template_resolve(v->seq[i], r->name, b->vars, b->d);
		const char *s;
		size_t k = 0;

		if (!o)
			continue;
		s = want_scalar(b, o, v->seq[i], r->name, "an option");
		while (s && k < PT_N_OPTIONS && strcmp(s, pt_option_names[k]))
			k++;
		if (s && k < PT_N_OPTIONS)
			r->options |= 1U << k;
		else if (s)
			pt_warn(b->d, &v->seq[i]->pos, r->name,
				"option '%s' is not implemented, ignored; portier knows httplog "
				"and tcplog", s);
		pt_val_unref(o);
	}
out:
	pt_val_unref(v);
}

/* A check setting: a duration (inter, timeout) or a count (rise, fall). */
static void check_value(struct build *b, const struct pt_val *cv, const char *key,
			const char *route, bool duration, unsigned int *out)
{
	const struct pt_val *node;
	char *what = xasprintf("destination.check.%s", key);
	bool err;
	char *s = get_text(b, cv, key, route, what, &node, &err);
	unsigned long n;

	if (s && duration && !pt_parse_duration(s, out))
		pt_error(b->d, &node->pos, route,
			 "%s '%s' is not a duration; write milliseconds (2000) or a number "
			 "with a unit: 500ms, 2s, 1m (at most 24h)", what, s);
	else if (s && !duration && !pt_parse_uint(s, 1, CHECK_COUNT_MAX, &n))
		pt_error(b->d, &node->pos, route, "%s '%s' is not a count; use 1 to %d", what, s,
			 CHECK_COUNT_MAX);
	else if (s && !duration)
		*out = (unsigned int)n;
	free(s);
	free(what);
}

typedef int (*http_setter)(const char *s, struct pt_check *c, const char **why);

/* One text setting of the check (type, method, ...): validated by set. */
static void check_text(struct build *b, const struct pt_val *cv, const char *key,
		       struct pt_route *r, http_setter set)
{
	const struct pt_val *node;
	char *what = xasprintf("destination.check.%s", key);
	const char *why;
	bool err;
	char *s = get_text(b, cv, key, r->name, what, &node, &err);

	if (s && set(s, &r->check, &why))
		pt_error(b->d, &node->pos, r->name, "%s '%s' %s", what, s, why);
	free(s);
	free(what);
}

/* type: http and its settings (HAProxy's option httpchk and http-check
 * expect status, with their defaults). HTTP settings on a TCP check are
 * ignored with a warning, as is an HTTP check of a UDP route. */
static void parse_http_check(struct build *b, const struct pt_val *cv, struct pt_route *r)
{
	static const http_setter set[] = { pt_http_check_method, pt_http_check_uri,
					   pt_http_check_version, pt_http_check_host,
					   pt_http_check_expect };
	const struct pt_val *node;

	check_text(b, cv, "type", r, pt_check_type_parse);
	if (r->check.type != PT_CHECK_HTTP) {
		for (size_t i = 1; http_keys[i]; i++)
			if ((node = pt_val_get(cv, http_keys[i])))
				pt_warn(b->d, &node->pos, r->name,
					"destination.check.%s applies to HTTP checks only and is "
					"ignored; add 'type: http' to the check (or remove it)",
					http_keys[i]);
		return;
	}
	pt_http_check_defaults(&r->check);
	for (size_t i = 1; http_keys[i]; i++)
		check_text(b, cv, http_keys[i], r, set[i - 1]);
	node = pt_val_get(cv, "type");
	if (r->proto == IPPROTO_UDP)
		pt_warn(b->d, &node->pos, r->name,
			"destination.check.type http on a UDP route: UDP backends are not "
			"health-checked; remove the check");
	else if (r->check.http_minor == 1 && !r->check.host[0])
		pt_warn(b->d, &node->pos, r->name,
			"an HTTP/1.1 check without destination.check.host sends no Host "
			"header, which HTTP/1.1 servers may answer with 400; add host: NAME");
}

static void parse_check(struct build *b, const struct pt_val *dv, struct pt_route *r)
{
	const struct pt_val *node;
	struct pt_val *cv;
	bool err, has_timeout;
	long port;

	r->check = (struct pt_check){ .inter_ms = CHECK_INTER_DEFAULT_MS,
				      .rise = CHECK_RISE_DEFAULT,
				      .fall = CHECK_FALL_DEFAULT };
	cv = get(b, dv, "check", r->name, &node, &err);
	if (cv && cv->type != PT_VAL_MAP && cv->type != PT_VAL_NULL) {
		pt_error(b->d, &node->pos, r->name,
			 "destination.check must be a mapping such as {inter: 2s, rise: 2, "
			 "fall: 3}, not a %s", pt_val_type_name(cv->type));
	} else if (cv && cv->type == PT_VAL_MAP) {
		check_keys(b, cv, hc_keys, "destination.check", r->name);
		check_value(b, cv, "inter", r->name, true, &r->check.inter_ms);
		check_value(b, cv, "rise", r->name, false, &r->check.rise);
		check_value(b, cv, "fall", r->name, false, &r->check.fall);
		port = get_port(b, cv, "port", r->name, "destination.check.port");
		if (port > 0)
			r->check.port = (uint16_t)port;
	}
	has_timeout = cv && pt_val_get(cv, "timeout");
	r->check.timeout_ms = r->check.inter_ms;
	if (has_timeout)
		check_value(b, cv, "timeout", r->name, true, &r->check.timeout_ms);
	if (cv && cv->type == PT_VAL_MAP)
		parse_http_check(b, cv, r);
	if (cv)
		pt_val_unref(cv);
}

/* Host h's weight (PT_WEIGHT_VAR, HAProxy's weight: 0..256, 0 = no new
 * connections), default PT_WEIGHT_DEFAULT. */
static unsigned int host_weight(struct build *b, const struct pt_host *h,
				const struct pt_route *r)
{
	struct pt_val *hv = pt_host_vars(b->inv, h), *v, *t;
	unsigned long w = PT_WEIGHT_DEFAULT;

	v = pt_val_get(hv, PT_WEIGHT_VAR);
	if (v) {
		t = pt_template_resolve(v, r->name, hv, b->d);
		if (!t) {
			w = PT_WEIGHT_DEFAULT;
		} else if (t->type != PT_VAL_SCALAR || !t->str ||
			   !pt_parse_uint(t->str, 0, PT_WEIGHT_MAX, &w)) {
			pt_error(b->d, &v->pos, r->name, "host '%s': " PT_WEIGHT_BAD_FMT, h->name,
				 PT_WEIGHT_VAR, t->type == PT_VAL_SCALAR && t->str ? t->str : "?",
				 PT_WEIGHT_MAX);
			w = PT_WEIGHT_DEFAULT;
		}
		if (t)
			pt_val_unref(t);
	}
	pt_val_unref(hv);
	return (unsigned int)w;
}

/* destination.maglev_size into r->table_size (maglev and source routes;
 * default PT_MAGLEV_SIZE_DEFAULT): a prime in [PT_MAGLEV_SIZE_MIN,
 * PT_MAGLEV_SIZE_MAX]. *node: where it is written, or NULL. */
static void parse_table_size(struct build *b, const struct pt_val *dv, struct pt_route *r,
			     const struct pt_val **node)
{
	uint32_t m;
	bool err;
	char *s;

	r->table_size = r->balance == PT_BALANCE_ROUNDROBIN ? 0 : PT_MAGLEV_SIZE_DEFAULT;
	s = get_text(b, dv, "maglev_size", r->name, "destination.maglev_size", node, &err);
	if (!s) {
		*node = NULL;
		return;
	}
	if (r->balance == PT_BALANCE_ROUNDROBIN)
		pt_error(b->d, &(*node)->pos, r->name, PT_TABLE_SIZE_RR_FMT,
			 "destination.maglev_size");
	else if (!pt_table_size_parse(s, &m))
		pt_error(b->d, &(*node)->pos, r->name, PT_TABLE_SIZE_BAD_FMT,
			 "destination.maglev_size", s, PT_MAGLEV_SIZE_MIN, PT_MAGLEV_SIZE_MAX);
	else
		r->table_size = m;
	free(s);
}

static unsigned int gcd(unsigned int a, unsigned int b)
{
	while (b) {
		unsigned int t = a % b;

		a = b;
		b = t;
	}
	return a;
}

bool pt_table_size_parse(const char *s, uint32_t *out)
{
	unsigned long m;

	if (!pt_parse_uint(s, PT_MAGLEV_SIZE_MIN, PT_MAGLEV_SIZE_MAX, &m) ||
	    !pt_is_prime((uint32_t)m))
		return false;
	*out = (uint32_t)m;
	return true;
}

uint32_t pt_table_size_needed(size_t n)
{
	uint32_t p = (uint32_t)n * PT_MAGLEV_SLOTS_PER_BACKEND + 1;

	if (p < PT_MAGLEV_SIZE_MIN)
		p = PT_MAGLEV_SIZE_MIN;
	while (!pt_is_prime(p))
		p++;
	return p;
}

bool pt_table_size_fits(uint32_t m, size_t n)
{
	return (uint64_t)n * PT_MAGLEV_SLOTS_PER_BACKEND < m;
}

unsigned int pt_rr_turns(const unsigned int *w, size_t n, unsigned int *g)
{
	unsigned int sum = 0;

	*g = 0;
	for (size_t i = 0; i < n; i++)
		*g = gcd(*g, w[i]);
	if (!*g)
		return 0;
	for (size_t i = 0; i < n; i++)
		sum += w[i] / *g;
	return sum;
}

/* Weighted round-robin takes turns in the route's rotation (at most
 * PORTIER_MAX_ROUTE_BACKENDS): the weights, divided by their common
 * divisor, must sum to no more. */
static void check_rr_weights(struct build *b, const struct pt_route *r,
			     const struct pt_val *node)
{
	unsigned int *w = xcalloc(r->n_backends + 1, sizeof(*w)), g, sum;

	for (size_t i = 0; i < r->n_backends; i++)
		w[i] = r->backends[i].weight;
	sum = pt_rr_turns(w, r->n_backends, &g);
	free(w);
	if (sum > PORTIER_MAX_ROUTE_BACKENDS)
		pt_error(b->d, &node->pos, r->name, PT_RR_WEIGHTS_FMT, PT_WEIGHT_VAR,
			 r->n_backends, sum, g, PORTIER_MAX_ROUTE_BACKENDS);
}

/* Maglev spreads evenly only with many slots per backend: M > 100 * N. */
static void check_table_size(struct build *b, const struct pt_route *r,
			     const struct pt_val *node)
{
	if (r->balance == PT_BALANCE_ROUNDROBIN) {
		check_rr_weights(b, r, node);
		return;
	}
	if (!r->table_size || pt_table_size_fits(r->table_size, r->n_backends))
		return;
	pt_error(b->d, &node->pos, r->name, PT_TABLE_SIZE_SMALL_FMT, r->table_size,
		 r->n_backends, PT_MAGLEV_SLOTS_PER_BACKEND, "destination.maglev_size",
		 pt_table_size_needed(r->n_backends));
}

/* Host h has no address of r's family: an error for a route of one
 * family, a warning for a half of a dual route (the host serves the other
 * family's clients). */
static void report_no_family(struct build *b, const struct pt_host *h, const struct pt_route *r)
{
	const struct host_addr *c = &b->addrs[h->index];
	int f = pt_route_family(r), o = f == AF_INET6 ? AF_INET : AF_INET6;
	struct pt_addr lit;
	char what[300];

	if (pt_addr_parse(c->name, &lit) == 0)
		snprintf(what, sizeof(what), "its address %s is %s", c->name,
			 family_text(lit.family));
	else
		snprintf(what, sizeof(what), "'%s' has no %s address (no %s record)", c->name,
			 family_text(f), f == AF_INET6 ? "AAAA" : "A");
	if (r->dual)
		pt_warn(b->d, &c->pos, r->name,
			"host '%s' has no %s address (%s): it is a backend of route '%s' (family "
			"dual) for %s clients only; to serve both, give it a host name with A "
			"and AAAA records as ansible_host", h->name, family_text(f), what,
			r->name, family_text(o));
	else
		pt_error(b->d, &c->pos, r->name,
			 "host '%s': %s, but route '%s' is family %s (portier does not "
			 "translate between families); set the route's family to %s or dual, "
			 "or give the host an %s address", h->name, what, r->name,
			 f == AF_INET6 ? "ipv6" : "ipv4", o == AF_INET6 ? "ipv6" : "ipv4",
			 family_text(f));
}

/* The backends of route r, of its family: hosts[0..n) at r->dest_port.
 * A host without an address of the family is an error, or for a half of
 * a dual route, marked in missing[] (reported by dual_half_done). */
static void add_backends(struct build *b, struct pt_host **hosts, size_t n,
			 const struct pt_val *port_node, struct pt_route *r, bool *missing)
{
	const struct pt_pos *ppos = port_node ? &port_node->pos : &r->pos;

	r->backends = xcalloc(n, sizeof(*r->backends));
	for (size_t i = 0; i < n; i++) {
		struct pt_backend *be = &r->backends[r->n_backends];
		int err = host_address(b, hosts[i], r->name, false, pt_route_family(r),
				       &be->addr);

		if (err == -ENODATA) {
			if (r->dual) {
				missing[i] = true;
			} else {
				if (!b->listen_failed)
					report_no_family(b, hosts[i], r);
				b->backend_failed = true;
			}
			memset(&be->addr, 0, sizeof(be->addr));
			continue;
		}
		if (err) {
			/* Reported once per host, but fails every route using it. */
			b->backend_failed = true;
			continue;
		}
		be->host = xstrdup(hosts[i]->name);
		be->port = r->dest_port;
		be->weight = host_weight(b, hosts[i], r);
		be->local = addr_is_local(b, hosts[i], &be->addr);
		r->n_backends++;
		for (size_t k = 0; k + 1 < r->n_backends; k++)
			if (pt_addr_equal(&r->backends[k].addr, &be->addr)) {
				char a[INET6_ADDRSTRLEN];

				pt_error(b->d, &r->pos, r->name,
					 "hosts '%s' and '%s' both resolve to %s: one backend "
					 "twice; give one of them another ansible_host, or take "
					 "it out of the group", r->backends[k].host, be->host,
					 pt_addr_str(&be->addr, a, sizeof(a)));
				break;
			}
		/* r->port 0: the listening port was wrong, already reported. */
		if (be->local && r->port && be->port != r->port)
			pt_error(b->d, ppos, r->name,
				 "backend '%s' is this host, reached at port %u, but the route "
				 "listens on port %u: portier delivers local traffic unchanged, so "
				 "the local backend must use the listening port; make "
				 "destination.group.port equal to port", hosts[i]->name, be->port,
				 r->port);
	}
}

/* Two backend lists of the same hosts in the same order? */
static bool same_hosts(const struct pt_route *a, const struct pt_route *b)
{
	if (a->n_backends != b->n_backends)
		return false;
	for (size_t i = 0; i < a->n_backends; i++)
		if (strcmp(a->backends[i].host, b->backends[i].host))
			return false;
	return true;
}

/* A half of a dual route, its backends added: a warning per host that
 * has no address of its family; an error if none has one (its clients
 * would have no backend). */
static void dual_half_done(struct build *b, const struct pt_route *r, const char *group,
			   struct pt_host **hosts, size_t n, const bool *missing,
			   const struct pt_val *node)
{
	int f = pt_route_family(r);
	char *names;

	if (r->n_backends) {
		for (size_t i = 0; i < n; i++)
			if (missing[i])
				report_no_family(b, hosts[i], r);
		return;
	}
	if (b->backend_failed)
		return;	/* the hosts' own errors say why */
	names = host_names(hosts, n);
	pt_error(b->d, &node->pos, r->name,
		 "family dual, but no host of group '%s' (%s) has an %s address: %s clients "
		 "would have no backend; give the hosts %s addresses (ansible_host: a name "
		 "with %s records), or set family: %s", group, names, family_text(f),
		 family_text(f), family_text(f), f == AF_INET6 ? "AAAA" : "A",
		 f == AF_INET6 ? "ipv4" : "ipv6");
	free(names);
}

/* destination into r, and for a dual route the IPv6 backends into r6 (its
 * other settings are copied from r later). */
static void parse_destination(struct build *b, const struct pt_val *rv, struct pt_route *r,
			      struct pt_route *r6)
{
	const struct pt_val *dnode, *node, *gnode, *name_node, *port_node, *bal_node, *size_node;
	struct pt_val *dv, *gv;
	const struct pt_group *g;
	char *s;
	bool err;
	long port;

	dv = get(b, rv, "destination", r->name, &dnode, &err);
	if (!dv) {
		if (!err)
			pt_error(b->d, &r->pos, r->name,
				 "no destination; add destination: {group: {name: GROUP, port: "
				 "PORT}}");
		return;
	}
	if (dv->type != PT_VAL_MAP) {
		pt_error(b->d, &dnode->pos, r->name,
			 "destination must be a mapping with group, balance and options, not a "
			 "%s", pt_val_type_name(dv->type));
		goto out;
	}
	check_keys(b, dv, dest_keys, "destination", r->name);

	s = get_text(b, dv, "balance", r->name, "destination.balance", &node, &err);
	r->balance = PT_BALANCE_ROUNDROBIN;
	if (s && pt_balance_parse(s, &r->balance))
		pt_error(b->d, &node->pos, r->name, PT_BALANCE_BAD_FMT, s);
	free(s);
	bal_node = s ? node : NULL;
	parse_table_size(b, dv, r, &size_node);
	parse_options(b, dv, r);
	parse_check(b, dv, r);

	gv = get(b, dv, "group", r->name, &gnode, &err);
	if (!gv) {
		if (!err)
			pt_error(b->d, &dnode->pos, r->name,
				 "destination has no group; add group: {name: GROUP, port: PORT}");
		goto out;
	}
	if (gv->type != PT_VAL_MAP) {
		pt_error(b->d, &gnode->pos, r->name,
			 "destination.group must be a mapping {name: GROUP, port: PORT}, not a %s",
			 pt_val_type_name(gv->type));
		pt_val_unref(gv);
		goto out;
	}
	check_keys(b, gv, group_keys, "destination.group", r->name);
	port = get_port(b, gv, "port", r->name, "destination.group.port");
	port_node = pt_val_get(gv, "port");
	r->dest_port = port > 0 ? (uint16_t)port : r->port;
	r->dest_group = get_text(b, gv, "name", r->name, "destination.group.name", &name_node,
				 &err);
	if (!r->dest_group) {
		if (!err)
			pt_error(b->d, &gnode->pos, r->name,
				 "destination.group has no name; add name: GROUP (the inventory "
				 "group whose hosts are the backends)");
	} else if (!(g = pt_inventory_group(b->inv, r->dest_group))) {
		pt_error(b->d, &name_node->pos, r->name,
			 "destination group '%s' is not in the inventory; declare it, or fix "
			 "the name", r->dest_group);
	} else {
		size_t n;
		struct pt_host **hosts = pt_group_all_hosts(b->inv, g, &n);

		if (!n)
			pt_error(b->d, &name_node->pos, r->name,
				 "destination group '%s' has no hosts, so the route has no "
				 "backends; add hosts to it", r->dest_group);
		else if (n > PORTIER_MAX_ROUTE_BACKENDS)
			pt_error(b->d, &name_node->pos, r->name,
				 "destination group '%s' has %zu hosts, more than the %d "
				 "backends a route can have; split it into smaller groups",
				 r->dest_group, n, PORTIER_MAX_ROUTE_BACKENDS);
		else if (port >= 0 && r->dest_port) {
			bool *miss4 = xcalloc(n, sizeof(bool)), *miss6 = xcalloc(n, sizeof(bool));

			add_backends(b, hosts, n, port_node, r, miss4);
			if (r6) {
				r6->dest_port = r->dest_port;
				r6->port = r->port;
				add_backends(b, hosts, n, port_node, r6, miss6);
				dual_half_done(b, r, r->dest_group, hosts, n, miss4, name_node);
				dual_half_done(b, r6, r->dest_group, hosts, n, miss6, name_node);
			}
			free(miss4);
			free(miss6);
		}
		free(hosts);
		check_table_size(b, r, size_node ? size_node : bal_node ? bal_node : dnode);
		if (r6 && !same_hosts(r, r6)) {
			r6->balance = r->balance;
			r6->table_size = r->table_size;
			check_table_size(b, r6, size_node ? size_node : bal_node ? bal_node :
									dnode);
		}
	}
	pt_val_unref(gv);
out:
	pt_val_unref(dv);
}

/* ---- source policy and rate limit ------------------------------------- */

/* The list at m.key (allow or deny: action a) into *out: networks in CIDR
 * form. where names the list in messages ("allow", "proxies.allow"). */
static void parse_policy_list(struct build *b, const struct pt_val *m, const char *key,
			      enum pt_policy_action a, const char *route, struct pt_policy *out)
{
	char *where = route ? xstrdup(key) : xasprintf("proxies.%s", key);
	const struct pt_val *node;
	struct pt_val *v;
	bool err;

	v = get(b, m, key, route, &node, &err);
	if (!v)
		goto out;
	if (v->type != PT_VAL_SEQ && v->type != PT_VAL_NULL) {
		pt_error(b->d, &node->pos, route,
			 "%s must be a list of networks (e.g. %s: [198.51.100.0/24, "
			 "192.0.2.7]), not a %s", where, key, pt_val_type_name(v->type));
		goto unref;
	}
	for (size_t i = 0; v->type == PT_VAL_SEQ && i < v->n; i++) {
		struct pt_val *o = pt_template_resolve(v->seq[i], route, b->vars, b->d);
		struct pt_policy_entry e = { .action = a, .pos = v->seq[i]->pos };
		const char *s, *why;

		if (!o)
			continue;
		s = want_scalar(b, o, v->seq[i], route, "a network");
		if (s && pt_cidr_parse(s, &e.net, &why))
			pt_error(b->d, &e.pos, route, "%s entry '%s' %s", where, s, why);
		else if (s)
			pt_policy_append(out, &e);
		pt_val_unref(o);
	}
unref:
	pt_val_unref(v);
out:
	free(where);
}

/* Order of entries: network, then list order (for check_policy_dups). */
static int cmp_entry(const void *x, const void *y)
{
	const struct pt_policy_entry *a = *(const struct pt_policy_entry *const *)x;
	const struct pt_policy_entry *b = *(const struct pt_policy_entry *const *)y;
	int c = pt_cidr_cmp(&a->net, &b->net);

	if (c)
		return c;
	return a < b ? -1 : a > b;
}

/* A network listed twice in one list (the later one is dropped), or in
 * both: warnings at the later entry (sorted, so long lists stay fast). */
static void check_policy_dups(struct build *b, struct pt_policy *p, const char *route)
{
	const struct pt_policy_entry **v = xcalloc(p->n + 1, sizeof(*v));
	bool *drop = xcalloc(p->n + 1, sizeof(*drop));
	char buf[PT_CIDR_BUF];
	size_t m = 0;

	for (size_t i = 0; i < p->n; i++)
		v[i] = &p->v[i];
	qsort(v, p->n, sizeof(*v), cmp_entry);
	for (size_t i = 1; i < p->n; i++) {
		const struct pt_policy_entry *e = v[i];
		const char *list = pt_policy_action_name(e->action);

		for (size_t k = i; k-- > 0 && pt_cidr_equal(&v[k]->net, &e->net);) {
			if (v[k]->action == e->action) {
				pt_warn(b->d, &e->pos, route, "%s%s lists %s twice (first at line "
					"%u); remove one", route ? "" : "proxies.", list,
					pt_cidr_str(&e->net, buf, sizeof(buf)), v[k]->pos.line);
				drop[e - p->v] = true;
				break;
			}
			if (k == 0 || !pt_cidr_equal(&v[k - 1]->net, &e->net))
				pt_warn(b->d, &e->pos, route, "%s is both allowed and denied "
					"(line %u): deny wins; remove it from one list",
					pt_cidr_str(&e->net, buf, sizeof(buf)), v[k]->pos.line);
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (!drop[i])
			p->v[m++] = p->v[i];
	p->n = m;
	free(drop);
	free(v);
}

/* A route's allow entry that the pool's lists refuse whole can never
 * admit anyone (a connection must pass both): a warning at the entry.
 * Each shorter prefix of the entry is looked up among the pool's
 * compiled elements. */
static void check_policy_overlap(struct build *b)
{
	const struct pt_policy *pool = &b->rs->pool_policy;
	struct pt_policy_item *items = NULL;
	bool pool_allows = false;
	size_t n = 0;

	for (size_t k = 0; k < pool->n; k++)
		pool_allows |= pool->v[k].action == PT_POLICY_ALLOW;
	pt_policy_compile(pool, PORTIER_POLICY_POOL, &items, &n);
	if (n)
		qsort(items, n, sizeof(*items), pt_policy_item_cmp);
	for (size_t i = 0; i < b->rs->n_routes; i++) {
		const struct pt_route *r = &b->rs->routes[i];

		if (r->dual && pt_route_family(r) == AF_INET6)
			continue;	/* its IPv4 half's lists, checked there */
		for (size_t j = 0; j < r->policy.n; j++) {
			const struct pt_policy_entry *e = &r->policy.v[j];
			bool denied = false, inside = !pool_allows;
			char buf[PT_CIDR_BUF];

			/* The pool's trie probed here holds IPv4 networks. */
			if (e->action != PT_POLICY_ALLOW || e->net.addr.family != AF_INET)
				continue;
			for (unsigned int l = 0; l <= e->net.len; l++) {
				struct pt_policy_item probe;
				const struct pt_policy_item *f;

				pt_policy_item_of(&e->net, l, PORTIER_POLICY_POOL, &probe);
				f = n ? bsearch(&probe, items, n, sizeof(*items),
						pt_policy_item_cmp) : NULL;

				if (!f)
					continue;
				denied |= f->rule.declared & (PORTIER_POLICY_D_DENY |
							      PORTIER_POLICY_D_RT_DENY);
				inside |= f->rule.declared & (PORTIER_POLICY_D_ALLOW |
							      PORTIER_POLICY_D_RT_ALLOW);
			}
			if (denied || !inside)
				pt_warn(b->d, &e->pos, r->name,
					"allow entry %s is %s, so this route never admits it (a "
					"connection must pass the pool's lists and the route's)",
					pt_cidr_str(&e->net, buf, sizeof(buf)),
					denied ? "in the pool's deny list" :
						 "outside the pool's allow list");
		}
	}
	free(items);
}

/* A count of rate_limit (rate, burst) at m.key: 0 if absent or bad. */
static unsigned int rate_count(struct build *b, const struct pt_val *m, const char *key,
			       unsigned long max, const char *route)
{
	char *what = xasprintf("rate_limit.%s", key);
	const struct pt_val *node;
	unsigned long n = 0;
	bool err;
	char *s = get_text(b, m, key, route, what, &node, &err);

	if (s && !pt_parse_uint(s, 1, max, &n)) {
		pt_error(b->d, &node->pos, route, "%s '%s' is not a count; use 1 to %lu", what, s,
			 max);
		n = 0;
	}
	free(s);
	free(what);
	return (unsigned int)n;
}

/* rate_limit: {rate: N, per: DURATION (1s), burst: B (rate)}. */
static void parse_rate_limit(struct build *b, const struct pt_val *rv, struct pt_route *r)
{
	struct pt_rate_limit *rl = &r->rate_limit;
	const struct pt_val *node, *pnode;
	size_t before = b->d->n_errors;
	struct pt_val *v;
	const char *why;
	bool err;
	char *s;

	v = get(b, rv, "rate_limit", r->name, &node, &err);
	if (!v || v->type == PT_VAL_NULL)
		goto out;
	if (v->type != PT_VAL_MAP) {
		pt_error(b->d, &node->pos, r->name,
			 "rate_limit must be a mapping such as {rate: 10, per: 1s, burst: 20}, "
			 "not a %s", pt_val_type_name(v->type));
		goto out;
	}
	check_keys(b, v, rate_keys, "rate_limit", r->name);
	if (!pt_val_get(v, "rate")) {
		pt_error(b->d, &node->pos, r->name,
			 "rate_limit has no rate; add rate: N (new connections a source may "
			 "open per 'per', default 1s)");
		goto out;
	}
	rl->rate = rate_count(b, v, "rate", PT_RATE_MAX, r->name);
	rl->burst = pt_val_get(v, "burst") ? rate_count(b, v, "burst", PT_BURST_MAX, r->name) :
					     rl->rate;
	rl->per_ms = 1000;
	s = get_text(b, v, "per", r->name, "rate_limit.per", &pnode, &err);
	if (s && !pt_parse_duration(s, &rl->per_ms))
		pt_error(b->d, &pnode->pos, r->name,
			 "rate_limit.per '%s' is not a duration; write milliseconds (1000) or a "
			 "number with a unit: 500ms, 1s, 1m (at most 24h)", s);
	free(s);
	if (b->d->n_errors == before && pt_rate_limit_check(rl, &why))
		pt_error(b->d, &node->pos, r->name, "rate_limit: %s", why);
out:
	if (b->d->n_errors != before)
		memset(rl, 0, sizeof(*rl));
	if (v)
		pt_val_unref(v);
}

/* The IPv6 half r6 of dual route r takes r's settings (its name, family
 * and backends are its own). */
static void twin_settings(struct pt_route *r6, const struct pt_route *r)
{
	char *name = xasprintf("%s%s", r->name, PT_ROUTE_V6_SUFFIX);

	free(r6->name);
	r6->name = name;
	r6->mode = r->mode ? xstrdup(r->mode) : NULL;
	r6->wildcard = r->wildcard;
	r6->port = r->port;
	r6->proto = r->proto;
	r6->balance = r->balance;
	r6->table_size = r->table_size;
	r6->nat = r->nat;
	r6->syn_cookies = r->syn_cookies;
	r6->options = r->options;
	r6->dest_group = r->dest_group ? xstrdup(r->dest_group) : NULL;
	r6->dest_port = r->dest_port;
	r6->check = r->check;
	pt_policy_copy(&r6->policy, &r->policy);
	r6->rate_limit = r->rate_limit;
	r6->pos = r->pos;
}

/* Route e into c; a dual route's IPv6 half into c6. */
static void build_route(struct build *b, const struct pt_map_entry *e, struct cand *c,
			struct cand *c6)
{
	size_t before = b->d->n_errors;
	struct pt_route *r = &c->r, *r6 = NULL;
	struct pt_val *rv;

	r->name = xstrdup(e->key);
	r->pos = e->key_pos;
	b->backend_failed = false;
	if (strlen(r->name) >= PORTIER_ROUTE_NAME_MAX)
		pt_error(b->d, &r->pos, r->name,
			 "the route name is %zu characters long, at most %d: it names the "
			 "route in every command, metric and message; shorten it",
			 strlen(r->name), PORTIER_ROUTE_NAME_MAX - 1);
	rv = pt_template_resolve(e->val, r->name, b->vars, b->d);
	if (!rv)
		return;
	if (rv->type != PT_VAL_MAP) {
		pt_error(b->d, &e->val->pos, r->name,
			 "a route must be a mapping (mode, address, port, destination), not a %s",
			 pt_val_type_name(rv->type));
		pt_val_unref(rv);
		return;
	}
	check_keys(b, rv, route_keys, "a route", r->name);
	parse_listen(b, rv, c);
	if (c->fam == PT_FAMILY_DUAL) {
		size_t len = strlen(r->name) + strlen(PT_ROUTE_V6_SUFFIX);

		r6 = &c6->r;
		r6->name = xstrdup(r->name);
		r6->pos = r->pos;
		r6->family = AF_INET6;
		r6->dual = true;
		c6->fam = PT_FAMILY_DUAL;
		if (len >= PORTIER_ROUTE_NAME_MAX && strlen(r->name) < PORTIER_ROUTE_NAME_MAX)
			pt_error(b->d, &r->pos, r->name,
				 "the route name is %zu characters long, at most %d for a dual "
				 "route: its IPv6 half is named '%s%s' in every command, metric and "
				 "message; shorten it", strlen(r->name),
				 (int)(PORTIER_ROUTE_NAME_MAX - 1 - strlen(PT_ROUTE_V6_SUFFIX)),
				 r->name, PT_ROUTE_V6_SUFFIX);
	}
	parse_mode_nat(b, rv, r);
	parse_destination(b, rv, r, r6);
	parse_policy_list(b, rv, "allow", PT_POLICY_ALLOW, r->name, &r->policy);
	parse_policy_list(b, rv, "deny", PT_POLICY_DENY, r->name, &r->policy);
	check_policy_dups(b, &r->policy, r->name);
	parse_rate_limit(b, rv, r);
	pt_val_unref(rv);
	c->ok = b->d->n_errors == before && !b->backend_failed;
	if (r6) {
		twin_settings(r6, r);
		c6->ok = c->ok;
		c6->listen_ok = c->listen_ok;
	}
}

/* Order of listening keys (address, port, proto), then file order. */
static int cmp_listen(const void *x, const void *y)
{
	const struct cand *a = *(const struct cand *const *)x, *b = *(const struct cand *const *)y;
	const struct pt_route *r = &a->r, *o = &b->r;

	int d;

	if (r->wildcard != o->wildcard)
		return r->wildcard ? -1 : 1;
	if (pt_route_family(r) != pt_route_family(o))
		return pt_route_family(r) < pt_route_family(o) ? -1 : 1;
	if (!r->wildcard && (d = pt_addr_cmp(&r->addr, &o->addr)))
		return d;
	if (r->port != o->port)
		return r->port < o->port ? -1 : 1;
	if (r->proto != o->proto)
		return r->proto < o->proto ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Two routes on the same (family, address, port, proto): an error on each
 * later one, naming the first. Sorted, so that large route sets stay fast. */
static void check_duplicates(struct build *b, struct cand *c, size_t n)
{
	struct cand **v = xcalloc(n, sizeof(*v));
	char listen[PT_LISTEN_STRLEN];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].listen_ok)
			v[k++] = &c[i];
	qsort(v, k, sizeof(*v), cmp_listen);
	for (size_t i = 1, first = 0; i < k; i++) {
		const struct pt_route *r = &v[i]->r, *o = &v[first]->r;

		if (r->port != o->port || r->proto != o->proto || r->wildcard != o->wildcard ||
		    pt_route_family(r) != pt_route_family(o) ||
		    (!r->wildcard && !pt_addr_equal(&r->addr, &o->addr))) {
			first = i;
			continue;
		}
		pt_error(b->d, &r->pos, r->name,
			 "listens on %s like route '%s' (%s:%u:%u); give one of them "
			 "another port or address", pt_route_listen_str(r, listen, sizeof(listen)),
			 o->name, o->pos.file ? o->pos.file : "?", o->pos.line, o->pos.col);
		v[i]->ok = false;
	}
	free(v);
}

/* ---- one service per dnat backend ------------------------------------- */

/* A backend of a dnat route, for pt_reply_clashes. */
struct reply_item {
	struct pt_addr addr;
	uint16_t port;
	uint8_t proto;
	size_t route;		/* index into the routes given */
	const struct pt_backend *be;
};

/* Backend (address, port, protocol), then the routes' order. */
static int cmp_reply_item(const void *x, const void *y)
{
	const struct reply_item *a = x, *b = y;
	int d = pt_addr_cmp(&a->addr, &b->addr);

	if (d)
		return d;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->route < b->route ? -1 : a->route > b->route;
}

static bool same_service(const struct pt_route *a, const struct pt_route *b)
{
	return a->port == b->port && a->wildcard == b->wildcard &&
	       pt_route_family(a) == pt_route_family(b) &&
	       (a->wildcard || pt_addr_equal(&a->addr, &b->addr));
}

size_t pt_reply_clashes(const struct pt_route *const *v, size_t n,
			void (*fn)(const struct pt_reply_clash *c, void *arg), void *arg)
{
	struct reply_item *it;
	size_t k = 0, total = 0, found = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] && v[i]->nat == PT_NAT_DNAT)
			total += v[i]->n_backends;
	it = xcalloc(total + 1, sizeof(*it));
	for (size_t i = 0; i < n; i++) {
		if (!v[i] || v[i]->nat != PT_NAT_DNAT)
			continue;
		for (size_t j = 0; j < v[i]->n_backends; j++) {
			const struct pt_backend *b = &v[i]->backends[j];

			if (b->local || (b->addr.family != AF_INET && b->addr.family != AF_INET6))
				continue;
			it[k++] = (struct reply_item){ b->addr, b->port, v[i]->proto, i, b };
		}
	}
	qsort(it, k, sizeof(*it), cmp_reply_item);
	for (size_t i = 1, first = 0; i < k; i++) {
		const struct reply_item *a = &it[first], *b = &it[i];
		struct pt_reply_clash c = { v[a->route], v[b->route], b->be };

		if (!pt_addr_equal(&a->addr, &b->addr) || a->port != b->port ||
		    a->proto != b->proto) {
			first = i;
			continue;
		}
		if (same_service(c.first, c.second))
			continue;
		found++;
		if (fn)
			fn(&c, arg);
	}
	free(it);
	return found;
}

/* "192.0.2.1:80", "*:80" or "*:80 (ipv6)" of route r's service. */
static char *service_str(const struct pt_route *r)
{
	char a[PT_ADDRPORT_STRLEN];

	if (r->wildcard)
		return xasprintf("*:%u%s", r->port,
				 pt_route_family(r) == AF_INET6 ? " (ipv6)" : "");
	return xstrdup(pt_addrport_str(&r->addr, r->port, a, sizeof(a)));
}

char *pt_reply_clash_msg(const struct pt_reply_clash *c)
{
	char a[PT_ADDRPORT_STRLEN];
	char *s1 = service_str(c->first), *s2 = service_str(c->second), *m;

	m = xasprintf("backend %s/%s is a backend of routes '%s' (service %s) and '%s' "
		      "(service %s), both nat dnat: a reply from it that no flow knows (another "
		      "gateway of the pool made the flow) must translate back to one service; "
		      "give one of the routes other backends or backend ports, or nat snat",
		      pt_addrport_str(&c->be->addr, c->be->port, a, sizeof(a)),
		      pt_proto_name(c->second->proto), c->first->name, s1, c->second->name, s2);
	free(s1);
	free(s2);
	return m;
}

/* The candidates checked for clashes (check_reply_clashes). */
struct clash_ctx {
	struct build *b;
	struct cand *c;
	size_t n;
};

/* An error on the later route of a clash (pt_reply_clashes), which is
 * then left out, as a duplicate is: one error per route, naming the
 * first backend found. */
static void report_clash(const struct pt_reply_clash *rc, void *arg)
{
	struct clash_ctx *x = arg;
	char *m;

	for (size_t i = 0; i < x->n; i++) {
		if (&x->c[i].r != rc->second)
			continue;
		if (!x->c[i].ok)
			return;	/* reported */
		x->c[i].ok = false;
	}
	m = pt_reply_clash_msg(rc);
	pt_error(x->b->d, &rc->second->pos, rc->second->name, "%s", m);
	free(m);
}

/* The candidates valid on their own, checked together. */
static void check_reply_clashes(struct build *b, struct cand *c, size_t n)
{
	const struct pt_route **v = xcalloc(n + 1, sizeof(*v));
	struct clash_ctx x = { b, c, n };

	for (size_t i = 0; i < n; i++)
		v[i] = c[i].ok ? &c[i].r : NULL;
	pt_reply_clashes(v, n, report_clash, &x);
	free(v);
}

/* ---- the set ----------------------------------------------------------- */

/* "a, b, c, ..." of up to HINT_NAMES_MAX host names. */
static char *host_names(struct pt_host **hosts, size_t n)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < n && i < HINT_NAMES_MAX; i++) {
		char *t = xasprintf("%s%s%s", s, i ? ", " : "", hosts[i]->name);

		free(s);
		s = t;
	}
	if (n > HINT_NAMES_MAX) {
		char *t = xasprintf("%s, ...", s);

		free(s);
		s = t;
	}
	return s;
}

/* proxies.target.group: this host must be in it. */
static void check_target(struct build *b, const struct pt_val *proxies)
{
	const struct pt_val *node, *gnode;
	struct pt_val *tv;
	const struct pt_group *g;
	bool err;

	tv = get(b, proxies, "target", NULL, &node, &err);
	if (!tv) {
		if (!err)
			pt_error(b->d, &proxies->pos, NULL,
				 "proxies has no target; add target: {group: GROUP} naming the "
				 "group of hosts that run these routes");
		return;
	}
	if (tv->type != PT_VAL_MAP) {
		pt_error(b->d, &node->pos, NULL,
			 "proxies.target must be a mapping {group: GROUP}, not a %s",
			 pt_val_type_name(tv->type));
		goto out;
	}
	check_keys(b, tv, target_keys, "proxies.target", NULL);
	b->rs->target_group = get_text(b, tv, "group", NULL, "proxies.target.group", &gnode,
				       &err);
	if (!b->rs->target_group) {
		if (!err)
			pt_error(b->d, &node->pos, NULL,
				 "proxies.target has no group; add group: GROUP");
	} else if (!(g = pt_inventory_group(b->inv, b->rs->target_group))) {
		pt_error(b->d, &gnode->pos, NULL,
			 "target group '%s' is not in the inventory; declare it, or fix the "
			 "name", b->rs->target_group);
	} else if (!pt_group_has_host(g, b->self)) {
		size_t n;
		struct pt_host **hosts = pt_group_all_hosts(b->inv, g, &n);
		char *names = host_names(hosts, n);

		pt_error(b->d, &gnode->pos, NULL,
			 "host '%s' is not in target group '%s', so it runs none of these routes; "
			 "give --host one of its hosts (%s) or add '%s' to the group",
			 b->self->name, b->rs->target_group, names, b->self->name);
		free(names);
		free(hosts);
	}
out:
	pt_val_unref(tv);
}

/* A dual route's IPv6 half has a name no declared route may have. */
static void check_twin_names(struct build *b, const struct pt_val *routes, struct cand *c,
			     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].r.family != AF_INET6 || !c[i].r.dual)
			continue;
		for (size_t k = 0; k < routes->n; k++) {
			if (strcmp(routes->map[k].key, c[i].r.name))
				continue;
			pt_error(b->d, &routes->map[k].key_pos, c[i].r.name,
				 "the name '%s' is that of the IPv6 half of dual route '%.*s' "
				 "(%s:%u:%u); rename one of them", c[i].r.name,
				 (int)(strlen(c[i].r.name) - strlen(PT_ROUTE_V6_SUFFIX)),
				 c[i].r.name, c[i].r.pos.file ? c[i].r.pos.file : "?",
				 c[i].r.pos.line, c[i].r.pos.col);
			c[i].ok = false;
			for (size_t j = 0; j < n; j++)
				if (!c[j].r.dual && c[j].r.name && !strcmp(c[j].r.name, c[i].r.name))
					c[j].ok = false;
		}
	}
}

static void build_routes(struct build *b, const struct pt_val *proxies)
{
	const struct pt_val *node;
	struct pt_val *rv;
	struct cand *c;
	size_t n = 0;
	bool err;

	rv = get(b, proxies, "routes", NULL, &node, &err);
	if (!rv) {
		if (!err)
			pt_warn(b->d, &proxies->pos, NULL,
				"proxies has no routes: nothing to forward; add "
				"routes: {NAME: ...}");
		return;
	}
	if (rv->type != PT_VAL_MAP) {
		if (rv->type == PT_VAL_NULL)
			pt_warn(b->d, &node->pos, NULL,
				"proxies.routes is empty: nothing to forward");
		else
			pt_error(b->d, &node->pos, NULL,
				 "proxies.routes must be a mapping of route names to routes, not "
				 "a %s", pt_val_type_name(rv->type));
		pt_val_unref(rv);
		return;
	}
	if (!rv->n)
		pt_warn(b->d, &node->pos, NULL, "proxies.routes is empty: nothing to forward");
	if (rv->n > PORTIER_MAX_ROUTES) {
		pt_error(b->d, &node->pos, NULL,
			 "proxies.routes has %zu routes, more than the %d portier can hold; "
			 "split them over more gateway groups", rv->n, PORTIER_MAX_ROUTES);
		pt_val_unref(rv);
		return;
	}
	/* Each route, followed by its IPv6 half if it is dual. */
	c = xcalloc(2 * rv->n, sizeof(*c));
	for (size_t i = 0; i < rv->n; i++) {
		build_route(b, &rv->map[i], &c[n], &c[n + 1]);
		n += c[n + 1].r.name ? 2 : 1;
	}
	check_twin_names(b, rv, c, n);
	check_duplicates(b, c, n);
	check_reply_clashes(b, c, n);

	b->rs->routes = xcalloc(n, sizeof(*b->rs->routes));
	for (size_t i = 0; i < n; i++) {
		if (c[i].ok)
			b->rs->routes[b->rs->n_routes++] = c[i].r;
		else
			route_clear(&c[i].r);
	}
	free(c);
	pt_val_unref(rv);
}

struct pt_routeset *pt_routes_build(const struct pt_inventory *inv,
				    const struct pt_build_opts *opts, struct pt_diags *d)
{
	struct build b = { .inv = inv, .o = opts, .d = d };
	struct pt_pos inv_pos = { .file = inv ? inv->path : NULL };
	const struct pt_val *node;
	struct pt_val *proxies;
	bool err;

	if (!inv || !opts || !opts->host || !d)
		return NULL;
	b.rs = xcalloc(1, sizeof(*b.rs));
	b.rs->host = xstrdup(opts->host);
	b.rs->egress = xcalloc(1, sizeof(*b.rs->egress));
	b.self = pt_inventory_host(inv, opts->host);
	if (!b.self) {
		char *names = host_names(inv->hosts, inv->n_hosts);

		pt_error(d, &inv_pos, NULL,
			 "host '%s' is not in the inventory; give --host one of its hosts (%s)",
			 opts->host, names);
		free(names);
		return b.rs;
	}
	b.addrs = xcalloc(inv->n_hosts, sizeof(*b.addrs));
	b.vars = pt_host_vars(inv, b.self);
	self_address(&b);

	pt_egress_build(b.vars, d, b.rs->egress);
	proxies = get(&b, b.vars, "proxies", NULL, &node, &err);
	if (!proxies) {
		/* A host of the nat-gateway-pool may have no routes at all: its
		 * vips (user/vips.c) and its egress are its job. */
		if (!err && !pt_val_get(b.vars, "vips") && !b.rs->egress->declared)
			pt_error(d, &b.self->pos, NULL,
				 "host '%s' has no 'proxies' variable; declare proxies (target "
				 "and routes) in group_vars/<group>.yml of its group",
				 opts->host);
	} else if (proxies->type != PT_VAL_MAP) {
		pt_error(d, &node->pos, NULL,
			 "proxies must be a mapping with target and routes, not a %s",
			 pt_val_type_name(proxies->type));
	} else {
		check_keys(&b, proxies, proxies_keys, "proxies", NULL);
		check_target(&b, proxies);
		parse_policy_list(&b, proxies, "allow", PT_POLICY_ALLOW, NULL,
				  &b.rs->pool_policy);
		parse_policy_list(&b, proxies, "deny", PT_POLICY_DENY, NULL, &b.rs->pool_policy);
		check_policy_dups(&b, &b.rs->pool_policy, NULL);
		build_routes(&b, proxies);
		check_policy_overlap(&b);
	}
	if (proxies)
		pt_val_unref(proxies);
	pt_val_unref(b.vars);
	free(b.addrs);
	return b.rs;
}
