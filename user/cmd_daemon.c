// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * cmd_daemon.c - "portier daemon": build this host's routes from the
 * inventory, load (or adopt) the data plane, attach it to both NICs, fill
 * the maps, then wait in one poll loop:
 *   SIGHUP          re-read the inventory, apply the difference (a bad
 *                   inventory changes nothing and is logged); routes added
 *                   at runtime are kept unless the inventory takes their
 *                   name or listen key; the result goes to portier_state
 *                   for "portier reload"
 *   SIGINT/SIGTERM  clean stop: detach and unpin (unless --keep)
 *   SIGUSR1         "portier vrrp notify" wrote a VRRP role: read the roles,
 *                   re-read the local addresses (a VIP came or went); the
 *                   flow sync's role follows the host's (MASTER sends)
 *   timer           refresh local addresses, expire idle flows, follow
 *                   the NICs' MTUs (the MSS of cookie SYN-ACKs)
 * A kill -9 leaves links and maps pinned: forwarding goes on, and the next
 * daemon adopts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <bpf/libbpf.h>

#include "bgp_announce.h"
#include "cli.h"
#include "connlog.h"
#include "ct_table.h"
#include "dataplane.h"
#include "diag.h"
#include "flowsync.h"
#include "health_dp.h"
#include "inventory.h"
#include "metrics_collect.h"
#include "nic_check.h"
#include "nofile.h"
#include "portier.skel.h"
#include "routes.h"
#include "syn_mss.h"
#include "util.h"
#include "vips.h"
#include "vrrp.h"

#define DIAG_BUF	2048	/* one formatted diagnostic */
#define TICK_SECONDS	5	/* period of local-address refresh and GC */
#define FD_RESERVE	1024	/* descriptors kept for all but metrics connections:
				 * maps, links, health-check sockets, logs */
#define METRICS_TIMEOUT_MAX_S	3600
#define SYN_RATE_MAX		10000000	/* --syn-cookie-rate, SYN/s per CPU */

/* What the daemon was asked to do. */
struct daemon_args {
	const char *inventory;		/* -i PATH */
	const char *host;		/* --host NAME, NULL = short hostname */
	const char *input;		/* --input IF (client side), else the
					 * inventory's input_interface */
	const char *output;		/* --output IF (backend side), else its
					 * output_interface */
	char *inv_input, *inv_output;	/* those from the inventory (owned) */
	const char *bpffs;		/* --bpffs DIR: pin directory */
	const char *metrics;		/* --metrics ADDR:PORT, NULL = none */
	struct pt_metrics_limits mlim;	/* --metrics-max-conns, --metrics-per-addr,
					 * --metrics-timeout */
	bool flush_down;		/* --flush-down: a DOWN backend's flows go */
	int nat;			/* --nat: -1 = as each route says */
	__u32 ct_entries;		/* --conntrack-size N, 0 = default */
	__u32 ct6_entries;		/* --conntrack6-size N, 0 = default */
	__u16 port_min, port_max;	/* --snat-ports MIN-MAX */
	bool keep;			/* --keep: a clean stop leaves it running */
	bool generic;			/* --generic: generic (skb) XDP mode */
	struct pt_connlog_opts log;	/* --log stdout|syslog: connection logs */
	__u32 log_ring;			/* --log-ring BYTES, 0 = default */
	__u32 syn_rate;			/* --syn-cookie-rate N: SYN/s per CPU and
					 * route above which "auto" turns on */
	struct pt_bgp_opts bgp;		/* --bgp-include PATH (NULL: no BGP),
					 * --birdc PATH, --bird-socket PATH */
	bool sync;			/* --sync-peer given: flow sync on */
	struct pt_flowsync_opts sync_o;	/* --sync-peer, --sync-listen, --sync-role */
	bool sync_listen;		/* --sync-listen given */
	__u32 sync_ring;		/* --sync-ring BYTES, 0 = default */
	char hostbuf[PT_HOSTNAME_BUF];
};

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "portier[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int do_help(int argc, char **argv)
{
	if (pt_help_json(argc, argv))
		return 0;
	fprintf(stderr,
		"Usage: %1$s daemon -i PATH [--host NAME] [--input IF] [--output IF]\n"
		"              [--nat { snat | dnat }] [--bpffs DIR] [--conntrack-size N]\n"
		"              [--conntrack6-size N] [--snat-ports MIN-MAX] [--keep] [--generic]\n"
		"              [--log { stdout | syslog }] [--log-ring BYTES]\n"
		"              [--metrics ADDR:PORT] [--metrics-max-conns N]\n"
		"              [--metrics-per-addr N] [--metrics-timeout SECONDS]\n"
		"              [--flush-down] [--syn-cookie-rate N]\n"
		"              [--bgp-include PATH [--birdc PATH] [--bird-socket PATH]]\n"
		"              [--sync-peer ADDR:PORT [--sync-listen ADDR:PORT]\n"
		"               [--sync-role { master | backup }] [--sync-ring BYTES]]\n"
		"       %1$s daemon help\n"
		"\n"
		"  Load the XDP data plane on both NICs, fill it with the routes of host\n"
		"  NAME from the inventory, and run until SIGINT/SIGTERM. SIGHUP re-reads\n"
		"  the inventory and applies the difference. Maps and links are pinned\n"
		"  under DIR; a restarted daemon adopts them, keeping every flow. Every\n"
		"  TCP backend is health-checked (TCP connect; destination.check: inter\n"
		"  2s, rise 2, fall 3 by default); see docs/observability.md.\n"
		"\n"
		"  -i, --inventory PATH  the Ansible inventory, a file or a directory\n"
		"  --host NAME           the inventory host whose routes to load\n"
		"                        (default: the short hostname)\n"
		"  --input IF            the client-side NIC (default, or if IF is \"\":\n"
		"                        the host's input_interface in the inventory)\n"
		"  --output IF           the backend-side NIC; its IPv4 address is the\n"
		"                        SNAT source, its global IPv6 address the NAT66\n"
		"                        source (default: output_interface)\n"
		"  --nat snat|dnat       force the NAT mode of every route (default: as\n"
		"                        the route says, snat unless it sets nat: dnat)\n"
		"  --bpffs DIR           pin directory (default %2$s)\n"
		"  --conntrack-size N    connection-table entries, two entries per flow\n"
		"                        (default %6$d)\n"
		"  --conntrack6-size N   the IPv6 connection table's entries, two per\n"
		"                        flow (default %13$d)\n"
		"  --snat-ports MIN-MAX  SNAT source ports (default %3$d-%4$d)\n"
		"  --keep                on SIGINT/SIGTERM leave the data plane attached\n"
		"                        and pinned\n"
		"  --generic             generic (skb) XDP instead of native: slower\n"
		"  --log stdout|syslog   where the connection logs of routes with tcplog\n"
		"                        or httplog go (default stdout; docs/connlog.md)\n"
		"  --log-ring BYTES      their ring buffer, a power of two\n"
		"                        (default %5$d)\n"
		"  --metrics ADDR:PORT   serve Prometheus metrics at\n"
		"                        http://ADDR:PORT/metrics\n"
		"  --metrics-max-conns N connections to it at once (default %7$d);\n"
		"                        the file-descriptor limit is raised to fit\n"
		"  --metrics-per-addr N  connections from one client address\n"
		"                        (default %8$d); more are closed at once\n"
		"  --metrics-timeout SECONDS\n"
		"                        a connection that has not sent a complete\n"
		"                        request this long after it opened (or after\n"
		"                        its last answer) is closed (default %9$d)\n"
		"  --flush-down          when a backend goes DOWN, delete its flows\n"
		"                        (default: established flows are left to the\n"
		"                        endpoints)\n"
		"  --syn-cookie-rate N   SYNs a second, per CPU and route, above which\n"
		"                        a route with syn_cookies auto answers SYNs\n"
		"                        with cookies (1 to %11$d, default %10$d)\n"
		"  --bgp-include PATH    announce by BGP through bird2: write to PATH\n"
		"                        (bird.conf includes it) the static /32 routes\n"
		"                        of the routes' explicit addresses (not \"*\")\n"
		"                        that have a backend UP, and run 'birdc\n"
		"                        configure' when they change; a clean stop\n"
		"                        withdraws them (docs/operations.md)\n"
		"  --birdc PATH          the birdc to run (default: birdc from PATH)\n"
		"  --bird-socket PATH    bird's control socket (default: birdc's)\n"
		"  --sync-peer ADDR:PORT flow sync: the peer gateway's sync address; the\n"
		"                        MASTER sends its flows there (UDP), either side\n"
		"                        writes what it receives into its table, so the\n"
		"                        BACKUP carries the flows on after a failover\n"
		"                        (docs/operations.md, \"Flow sync\"). Default: the\n"
		"                        inventory's, when the host's vips have one peer\n"
		"                        (its sync_address or ansible_host, port 7799)\n"
		"  --sync-listen ADDR:PORT  where to receive them (default 0.0.0.0 and\n"
		"                        the peer's port; from the inventory: this host's\n"
		"                        sync_address or ansible_host)\n"
		"  --sync-role master|backup  the role until keepalived notifies one\n"
		"                        (default backup); then the host's VRRP role\n"
		"                        (portier vrrp notify): MASTER sends\n"
		"  --sync-ring BYTES     the sync events' ring buffer, a power of two\n"
		"                        (default %12$d)\n"
		"\n"
		"  The MSS that cookie SYN-ACKs offer is the smaller MTU of the two\n"
		"  NICs less 40, followed every tick.\n",
		pt_g.prog, PORTIER_PIN_DIR_DEFAULT, PORTIER_SNAT_PORT_MIN_DEFAULT,
		PORTIER_SNAT_PORT_MAX_DEFAULT, PORTIER_CONNLOG_RING_DEFAULT,
		PORTIER_CT_DEFAULT_ENTRIES, PT_METRICS_CONNS_DEFAULT, PT_METRICS_PER_ADDR_DEFAULT,
		PT_METRICS_TIMEOUT_DEFAULT_S, PORTIER_SYN_RATE_DEFAULT, SYN_RATE_MAX,
		PORTIER_SYNC_RING_DEFAULT, PORTIER_CT6_DEFAULT_ENTRIES);
	return 0;
}

static int parse_u32(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *out > max ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct daemon_args *a)
{
	enum { O_HOST = 256, O_INPUT, O_OUTPUT, O_NAT, O_BPFFS, O_CT, O_CT6, O_PORTS, O_KEEP, O_GEN,
	       O_LOG, O_LOG_RING, O_METRICS, O_FLUSH, O_M_CONNS, O_M_PER_ADDR, O_M_TIMEOUT,
	       O_SYN_RATE, O_BGP_INCLUDE, O_BIRDC, O_BIRD_SOCKET, O_SYNC_PEER, O_SYNC_LISTEN,
	       O_SYNC_ROLE, O_SYNC_RING };
	static const struct option opts[] = {
		{ "inventory", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, O_HOST },
		{ "input", required_argument, NULL, O_INPUT },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "nat", required_argument, NULL, O_NAT },
		{ "bpffs", required_argument, NULL, O_BPFFS },
		{ "conntrack-size", required_argument, NULL, O_CT },
		{ "conntrack6-size", required_argument, NULL, O_CT6 },
		{ "snat-ports", required_argument, NULL, O_PORTS },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "generic", no_argument, NULL, O_GEN },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "metrics-max-conns", required_argument, NULL, O_M_CONNS },
		{ "metrics-per-addr", required_argument, NULL, O_M_PER_ADDR },
		{ "metrics-timeout", required_argument, NULL, O_M_TIMEOUT },
		{ "flush-down", no_argument, NULL, O_FLUSH },
		{ "log", required_argument, NULL, O_LOG },
		{ "log-ring", required_argument, NULL, O_LOG_RING },
		{ "syn-cookie-rate", required_argument, NULL, O_SYN_RATE },
		{ "bgp-include", required_argument, NULL, O_BGP_INCLUDE },
		{ "birdc", required_argument, NULL, O_BIRDC },
		{ "bird-socket", required_argument, NULL, O_BIRD_SOCKET },
		{ "sync-peer", required_argument, NULL, O_SYNC_PEER },
		{ "sync-listen", required_argument, NULL, O_SYNC_LISTEN },
		{ "sync-role", required_argument, NULL, O_SYNC_ROLE },
		{ "sync-ring", required_argument, NULL, O_SYNC_RING },
		{ 0 }
	};
	unsigned long v, lo, hi;
	char *dash;
	int opt;

	a->nat = -1;
	a->log.notice = logmsg;
	a->bpffs = pt_g.bpffs ? pt_g.bpffs : PORTIER_PIN_DIR_DEFAULT;
	a->port_min = PORTIER_SNAT_PORT_MIN_DEFAULT;
	a->port_max = PORTIER_SNAT_PORT_MAX_DEFAULT;
	a->syn_rate = PORTIER_SYN_RATE_DEFAULT;
	a->mlim = (struct pt_metrics_limits){ .conns = PT_METRICS_CONNS_DEFAULT,
					      .per_addr = PT_METRICS_PER_ADDR_DEFAULT,
					      .timeout_ms = PT_METRICS_TIMEOUT_DEFAULT_S * 1000 };
	/* argv[-1] is "daemon": getopt skips it as the program name. */
	optind = 0;
	opterr = 0;	/* errors are reported once, below */
	while ((opt = getopt_long(argc + 1, argv - 1, "i:", opts, NULL)) >= 0) {
		switch (opt) {
		case 'i':
			a->inventory = optarg;
			break;
		case O_HOST:
			a->host = optarg;
			break;
		case O_INPUT:	/* "" (an empty unit setting): the inventory's */
			a->input = *optarg ? optarg : NULL;
			break;
		case O_OUTPUT:
			a->output = *optarg ? optarg : NULL;
			break;
		case O_NAT:
			if (!strcmp(optarg, "snat")) {
				a->nat = PT_NAT_SNAT;
			} else if (!strcmp(optarg, "dnat")) {
				a->nat = PT_NAT_DNAT;
			} else {
				p_err("--nat '%s': expected snat or dnat", optarg);
				return -EINVAL;
			}
			break;
		case O_BPFFS:
			a->bpffs = optarg;
			break;
		case O_CT:
		case O_CT6:
			if (parse_u32(optarg, UINT32_MAX, &v) || v < 2) {
				p_err("--conntrack%s-size '%s': expected a number of entries >= 2",
				      opt == O_CT6 ? "6" : "", optarg);
				return -EINVAL;
			}
			*(opt == O_CT6 ? &a->ct6_entries : &a->ct_entries) = v;
			break;
		case O_PORTS:
			dash = strchr(optarg, '-');
			if (!dash || (*dash = '\0', parse_u32(optarg, UINT16_MAX, &lo)) ||
			    parse_u32(dash + 1, UINT16_MAX, &hi) || !lo || lo > hi) {
				p_err("--snat-ports: expected MIN-MAX with 1 <= MIN <= MAX <= 65535");
				return -EINVAL;
			}
			a->port_min = lo;
			a->port_max = hi;
			break;
		case O_KEEP:
			a->keep = true;
			break;
		case O_GEN:
			a->generic = true;
			break;
		case O_METRICS:
			a->metrics = optarg;
			break;
		case O_FLUSH:
			a->flush_down = true;
			break;
		case O_M_CONNS:
		case O_M_PER_ADDR:
			if (parse_u32(optarg, INT32_MAX, &v) || !v) {
				p_err("%s '%s': expected a number of connections >= 1",
				      opt == O_M_CONNS ? "--metrics-max-conns" : "--metrics-per-addr",
				      optarg);
				return -EINVAL;
			}
			*(opt == O_M_CONNS ? &a->mlim.conns : &a->mlim.per_addr) = v;
			break;
		case O_M_TIMEOUT:
			if (parse_u32(optarg, METRICS_TIMEOUT_MAX_S, &v) || !v) {
				p_err("--metrics-timeout '%s': expected whole seconds from 1 to %d",
				      optarg, METRICS_TIMEOUT_MAX_S);
				return -EINVAL;
			}
			a->mlim.timeout_ms = v * 1000;
			break;
		case O_SYN_RATE:
			if (parse_u32(optarg, SYN_RATE_MAX, &v) || !v) {
				p_err("--syn-cookie-rate '%s': expected SYNs a second per CPU and "
				      "route, from 1 to %d", optarg, SYN_RATE_MAX);
				return -EINVAL;
			}
			a->syn_rate = v;
			break;
		case O_BGP_INCLUDE:
			a->bgp.include = optarg;
			break;
		case O_BIRDC:
			a->bgp.birdc = optarg;
			break;
		case O_BIRD_SOCKET:
			a->bgp.socket = optarg;
			break;
		case O_SYNC_PEER:
		case O_SYNC_LISTEN:
			if (pt_flowsync_parse_addr(optarg, opt == O_SYNC_PEER ? &a->sync_o.peer :
						   &a->sync_o.listen)) {
				p_err("%s '%s': expected an IPv4 ADDR:PORT",
				      opt == O_SYNC_PEER ? "--sync-peer" : "--sync-listen", optarg);
				return -EINVAL;
			}
			*(opt == O_SYNC_PEER ? &a->sync : &a->sync_listen) = true;
			break;
		case O_SYNC_ROLE:
			if (pt_flowsync_parse_role(optarg, &a->sync_o.master)) {
				p_err("--sync-role '%s': expected master or backup", optarg);
				return -EINVAL;
			}
			break;
		case O_SYNC_RING:
			if (pt_connlog_parse_ring(optarg, &a->sync_ring)) {
				p_err("--sync-ring '%s': expected bytes, a power of two from the "
				      "page size to 1 GiB", optarg);
				return -EINVAL;
			}
			break;
		case O_LOG:
			if (pt_connlog_parse_sink(optarg, &a->log.sink)) {
				p_err("--log '%s': expected stdout or syslog", optarg);
				return -EINVAL;
			}
			break;
		case O_LOG_RING:
			if (pt_connlog_parse_ring(optarg, &a->log_ring)) {
				p_err("--log-ring '%s': expected bytes, a power of two from the "
				      "page size to 1 GiB", optarg);
				return -EINVAL;
			}
			break;
		default:
			p_err("daemon option '%s' is unknown or lacks its value; try '%s daemon help'",
			      argv[optind - 2], pt_g.prog);
			return -EINVAL;
		}
	}
	if (optind <= argc) {
		p_err("unexpected argument '%s'; try '%s daemon help'", argv[optind - 1],
		      pt_g.prog);
		return -EINVAL;
	}
	if (!a->inventory) {
		p_err("daemon needs -i PATH; try '%s daemon help'", pt_g.prog);
		return -EINVAL;
	}
	if (!a->host) {
		int err = pt_short_hostname(a->hostbuf, sizeof(a->hostbuf));

		if (err) {
			p_err("cannot read the hostname (%s); give --host NAME", strerror(-err));
			return err;
		}
		a->host = a->hostbuf;
	}
	if ((a->bgp.birdc || a->bgp.socket) && !a->bgp.include) {
		p_err("--birdc and --bird-socket need --bgp-include PATH; try '%s daemon help'",
		      pt_g.prog);
		return -EINVAL;
	}
	a->bgp.host = a->host;
	if (a->sync_listen && !a->sync) {
		p_err("--sync-listen needs --sync-peer ADDR:PORT; try '%s daemon help'", pt_g.prog);
		return -EINVAL;
	}
	if (a->sync && !a->sync_listen) {
		a->sync_o.listen.sin_family = AF_INET;
		a->sync_o.listen.sin_port = a->sync_o.peer.sin_port;
	}
	a->sync_o.notice = logmsg;
	return 0;
}

/* Read the inventory and build the routes, and the pool's NICs and VIPs
 * into *pool (vips.h); every diagnostic is logged. Returns NULL if there
 * were errors (then *pool is NULL too). */
static struct pt_routeset *build_routes(const struct daemon_args *a, struct pt_pool **pool)
{
	struct pt_build_opts opts = { .host = a->host, .is_local = pt_host_has_addr };
	struct pt_diags d = {};
	struct pt_inventory *inv;
	struct pt_routeset *rs = NULL;
	char buf[DIAG_BUF];

	*pool = NULL;
	inv = pt_inventory_load(a->inventory, &d);
	if (inv && !d.n_errors) {
		rs = pt_routes_build(inv, &opts, &d);
		*pool = pt_pool_build(inv, a->host, &d);
	}
	for (size_t i = 0; i < d.n; i++) {
		pt_diag_format(&d.v[i], buf, sizeof(buf));
		logmsg("%s", buf);
	}
	if (!inv)
		logmsg("%s: cannot read the inventory", a->inventory);
	if (rs && d.n_errors) {
		pt_routeset_free(rs);
		rs = NULL;
	}
	if (!rs) {
		pt_pool_free(*pool);
		*pool = NULL;
	}
	if (rs && a->nat >= 0)
		for (size_t i = 0; i < rs->n_routes; i++)
			rs->routes[i].nat = a->nat;
	if (rs)		/* egress translates to the output VIP by default */
		pt_pool_egress_source(*pool, rs->egress);
	pt_diags_free(&d);
	pt_inventory_free(inv);
	return rs;
}

static int write_sysctl(const char *iface, const char *name, const char *val)
{
	char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/%s", iface, name);
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f || fputs(val, f) < 0)
		err = -errno;
	if (f && fclose(f) && !err)
		err = -errno;
	if (err)
		logmsg("cannot set %s to %s: %s", path, val, strerror(-err));
	free(path);
	return err;
}

/* The kernel settings the data plane relies on, on both NICs: forwarding
 * (bpf_fib_lookup refuses otherwise, and the kernel forwards what the program
 * passes for neighbour resolution); accept_local and a loose reverse-path
 * filter, so a rewritten packet passed to the stack whose source is this
 * host's own address (an SNAT request on the input NIC, a translated reply
 * on the output NIC) is forwarded, not dropped as a martian. */
static int set_sysctls(const struct daemon_args *a)
{
	static const char *const set[][2] = {
		{ "forwarding", "1" }, { "accept_local", "1" }, { "rp_filter", "2" },
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(set) && !err; i++) {
		err = write_sysctl(a->input, set[i][0], set[i][1]);
		if (!err)
			err = write_sysctl(a->output, set[i][0], set[i][1]);
	}
	return err;
}

/* The first IPv4 address of an interface: the SNAT source. */
static int iface_addr(const char *iface, struct portier_addr *out)
{
	struct ifaddrs *ifa, *i;
	int err = -EADDRNOTAVAIL;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, iface)) {
			memset(out, 0, sizeof(*out));
			out->a32[0] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			err = 0;
			break;
		}
	freeifaddrs(ifa);
	return err;
}

static void log_warnings(struct pt_dataplane *dp)
{
	const char *w;

	for (size_t i = 0; (w = pt_dp_warning(dp, i)); i++)
		logmsg("warning: %s", w);
}

/* The connection log consumer; NULL if it could not start (logs off). */
static struct pt_connlog *connlog;

struct daemon_obs;
static void vrrp_follow(struct daemon_obs *o, const struct pt_pool *pool);

/* A NIC the inventory now names otherwise than the one in use. */
static void nic_moved(const char *var, const char *now, const char *inv_now, const char *inv)
{
	if (inv && inv_now && strcmp(inv, inv_now))
		logmsg("reload: %s is %s now, but the daemon runs on %s: restart it to move "
		       "(NICs are not changed by a reload)", var, inv_now, now);
}

static void reload(struct pt_dataplane *dp, const struct daemon_args *a, struct daemon_obs *o)
{
	struct pt_pool *pool;
	struct pt_routeset *rs = build_routes(a, &pool);
	bool half = false;
	int err = -EINVAL;

	if (!rs) {
		logmsg("reload: the inventory has errors; nothing changed");
	} else if ((err = pt_dp_apply(dp, rs))) {
		half = pt_dp_half_written(dp);
		logmsg("reload: %s%s", pt_dp_last_error(dp), half ? "" : "; nothing changed");
	} else {
		log_warnings(dp);
		logmsg("reload: %zu routes applied", rs->n_routes);
		pt_connlog_routes(connlog, rs);
		nic_moved(PT_VAR_INPUT_IF, a->input, pool->input, a->inv_input);
		nic_moved(PT_VAR_OUTPUT_IF, a->output, pool->output, a->inv_output);
		vrrp_follow(o, pool);
	}
	pt_routeset_free(rs);
	pt_pool_free(pool);
	/* Tell "portier reload" (it waits for portier_state.reloads to move). */
	if (pt_dp_reload_done(dp, err, half))
		logmsg("reload: %s", pt_dp_last_error(dp));
}

/* The MSS cookie SYN-ACKs offer, from the NICs' MTUs, into cfg->syn_mss.
 * Returns true if it changed (logged then, or always with say); a NIC
 * whose MTU cannot be read leaves it as it is, with a warning. */
static bool syn_mss_from_nics(const struct daemon_args *a, struct portier_config *cfg, bool say)
{
	unsigned int in_mtu = 0, out_mtu = 0;
	__u16 mss;
	int err;

	err = pt_nic_mtu(a->input, &in_mtu);
	if (!err)
		err = pt_nic_mtu(a->output, &out_mtu);
	if (err) {
		logmsg("warning: cannot read the MTU of --input %s or --output %s (%s): SYN "
		       "cookies keep offering MSS %u", a->input, a->output, strerror(-err),
		       cfg->syn_mss);
		return false;
	}
	mss = pt_syn_mss_for(in_mtu, out_mtu);
	if (mss == cfg->syn_mss && !say)
		return false;
	logmsg("SYN cookies offer MSS %u (MTU %u on %s, %u on %s); syn_cookies auto turns "
	       "them on above %u SYN/s per CPU and route", mss, in_mtu, a->input, out_mtu,
	       a->output, cfg->syn_rate);
	if (mss == cfg->syn_mss)
		return false;
	cfg->syn_mss = mss;
	return true;
}

/* Say when IPv6 routes are loaded but the output NIC has no global IPv6
 * address for NAT66 (snat_addr6 all-zero), and when that is over: once
 * per change, checked at start, every tick and after a reload. */
static void snat6_check(struct pt_dataplane *dp, const char *output)
{
	static bool said;
	bool missing = pt_dp_snat6_missing(dp);

	if (missing && !said)
		logmsg("warning: IPv6 routes are loaded but output interface %s has no global "
		       "IPv6 address: new flows of IPv6 snat routes are dropped "
		       "(snat_exhausted) until one is added to %s", output, output);
	else if (!missing && said)
		logmsg("IPv6: output interface %s has a global IPv6 address for NAT66 now",
		       output);
	said = missing;
}

static void tick(struct pt_dataplane *dp, const struct daemon_args *a)
{
	struct portier_config cfg = *pt_dp_config(dp);
	size_t n = 0;

	if (syn_mss_from_nics(a, &cfg, false) && pt_dp_set_config(dp, &cfg))
		logmsg("%s", pt_dp_last_error(dp));
	if (pt_dp_refresh_macs(dp))	/* a NIC's MAC changed: frames to the new one */
		logmsg("%s", pt_dp_last_error(dp));
	snat6_check(dp, a->output);

	if (pt_dp_sync(dp))	/* runtime changes, for health_sync and metrics */
		logmsg("%s", pt_dp_last_error(dp));
	if (pt_dp_refresh_local(dp))
		logmsg("%s", pt_dp_last_error(dp));
	if (pt_dp_gc(dp, &n))
		logmsg("conntrack gc: %s", pt_dp_last_error(dp));
	else if (n)
		logmsg("conntrack gc: %zu idle entries removed", n);
	pt_connlog_tick(connlog);
}

/* Health checks and metrics, driven by the poll loop. */
struct daemon_obs {
	struct pt_dataplane *dp;
	struct pt_health *health;
	struct pt_metrics_server *metrics;	/* NULL without --metrics */
	bool flush_down;			/* --flush-down */
	bool publish_failed;			/* the last portier_health write
						 * failed (said once) */
	struct pt_bgp *bgp;			/* NULL without --bgp-include */
	struct pt_vrrp_watch vrrp;		/* the roles of the pool's VIPs */
};

/* Announce by BGP what the data plane serves now (a change is logged, a
 * failure too, and retried at the next call). */
static void bgp_sync(struct daemon_obs *o)
{
	if (o->bgp && pt_bgp_update(o->bgp, o->dp))
		logmsg("%s", pt_bgp_msg(o->bgp));
}

/* Flow sync with the peer gateway; NULL without it. */
static struct pt_flowsync *flowsync;
static bool sync_master;	/* its role now */

/* The flow sync's role follows keepalived's, through portier_vrrp (one
 * mechanism: "portier vrrp notify" and SIGUSR1): MASTER of the pool's VIPs
 * (or, with none declared, of any virtual router notified) sends its
 * flows, anything else receives them. No role notified yet: the one given
 * at start (--sync-role) stays. Becoming MASTER resyncs the peer whole
 * (user/flowsync.c). */
static void sync_follow(struct daemon_obs *o)
{
	unsigned int role = o->vrrp.n ? o->vrrp.host_role :
			    pt_vrrp_host_role(o->vrrp.fd, NULL, 0);
	bool master = role == PORTIER_VRRP_MASTER;
	int err;

	if (!flowsync || role == PORTIER_VRRP_UNKNOWN || master == sync_master)
		return;
	err = pt_flowsync_set_master(flowsync, master);
	if (err) {
		logmsg("flow sync: cannot become %s: %s", master ? "MASTER" : "BACKUP",
		       strerror(-err));
		return;
	}
	sync_master = master;
	logmsg("flow sync: %s (vrrp: %s)", master ? "MASTER: sending flows to the peer" :
	       "BACKUP: receiving the peer's flows", pt_vrrp_role_name(role));
}

/* This host's VRRP role changed (w->host_role): a VIP came or went, so
 * the "*" routes' local addresses are read again at once rather than at
 * the next tick. Flow replication (issue 17) follows the role from here:
 * the MASTER sends its flows, the BACKUP receives. */
static void vrrp_role_changed(struct daemon_obs *o)
{
	if (pt_dp_refresh_local(o->dp))
		logmsg("%s", pt_dp_last_error(o->dp));
	sync_follow(o);
}

/* Follow the VIPs of pool (after start and every reload). */
static void vrrp_follow(struct daemon_obs *o, const struct pt_pool *pool)
{
	pt_vrrp_watch_init(&o->vrrp, bpf_map__fd(pt_dp_skel(o->dp)->maps.portier_vrrp), pool,
			   logmsg);
	vrrp_role_changed(o);
}

/* SIGUSR1 ("portier vrrp notify") or a tick: the roles again. On a signal
 * the local addresses are read even if the host's role did not change (one
 * of several VIPs moved). */
static void vrrp_poll(struct daemon_obs *o, bool signalled)
{
	if (pt_vrrp_watch_poll(&o->vrrp, logmsg) || signalled)
		vrrp_role_changed(o);
	else
		sync_follow(o);	/* no VIPs declared: any notified role */
}

/* A backend changed state: log it, move it out of or into the rotation,
 * and say it loudly when a route has no backend left. */
static void on_health(void *arg, const struct pt_health_event *ev)
{
	struct daemon_obs *o = arg;
	char buf[DIAG_BUF];
	size_t n = 0;

	pt_health_event_str(ev, buf, sizeof(buf));
	logmsg("%s", buf);
	if (o->dp && pt_health_apply(o->dp, ev))
		logmsg("health: %s", pt_dp_last_error(o->dp));
	if (o->dp && o->flush_down && !ev->new_up) {
		if (pt_health_flush_flows(o->dp, ev, &n))
			logmsg("--flush-down: cannot remove all flows of the backend");
		else if (n)
			logmsg("--flush-down: %zu connection-table entries removed", n);
	}
	if (!ev->new_up && !ev->route_up)
		logmsg("route %s: ALL %zu backends DOWN: new connections are dropped "
		       "(portier_drops_total{reason=\"no_backend\"})",
		       ev->status->route, ev->route_total);
	bgp_sync(o);
}

/* Every check result goes to portier_health for "portier backend show". A
 * slot that changed hands since the last sync (-ESTALE) is skipped: the
 * next sync (one tick) retags the target. */
static void on_result(void *arg, const struct pt_health_status *st)
{
	struct daemon_obs *o = arg;
	int err = o->dp ? pt_health_publish(o->dp, st) : 0;

	if (err && err != -ESTALE && !o->publish_failed)
		logmsg("health: cannot write map %s: %s (backend show lacks check results)",
		       PORTIER_MAP_HEALTH, strerror(-err));
	o->publish_failed = err && err != -ESTALE;
}

static int fill_metrics(void *arg, struct pt_metrics_snapshot *s)
{
	struct daemon_obs *o = arg;
	int err = pt_metrics_collect(o->dp, o->health, s);

	if (!err)
		pt_flowsync_metrics(flowsync, &s->sync);
	return err;
}

static void health_run(struct daemon_obs *o)
{
	int err = pt_health_run(o->health);

	if (err)
		logmsg("health checks: %s", strerror(-err));
}

/* Check what the data plane holds now (after a reload, a runtime change). */
static void health_sync(struct daemon_obs *o)
{
	int err = pt_health_sync(o->health, o->dp);

	if (err)
		logmsg("health checks: cannot follow the routes: %s", strerror(-err));
}

/* Signals through a signalfd, periodic work through a timerfd, one poll.
 * Returns when asked to stop. */
static int run_loop(struct pt_dataplane *dp, const struct daemon_args *a,
		    struct daemon_obs *obs)
{
	struct itimerspec its = { .it_interval = { TICK_SECONDS, 0 },
				  .it_value = { TICK_SECONDS, 0 } };
	struct pollfd pfd[6];
	sigset_t mask;
	int err = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	pfd[0].fd = signalfd(-1, &mask, SFD_CLOEXEC);
	pfd[1].fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	pfd[2].fd = pt_connlog_fd(connlog);	/* connection log events */
	pfd[3].fd = pt_health_fd(obs->health);
	pfd[4].fd = obs->metrics ? pt_metrics_server_fd(obs->metrics) : -1;	/* -1: ignored */
	pfd[5].fd = pt_flowsync_fd(flowsync);
	for (size_t i = 0; i < ARRAY_SIZE(pfd); i++)
		pfd[i].events = POLLIN;
	if (pfd[0].fd < 0 || pfd[1].fd < 0 || timerfd_settime(pfd[1].fd, 0, &its, NULL)) {
		logmsg("cannot set up signals and timer: %s", strerror(errno));
		err = -errno;
	}
	while (!err) {
		struct signalfd_siginfo si;
		__u64 ticks;
		int got;

		if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if ((pfd[2].revents & POLLIN) && (got = pt_connlog_consume(connlog)) < 0)
			logmsg("connection log: cannot read the ring buffer: %s", strerror(-got));
		if ((pfd[1].revents & POLLIN) &&
		    read(pfd[1].fd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
			tick(dp, a);
			health_sync(obs);	/* routes added or removed at runtime */
			bgp_sync(obs);
			vrrp_poll(obs, false);	/* a notify whose signal was lost */
		}
		if (pfd[3].revents & POLLIN)
			health_run(obs);
		if (pfd[5].revents & POLLIN)
			pt_flowsync_run(flowsync);
		/* Requests, and the server's own deadlines (its fd has a timer). */
		if ((pfd[4].revents & POLLIN) && pt_metrics_server_run(obs->metrics))
			logmsg("metrics: the HTTP server failed to serve a request");
		if (!(pfd[0].revents & POLLIN) || read(pfd[0].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			logmsg("SIGHUP: reloading %s", a->inventory);
			reload(dp, a, obs);
			health_sync(obs);
			bgp_sync(obs);
		} else if (si.ssi_signo == SIGUSR1) {
			vrrp_poll(obs, true);
		} else if (si.ssi_signo == SIGUSR2) {
			logmsg("SIGUSR2: ignored; the flow sync's role follows keepalived's "
			       "through 'portier vrrp notify' (docs/operations.md)");
		} else {
			logmsg("%s: stopping", strsignal(si.ssi_signo));
			break;
		}
	}
	if (pfd[0].fd >= 0)
		close(pfd[0].fd);
	if (pfd[1].fd >= 0)
		close(pfd[1].fd);
	return err;
}

/* Warn about a NIC that hands XDP frames with partial checksums (a veth
 * whose peer offloads TX checksums, or may). A NIC that cannot be checked
 * is said too; neither stops the daemon. */
static void check_nics(const struct daemon_args *a)
{
	const char *const opt[] = { "--input", "--output" }, *nic[] = { a->input, a->output };
	struct pt_nic_csum c;
	char buf[DIAG_BUF];
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(nic); i++) {
		if (i && !strcmp(nic[i], nic[0]))
			break;	/* one NIC for both */
		err = pt_nic_csum_check(nic[i], &c);
		if (err)
			logmsg("warning: %s %s: cannot check whether it receives partial "
			       "checksums: %s", opt[i], nic[i], strerror(-err));
		else if (pt_nic_csum_warning(opt[i], nic[i], &c, buf, sizeof(buf)))
			logmsg("warning: %s", buf);
	}
}

/* Room for --metrics-max-conns connections besides everything else: the soft
 * file-descriptor limit is raised to the hard one if needed; if even that is
 * too low, fewer connections, said loudly. */
static void metrics_fd_budget(struct daemon_args *a)
{
	uint64_t need = (uint64_t)a->mlim.conns + FD_RESERVE, have;
	int err = pt_nofile_raise(need, &have);
	unsigned int conns;

	if (err)
		logmsg("warning: cannot raise the file-descriptor limit (RLIMIT_NOFILE) "
		       "to its hard limit: %s", strerror(-err));
	if (have >= need)
		return;
	conns = have > 2 * FD_RESERVE ? (unsigned int)(have - FD_RESERVE) : (unsigned int)(have / 2);
	if (!conns)
		conns = 1;
	logmsg("warning: --metrics: the file-descriptor limit (RLIMIT_NOFILE) is %llu: "
	       "room for %u metrics connections, not %u (--metrics-max-conns); raise the "
	       "hard limit to %llu (systemd LimitNOFILE=, ulimit -Hn)",
	       (unsigned long long)have, conns, a->mlim.conns, (unsigned long long)need);
	a->mlim.conns = conns;
}

/* Load or adopt, fill, attach. Returns the data plane, NULL after logging. */
static struct pt_dataplane *start(const struct daemon_args *a, const struct pt_routeset *rs)
{
	struct pt_dp_opts o = { .pin = true, .pin_dir = a->bpffs, .ct_entries = a->ct_entries,
				.ct6_entries = a->ct6_entries, .verbose = pt_g.verbose, .connlog_bytes = a->log_ring,
				.sync_bytes = a->sync_ring };
	struct portier_config cfg;
	struct pt_dataplane *dp;
	int in = if_nametoindex(a->input), out = if_nametoindex(a->output);

	if (!in || !out) {
		const char *nic = !in ? a->input : a->output;
		bool inv = nic == (!in ? a->inv_input : a->inv_output);

		if (inv)
			p_err("no interface '%s' (the inventory's %s of host %s); name the NIC "
			      "there, or give --%s IF", nic, !in ? PT_VAR_INPUT_IF : PT_VAR_OUTPUT_IF,
			      a->host, !in ? "input" : "output");
		else
			p_err("no interface '%s'; check --input and --output", nic);
		return NULL;
	}
	pt_dp_config_defaults(&cfg);
	cfg.input_ifindex = in;
	cfg.output_ifindex = out;
	cfg.snat_port_min = a->port_min;
	cfg.snat_port_max = a->port_max;
	cfg.syn_rate = a->syn_rate;
	syn_mss_from_nics(a, &cfg, true);
	if (iface_addr(a->output, &cfg.snat_addr)) {
		p_err("output interface %s has no IPv4 address to use as the SNAT source",
		      a->output);
		return NULL;
	}
	cfg.snat_family = PORTIER_AF_INET;
	if (set_sysctls(a)) {
		p_err("cannot set the kernel settings the data plane needs (see above)");
		return NULL;
	}
	if (pt_dp_open(&o, &dp)) {
		p_err("%s", pt_dp_last_error(NULL));
		return NULL;
	}
	if (pt_dp_adopted(dp)) {
		__u32 ct = pt_ct_capacity(pt_dp_ct(dp));

		logmsg("adopted the pinned data plane in %s (flows kept)", a->bpffs);
		if (a->ct_entries &&
		    portier_ct_buckets_for(a->ct_entries) !=
		    bpf_map__max_entries(pt_dp_skel(dp)->maps.portier_conntrack))
			logmsg("the adopted connection table keeps its %u entries; "
			       "--conntrack-size %u takes effect after 'portier prog detach'",
			       ct, a->ct_entries);
		if (a->ct6_entries &&
		    portier_ct_buckets_for(a->ct6_entries) !=
		    bpf_map__max_entries(pt_dp_skel(dp)->maps.portier_conntrack6))
			logmsg("the adopted IPv6 connection table keeps its %u entries; "
			       "--conntrack6-size %u takes effect after 'portier prog detach'",
			       pt_ct_capacity(pt_dp_ct6(dp)), a->ct6_entries);
	}
	if (pt_dp_check_links(dp, in, out) || pt_dp_set_config(dp, &cfg) ||
	    pt_dp_refresh_local(dp) || pt_dp_apply(dp, rs) ||
	    pt_dp_attach(dp, in, out, a->generic) || pt_dp_set_daemon(dp, getpid())) {
		p_err("%s", pt_dp_last_error(dp));
		pt_dp_close(dp);
		return NULL;
	}
	log_warnings(dp);
	snat6_check(dp, a->output);
	check_nics(a);
	if (a->generic)
		logmsg("WARNING: generic (skb) XDP mode: every packet pays for an skb");
	return dp;
}

static int do_run(int argc, char **argv)
{
	struct daemon_args a = {};
	struct pt_routeset *rs;
	struct pt_pool *pool;
	struct pt_dataplane *dp;
	struct daemon_obs obs = {};
	struct pt_health_opts ho = { .cb = on_health, .result_cb = on_result, .cb_arg = &obs };
	sigset_t mask;
	int lock_fd, err;

	if (parse_args(argc, argv, &a))
		return 1;
	rs = build_routes(&a, &pool);
	if (!rs) {
		p_err("%s: the inventory has errors (above); nothing loaded", a.inventory);
		return 1;
	}
	/* The NICs: --input/--output, else the inventory's interfaces. */
	if (!a.input && pool->input)
		a.input = a.inv_input = xstrdup(pool->input);
	if (!a.output && pool->output)
		a.output = a.inv_output = xstrdup(pool->output);
	if (!a.input || !a.output) {
		p_err("no %s NIC for host %s: give --%s IF, or %s: IF in the inventory %s",
		      !a.input ? "input (client-side)" : "output (backend-side)", a.host,
		      !a.input ? "input" : "output", !a.input ? PT_VAR_INPUT_IF : PT_VAR_OUTPUT_IF,
		      a.inventory);
		pt_routeset_free(rs);
		pt_pool_free(pool);
		return 1;
	}
	/* Flow sync: --sync-peer, else the inventory's pair (the VIPs' peer;
	 * vips.h), on PT_SYNC_PORT; --sync-listen still overrides. */
	if (!a.sync && pool->sync) {
		a.sync = true;
		a.sync_o.peer = (struct sockaddr_in){ .sin_family = AF_INET,
						      .sin_port = htons(PT_SYNC_PORT),
						      .sin_addr = pool->sync_peer.v4 };
		a.sync_o.listen = (struct sockaddr_in){ .sin_family = AF_INET,
							.sin_port = htons(PT_SYNC_PORT),
							.sin_addr = pool->sync_self.v4 };
		char ps[INET6_ADDRSTRLEN], ls[INET6_ADDRSTRLEN];

		logmsg("flow sync from the inventory: with %s at %s:%u, listening on %s:%u",
		       pool->sync_peer_host, pt_addr_str(&pool->sync_peer, ps, sizeof(ps)),
		       PT_SYNC_PORT, pt_addr_str(&pool->sync_self, ls, sizeof(ls)), PT_SYNC_PORT);
	}
	if (pt_dp_prepare_pin_dir(a.bpffs)) {
		p_err("%s", pt_dp_last_error(NULL));
		pt_routeset_free(rs);
		pt_pool_free(pool);
		return 1;
	}
	/* One daemon per pin directory: the lock is on the directory itself. */
	lock_fd = open(a.bpffs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB)) {
		p_err("another portier daemon runs on %s (%s); stop it first", a.bpffs,
		      strerror(errno));
		if (lock_fd >= 0)
			close(lock_fd);
		pt_routeset_free(rs);
		pt_pool_free(pool);
		return 1;
	}
	/* Block the signals before anything is attached: none is lost. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);	/* "portier vrrp notify" */
	sigaddset(&mask, SIGUSR2);	/* ignored, said (no longer a role) */
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Metrics before anything is attached: a bad address changes nothing. */
	if (a.metrics)
		metrics_fd_budget(&a);
	if (a.metrics && (err = pt_metrics_server_start(a.metrics, &a.mlim, fill_metrics, &obs,
							&obs.metrics))) {
		p_err("--metrics %s: cannot serve there (%s); expected a local ADDR:PORT",
		      a.metrics, strerror(-err));
		pt_routeset_free(rs);
		pt_pool_free(pool);
		close(lock_fd);
		return 1;
	}
	if (a.sync && (err = pt_flowsync_check_listen(&a.sync_o))) {
		p_err("--sync-listen %s:%u: cannot receive there (%s); expected an address of "
		      "this host", inet_ntoa(a.sync_o.listen.sin_addr),
		      ntohs(a.sync_o.listen.sin_port), strerror(-err));
		pt_metrics_server_stop(obs.metrics);
		pt_routeset_free(rs);
		pt_pool_free(pool);
		close(lock_fd);
		return 1;
	}
	dp = start(&a, rs);
	if (!dp || (err = pt_health_new(&ho, &obs.health))) {
		if (dp)
			p_err("cannot set up health checks: %s", strerror(-err));
		pt_metrics_server_stop(obs.metrics);
		if (dp)
			pt_dp_close(dp);
		pt_routeset_free(rs);
		pt_pool_free(pool);
		close(lock_fd);
		return 1;
	}
	obs.dp = dp;
	obs.flush_down = a.flush_down;
	health_sync(&obs);
	/* Flow sync before the roles: vrrp_follow gives it keepalived's. */
	if (a.sync && (err = pt_flowsync_open(dp, &a.sync_o, &flowsync)))
		logmsg("flow sync is off: cannot use --sync-listen %s:%u: %s",
		       inet_ntoa(a.sync_o.listen.sin_addr), ntohs(a.sync_o.listen.sin_port),
		       strerror(-err));
	else if (a.sync)
		logmsg("flow sync with %s:%u as %s", inet_ntoa(a.sync_o.peer.sin_addr),
		       ntohs(a.sync_o.peer.sin_port), a.sync_o.master ? "MASTER" : "BACKUP");
	sync_master = a.sync_o.master;
	vrrp_follow(&obs, pool);
	if (a.bgp.include && pt_bgp_new(&a.bgp, &obs.bgp))
		logmsg("bgp: cannot set up --bgp-include %s: nothing is announced",
		       a.bgp.include);
	bgp_sync(&obs);
	if (obs.metrics)
		logmsg("metrics on http://%s/metrics (at most %u connections, %u per "
		       "address, %us to send a request)", a.metrics, a.mlim.conns,
		       a.mlim.per_addr, a.mlim.timeout_ms / 1000);
	logmsg("running: host %s, %zu routes, input %s, output %s, pins in %s", a.host,
	       rs->n_routes, a.input, a.output, a.bpffs);
	err = pt_connlog_open(dp, &a.log, &connlog);
	if (err)
		logmsg("connection logs are off: cannot read their ring buffer: %s",
		       strerror(-err));
	pt_connlog_routes(connlog, rs);
	pt_routeset_free(rs);
	pt_pool_free(pool);

	err = run_loop(dp, &a, &obs);
	pt_flowsync_close(flowsync);
	flowsync = NULL;
	/* Withdrawn on every clean stop, --keep too: without a daemon nothing
	 * checks the backends, and nothing would withdraw a later detach. */
	if (obs.bgp && pt_bgp_withdraw(obs.bgp))
		logmsg("%s", pt_bgp_msg(obs.bgp));
	pt_bgp_free(obs.bgp);
	pt_metrics_server_stop(obs.metrics);
	pt_health_free(obs.health);
	if (!a.keep) {
		if (pt_dp_detach(dp)) {
			logmsg("clean stop: %s", pt_dp_last_error(dp));
			err = err ? err : -EIO;
		} else {
			logmsg("detached and unpinned");
		}
	} else {
		pt_dp_set_daemon(dp, 0);
		logmsg("--keep: the data plane stays attached and pinned in %s", a.bpffs);
	}
	if (connlog) {
		__u64 lines = 0, lost = 0;

		pt_connlog_consume(connlog);
		pt_connlog_counts(connlog, &lines, &lost);
		logmsg("connection log: %llu lines written, %llu events lost",
		       (unsigned long long)lines, (unsigned long long)lost);
		pt_connlog_close(connlog);
		connlog = NULL;
	}
	pt_dp_close(dp);
	close(lock_fd);
	free(a.inv_input);
	free(a.inv_output);
	return err ? 1 : 0;
}

int do_daemon(int argc, char **argv)
{
	if (argc >= 1 && (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
			  !strcmp(argv[0], "-h")))
		return do_help(argc, argv);
	return do_run(argc, argv);
}
