/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * routes.h - the route model: what portier forwards, built from an
 * inventory's "proxies" for one host and validated, or built at runtime by
 * "portier route add". Everything the data plane needs, nothing Ansible.
 */
#ifndef PORTIER_ROUTES_H
#define PORTIER_ROUTES_H

#include <linux/types.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "inventory.h"
#include "portier.h"

/* How new flows pick a backend (docs/inventory.md, balance): round-robin;
 * a route's Maglev table indexed by a hash of the 5-tuple (maglev) or of
 * the client address (source). */
enum pt_balance { PT_BALANCE_ROUNDROBIN, PT_BALANCE_MAGLEV, PT_BALANCE_SOURCE };
/* The name of a balance ("roundrobin", "maglev", "source"). */
const char *pt_balance_name(unsigned int b);
/* A balance by name into *out: 0, or -EINVAL. */
int pt_balance_parse(const char *s, enum pt_balance *out);
/* The inventory host variable that holds a backend's weight. */
#define PT_WEIGHT_VAR "portier_weight"

/* The balance settings' checks, one text for the inventory and "route
 * add" (each message's first %s names the setting as its user wrote it:
 * "destination.maglev_size" or "table-size"). */
#define PT_BALANCE_BAD_FMT \
	"balance '%s' is not supported; use roundrobin, maglev or source"
#define PT_TABLE_SIZE_BAD_FMT \
	"%s '%s' is not a prime from %u to %u; use a prime such as 65537 (the default) or 16381"
#define PT_TABLE_SIZE_RR_FMT \
	"%s is for balance maglev or source, not roundrobin; remove it or change balance"
#define PT_TABLE_SIZE_SMALL_FMT \
	"a maglev table of %u slots is too small for %zu backends: it needs more than %u " \
	"slots per backend; set %s to a prime of at least %u"
#define PT_WEIGHT_BAD_FMT \
	"%s '%s' is not a weight; use a number from 0 to %u (0: no new connections)"
#define PT_RR_WEIGHTS_FMT \
	"the weights (%s) of the %zu backends give %u round-robin turns (sum / common " \
	"divisor %u), more than the %d a rotation holds; use smaller weights, or balance " \
	"maglev or source"
/* A table size as written: a prime in [PT_MAGLEV_SIZE_MIN,
 * PT_MAGLEV_SIZE_MAX] (user/maglev.h) into *out, or false. */
bool pt_table_size_parse(const char *s, uint32_t *out);
/* The smallest table size (a prime) for n backends: more than
 * PT_MAGLEV_SLOTS_PER_BACKEND slots each. */
uint32_t pt_table_size_needed(size_t n);
/* Does a table of m slots fit n backends (M > 100 N)? */
bool pt_table_size_fits(uint32_t m, size_t n);
/* The turns the weighted round-robin of weights w[0..n-1] takes (sum of
 * the weights over their common divisor, into *g): at most
 * PORTIER_MAX_ROUTE_BACKENDS fit a rotation. 0 if every weight is 0. */
unsigned int pt_rr_turns(const unsigned int *w, size_t n, unsigned int *g);
enum pt_nat { PT_NAT_SNAT, PT_NAT_DNAT };
/* SYN cookies of a TCP route (docs/inventory.md, syn_cookies). */
enum pt_syn_cookies { PT_SYN_COOKIES_AUTO, PT_SYN_COOKIES_ON, PT_SYN_COOKIES_OFF };

#define PT_OPT_HTTPLOG (1U << 0)
#define PT_OPT_TCPLOG (1U << 1)
#define PT_N_OPTIONS 2
/* Names of the PT_OPT_* bits, in bit order: pt_option_names[i] is 1U << i. */
extern const char *const pt_option_names[PT_N_OPTIONS];

/* An IPv4 or IPv6 address. family is AF_INET or AF_INET6 (0: none). */
struct pt_addr {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct pt_backend {
	char *host;		/* inventory host name; NULL if added at runtime */
	struct pt_addr addr;
	uint16_t port;
	bool local;		/* this host's own address: delivered locally */
	unsigned int weight;	/* PT_WEIGHT_VAR: 0..256, default 1 (HAProxy's) */
};

/* HAProxy's health-check defaults (timeout defaults to inter). */
#define PT_CHECK_INTER_DEFAULT_MS	2000
#define PT_CHECK_RISE_DEFAULT		2
#define PT_CHECK_FALL_DEFAULT		3

#define PT_CHECK_COUNT_MAX		1000	/* rise and fall */

/* Decimal digits only (no sign, no space), value in [min, max]. */
bool pt_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* HAProxy time: a number of ms, or with a unit ms, s, m, h; 1 ms to 24 h.
 * Returns false if s is not one. */
bool pt_parse_duration(const char *s, unsigned int *ms);

/* What a health check does: connect (HAProxy's plain "check"), or connect,
 * send an HTTP request and read the status line ("option httpchk" with
 * "http-check expect status"). */
enum pt_check_type { PT_CHECK_TCP, PT_CHECK_HTTP };

/* Health-check settings (HAProxy's names and defaults). The HTTP fields
 * count for type PT_CHECK_HTTP only; their sizes are those of struct
 * portier_route_meta, which stores them. */
struct pt_check {
	unsigned int inter_ms;	/* default 2000 */
	unsigned int timeout_ms; /* default = inter */
	unsigned int rise;	/* default 2 */
	unsigned int fall;	/* default 3 */
	uint16_t port;		/* 0 = the backend's port */
	uint8_t type;		/* enum pt_check_type, default TCP */
	uint8_t http_minor;	/* HTTP/1.x of the request: 0 (default) or 1 */
	uint16_t expect_min;	/* statuses that pass: expect_min..expect_max, */
	uint16_t expect_max;	/* default 200..399 (HAProxy's 2xx and 3xx) */
	char method[PORTIER_CHECK_METHOD_MAX];	/* default OPTIONS */
	char uri[PORTIER_CHECK_URI_MAX];	/* default "/" */
	char host[PORTIER_CHECK_HOST_MAX];	/* Host header; "" = none */
};

/* ---- source policy and per-source rate limits (user/policy.h) ---- */

enum pt_policy_action { PT_POLICY_ALLOW, PT_POLICY_DENY };

/* An IPv4 network: addr with its host bits zero, len 0..32. */
struct pt_cidr {
	struct pt_addr addr;
	uint8_t len;
};

/* One entry of an allow or deny list. */
struct pt_policy_entry {
	struct pt_cidr net;
	enum pt_policy_action action;
	bool runtime;		/* added by "portier policy add" */
	struct pt_pos pos;	/* where the inventory declares it */
};

/* The allow and deny lists of a route, or of the pool, in one array. */
struct pt_policy {
	struct pt_policy_entry *v;
	size_t n;
};

/* A per-source new-connection rate limit: rate connections per per_ms,
 * bursts of burst. rate 0 = none. */
struct pt_rate_limit {
	unsigned int rate;
	unsigned int per_ms;
	unsigned int burst;
	bool runtime;		/* set by "portier policy limit" */
};

/* A route's family key (docs/inventory.md, "Families"): which clients it
 * serves. A dual route becomes two data-plane routes, NAME (IPv4) and
 * NAME PT_ROUTE_V6_SUFFIX (IPv6), each with the backends of its family. */
enum pt_family { PT_FAMILY_IPV4, PT_FAMILY_IPV6, PT_FAMILY_DUAL };
const char *pt_family_name(enum pt_family f);	/* "ipv4", "ipv6", "dual" */
int pt_family_parse(const char *s, enum pt_family *out);	/* 0 or -EINVAL */
#define PT_ROUTE_V6_SUFFIX "/v6"

struct pt_route {
	char *name;
	char *mode;		/* "http" or "tcp" as written (layer 4 either way) */
	bool wildcard;		/* address "*" */
	struct pt_addr addr;	/* when !wildcard */
	int family;		/* AF_INET or AF_INET6: the clients it serves, its
				 * backends' family (0 = AF_INET, runtime callers) */
	bool dual;		/* one half of a family: dual route */
	uint16_t port;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	enum pt_balance balance;
	uint32_t table_size;	/* maglev, source: slots of the table (a prime) */
	enum pt_nat nat;
	enum pt_syn_cookies syn_cookies;	/* default auto */
	unsigned int options;	/* PT_OPT_* */
	char *dest_group;	/* NULL for runtime routes */
	uint16_t dest_port;
	struct pt_check check;
	struct pt_backend *backends;
	size_t n_backends;
	struct pt_policy policy;	/* the route's allow and deny lists */
	struct pt_rate_limit rate_limit;
	struct pt_pos pos;	/* where the route is declared */
};

struct pt_egress;	/* egress.h */

struct pt_routeset {
	char *host;		/* the host these routes are for */
	struct pt_addr host_addr;	/* its address, if known (family 0 if not) */
	char *target_group;
	struct pt_route *routes;
	size_t n_routes;
	struct pt_policy pool_policy;	/* proxies.allow, proxies.deny */
	struct pt_egress *egress;	/* the host's egress variable (egress.h);
					 * never NULL from pt_routes_build */
};

/* Options for building the route set. */
struct pt_build_opts {
	const char *host;	/* this host's inventory name (required) */
	/* Resolve a host name to an address of family (AF_INET or AF_INET6)
	 * the way Ansible connects: called when a host's ansible_host (or, with
	 * none, its name) is not an IP literal. NULL = getaddrinfo(family),
	 * its first answer (then AF_UNSPEC to tell -ENODATA). Returns 0, -ENOENT (no such name),
	 * -ENODATA (the name has no address of that family) or -errno. */
	int (*resolve)(const char *name, int family, struct pt_addr *out, void *arg);
	void *resolve_arg;
	/* Is addr one of this host's own addresses? NULL = compare with this
	 * host's resolved inventory address only. */
	bool (*is_local)(const struct pt_addr *addr, void *arg);
	void *is_local_arg;
};

/* Build and validate the routes of opts->host from inv. Every problem is
 * added to d (errors make d->n_errors non-zero; the set is still returned so
 * a caller can show what was understood). Returns NULL only on bad opts. */
struct pt_routeset *pt_routes_build(const struct pt_inventory *inv,
				    const struct pt_build_opts *opts, struct pt_diags *d);
void pt_routeset_free(struct pt_routeset *rs);

const struct pt_route *pt_routeset_find(const struct pt_routeset *rs, const char *name);

/* A backend (address, port, protocol) of two nat dnat routes with
 * different services (address, "*" included, or port): a reply from it
 * that no flow knows (another gateway of the pool made the flow) could
 * not be translated back to one service (docs/inventory.md, "One service
 * per dnat backend"). Backends of this host are exempt (their replies
 * leave by its stack). */
struct pt_reply_clash {
	const struct pt_route *first;	/* the route listed first */
	const struct pt_route *second;	/* the other route */
	const struct pt_backend *be;	/* the backend, as second has it */
};

/* Find the clashes among the routes v[0..n) (NULL entries are skipped)
 * and call fn once per backend of a later route that clashes with an
 * earlier one. Returns how many. Sorted: fast for large sets. */
size_t pt_reply_clashes(const struct pt_route *const *v, size_t n,
			void (*fn)(const struct pt_reply_clash *c, void *arg), void *arg);
/* The message of clash c, for an error (free it): names both routes, the
 * backend and both services, and what to do. */
char *pt_reply_clash_msg(const struct pt_reply_clash *c);

/* Text forms used by the CLI and messages. */
const char *pt_proto_name(uint8_t proto);
const char *pt_nat_name(enum pt_nat nat);
const char *pt_syn_cookies_name(enum pt_syn_cookies c);	/* "auto", "on", "off" */
/* What a route's SYN cookies are in effect: its syn_cookies for TCP, off
 * for UDP (cookies are a TCP handshake). */
enum pt_syn_cookies pt_route_syn_cookies(const struct pt_route *r);
/* "auto", "on" or "off" into *out: 0, or -EINVAL. */
int pt_syn_cookies_parse(const char *s, enum pt_syn_cookies *out);
/* PT_OPT_* bits as "httplog,tcplog", or "-" for none. */
const char *pt_options_str(unsigned int opts, char *buf, size_t len);
/* "203.0.113.1" ; buf at least INET6_ADDRSTRLEN */
const char *pt_addr_str(const struct pt_addr *a, char *buf, size_t len);
int pt_addr_parse(const char *s, struct pt_addr *out);	/* 0 or -EINVAL */
/* An address and port as every message, label and listing writes one:
 * "203.0.113.1:80", "[2001:db8::1]:80"; buf at least PT_ADDRPORT_STRLEN. */
#define PT_ADDRPORT_STRLEN (INET6_ADDRSTRLEN + 8)
const char *pt_addrport_str(const struct pt_addr *a, uint16_t port, char *buf, size_t len);
/* The reverse of pt_addrport_str, for every command line taking an
 * address and port: "203.0.113.1:80" or "[2001:db8::1]:80", port 1-65535.
 * An unbracketed IPv6 address with a port ("2001:db8::1:80") is refused:
 * its last group could be the port or part of the address. With
 * port_optional the port may be left out ("203.0.113.1", "[2001:db8::1]",
 * or a bare "2001:db8::1": without brackets every colon is the address's),
 * *port is then 0. 0, or -EINVAL with why in err (the text, then a hint:
 * "'2001:db8::1:80' is ambiguous: ..."), err_len at least
 * PT_ADDRPORT_ERR_LEN to hold it all. */
#define PT_ADDRPORT_ERR_LEN 256
int pt_addrport_parse(const char *s, bool port_optional, struct pt_addr *addr,
		      uint16_t *port, char *err, size_t err_len);
bool pt_addr_equal(const struct pt_addr *a, const struct pt_addr *b);
/* Order of addresses: family, then bytes in network order (0 = equal). */
int pt_addr_cmp(const struct pt_addr *a, const struct pt_addr *b);
/* The family of route r: AF_INET6 or AF_INET (family 0: its address's,
 * AF_INET for "*"). */
int pt_route_family(const struct pt_route *r);
/* A route's listening text: "203.0.113.1:80/tcp", "[2001:db8::1]:80/tcp",
 * "*:80/tcp"; " (ipv6)" or " (ipv4)" after a "*" route of family ipv6 and
 * after each half of a dual route. buf at least PT_LISTEN_STRLEN. */
#define PT_LISTEN_STRLEN (PT_ADDRPORT_STRLEN + 16)
const char *pt_route_listen_str(const struct pt_route *r, char *buf, size_t len);
/* Why IPv6 address a cannot be a route's or backend's address (link-local,
 * multicast, unspecified, IPv4-mapped), or NULL if it can. */
const char *pt_addr6_unusable(const struct pt_addr *a);
/* Is addr one of this host's interface addresses (getifaddrs)? Fits
 * pt_build_opts.is_local; arg is unused. */
bool pt_host_has_addr(const struct pt_addr *addr, void *arg);

#endif
