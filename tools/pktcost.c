// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pktcost.c - per-packet cost of the XDP program by BPF_PROG_TEST_RUN, as a
 * multiple of a bare program (bpf/bare.bpf.c: swap MACs, redirect) timed
 * the same way. Classes: new flow, established flow, reply, undeclared,
 * new flow with flow sync, egress new flow and egress established.
 *
 * With "repeat", every repetition sees the packet as the previous one left
 * it, and a forwarded packet loses one TTL each time. So a forwarded class
 * is timed in calls of CHAIN repetitions (TTL 255 lasts that long), each
 * repetition a distinct flow: the routes are built so that each rewritten
 * packet is the next packet of the same class (docs/benchmarks.md explains
 * the chains). CALLS calls make 1,000,000 packets per run; the kernel
 * times only its loop, so the syscall is not in the figure. After each run
 * the counters must prove the class: anything else makes the exit status
 * non-zero. "new flow, sync on" is the new-flow class with flow sync's
 * events on (portier_config.sync_on): the ring buffer is read between
 * calls (not timed), and every flow must have sent its event. "egress new
 * flow" and "egress established" are egress NAT's (bpf/egress.h) SYNs
 * and ACKs to the internet, chained the same way through an egress rule
 * that also allows the egress address as a source; egress is on only
 * during them (a packet to an undeclared port pays more with egress on).
 * Needs root; runs in a private network namespace.
 *
 * "balance" measures instead new and established flows of routes balanced
 * by roundrobin, maglev and source over the same three backends, as
 * multiples of roundrobin's (issue 16's goals, reported as a verdict: the
 * exit status is 0 when every run measured its class).
 *
 * "ipv6" measures new and established flows of an IPv6 snat route against
 * the same classes of the IPv4 route "self", in the same runs, as
 * multiples of IPv4's (issue 18's goal: <= 1.15x; a verdict, as for
 * balance). The IPv6 route "self6" is [B6_0]:30080 -> [B6_0]:30080, NAT66
 * to the output NIC's IPv6 address: the chains of the IPv4 classes, with
 * a hop limit for a TTL.
 *
 *   pktcost [balance|ipv6] [RUNS]      (default 5; the median run is reported)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "bare.skel.h"
#include "ct_table.h"
#include "dataplane.h"
#include "egress.h"
#include "maglev.h"
#include "pkt.h"
#include "portier.skel.h"
#include "policy.h"
#include "testnet.h"

#define CHAIN		200		/* repetitions per call: TTL 255 -> 55 */
#define CALLS		5000		/* CALLS * CHAIN = 1,000,000 packets */
#define NEW_FLUSH_CALLS	50		/* new flows: empty the table every 10,000 */
_Static_assert(NEW_FLUSH_CALLS * CHAIN <
	       PORTIER_SNAT_PORT_MAX_DEFAULT - PORTIER_SNAT_PORT_MIN_DEFAULT + 1,
	       "new flows between two flushes need free SNAT ports");
#define PACKETS		(CHAIN * CALLS)
/* A class whose packet does not change runs in LONG_CALLS wall-timed calls
 * of PACKETS / LONG_CALLS; the median call is its figure, so a call that was
 * preempted by another process does not count. */
#define LONG_CALLS	10
#define LONG_REPEAT	(PACKETS / LONG_CALLS)
#define RUNS_DEFAULT	5
#define RUNS_MAX	15
#define TTL_START	255
#define SELF_PORT	30080		/* service and backend port of "self" */
#define CHAIN_PORT	9000		/* port of the dnat chain routes */
#define UNDECLARED_PORT	9999
#define CLIENT_PORT	40000
_Static_assert(CLIENT_PORT + CALLS <= 65535, "a client port per new-flow call");
#define CHAIN_BASE	"203.0.113.30"	/* S_0; S_k = S_0 + k, k <= CHAIN */
#define EGRESS_ADDR	"203.0.113.254"	/* the egress classes' source address */
#define EGRESS_SERVER	"192.0.2.50"	/* ... their server, on the "internet" */
#define EGRESS_NET	"192.0.2.0/24"
#define EGRESS_PORT	443		/* declared by no route */
#define IDLE_A		"idle0"		/* a veth pair that stays down */
#define IDLE_B		"idle1"
/* kernel.bpf_stats_enabled makes every program run read the clock twice
 * (about 40 ns here, more than the bare program): a run measured while it
 * was on is retried, once a second, for at most STATS_WAIT_S seconds. */
#define BPF_STATS_SYSCTL	"/proc/sys/kernel/bpf_stats_enabled"
#define STATS_WAIT_S		300

/* Goals from issue 3, as multiples of the bare program. */
#define GOAL_NEW	12.0
#define GOAL_EST	5.0
#define GOAL_REPLY	5.0
#define GOAL_UNDECLARED	2.5

/* The balance mode (issue 16): new and established flows of routes that
 * balance by roundrobin, maglev and source over the same backends, as
 * multiples of roundrobin's. */
enum bal { BAL_RR, BAL_MAGLEV, BAL_SOURCE, BAL_MAX };
static const char *const bal_prefix[BAL_MAX] = { "rr-", "maglev-", "source-" };
static const enum pt_balance bal_balance[BAL_MAX] = {
	PT_BALANCE_ROUNDROBIN, PT_BALANCE_MAGLEV, PT_BALANCE_SOURCE,
};
static const uint16_t bal_port[BAL_MAX] = { 30081, 30082, 30083 };
static uint32_t bal_size;	/* maglev and source tables' slots */
#define GOAL_BAL_EST	1.1		/* established, x roundrobin's */
#define GOAL_BAL_NEW	1.2		/* new flow, x roundrobin's */
/* The routes of a balance share each backend address:port, and the data
 * plane hands a backend's SNAT ports out from a cursor per (route,
 * backend): three cursors over one port space. Each emptying of the table
 * gives the three their own third of the range (snat_spread), and comes
 * often enough that no cursor leaves its third: the chains never meet on
 * a port (32 ports held in a row would drop a SYN as SNAT_EXHAUSTED). */
#define BAL_FLUSH_CALLS	20
_Static_assert(BAL_FLUSH_CALLS * CHAIN < (PORTIER_SNAT_PORT_MAX_DEFAULT -
					  PORTIER_SNAT_PORT_MIN_DEFAULT + 1) / TN_N_BE,
	       "a cursor's flows between two flushes fit in its third of the ports");

/* The ipv6 mode: testnet.h's IPv6 network, and "self6" on B6_0. */
#define B6_0		(tn6_be_addr[0])
#define GOAL_IPV6	1.15		/* x IPv4's, new and established */
#define IP6_LEN		40
#define ETH_P_IPV6	0x86dd

static struct {
	struct pt_dataplane *dp;
	struct portier *skel;
	struct bare *bare;
	int if_in, if_out, ncpu;
	int flush_calls;	/* new flows: empty the table every that many calls */
	bool balance;		/* the balance mode */
	bool ipv6;		/* the ipv6 mode */
	bool egress;		/* egress_on in portier_config (the egress classes) */
	/* Balance mode: id of backend j of route k of balance b. */
	__u32 bal_be[BAL_MAX][TN_N_BE][TN_N_BE];
} B = { .flush_calls = NEW_FLUSH_CALLS };

static uint32_t chain_addr(int k)
{
	return htonl(ntohl(tn_ip4(CHAIN_BASE)) + k);
}

/* The private namespace of tests/lib/testnet.h, with the next hops of the
 * chains pointing back at the gateway: the program balances only frames
 * addressed to the NIC they arrive on (PASS_OTHER_HOST), and each rewritten
 * packet is fed in again. So the backends' and the dnat chain's neighbours
 * (on pout) have pin's MAC, and the client's (on pin) pout's, where the
 * reply class feeds its replies in. */
static int setup_net(void)
{
	char a[INET_ADDRSTRLEN], m[18];
	int rc = 0;

	if (tn_enter("pktcost"))
		return -1;
	tn_mac_str(tn_mac_in, m);
	for (int k = 1; k <= CHAIN && !rc; k++) {
		uint32_t s = chain_addr(k);

		inet_ntop(AF_INET, &s, a, sizeof(a));
		rc = tn_sh("ip neigh replace %s lladdr %s dev " TN_IF_OUT " nud permanent", a, m);
	}
	for (int i = 0; i < TN_N_BE && !rc; i++)
		rc = tn_sh("ip neigh replace %s lladdr %s dev " TN_IF_OUT " nud permanent",
			   tn_be_addr[i], m);
	if (!rc)
		rc = tn_sh("ip neigh replace " TN_CLIENT " lladdr %s dev " TN_IF_IN
			   " nud permanent", tn_mac_str(tn_mac_out, m));
	if (!rc)	/* the egress classes' internet, via B_0 (pin's MAC) */
		rc = tn_sh("ip route add " EGRESS_NET " via %s dev " TN_IF_OUT, tn_be_addr[0]);
	if (!rc)
		rc = tn_sh("ip link add " IDLE_A " type veth peer name " IDLE_B);
	/* The ipv6 mode's B6_0 has pin's MAC too: its chained packets come
	 * back in. */
	if (!rc && B.ipv6)
		rc = tn_sh("ip -6 neigh replace %s lladdr %s dev " TN_IF_OUT " nud permanent",
			   B6_0, tn_mac_str(tn_mac_in, m));
	B.if_in = if_nametoindex(TN_IF_IN);
	B.if_out = if_nametoindex(TN_IF_OUT);
	return rc ? -1 : 0;
}

static struct pt_addr pt4(uint32_t a)
{
	struct pt_addr p = { .family = AF_INET };

	p.v4.s_addr = a;
	return p;
}

static struct pt_addr pt6(const char *s)
{
	struct pt_addr p = { .family = AF_INET6 };

	if (inet_pton(AF_INET6, s, &p.v6) != 1)
		abort();	/* a constant of this file */
	return p;
}

/* "self": B1:30080 -> B1:30080 (snat), so a rewritten packet is a new
 * packet to the same service. "chain<k>": S_k:9000 -> S_k+1:9000 (dnat),
 * so a reply from S_k+1 becomes a reply from S_k. */
static int routes_default(struct pt_routeset *rs)
{
	static struct pt_route r[CHAIN + 1];
	static struct pt_backend be[CHAIN + 1];
	static char names[CHAIN][16];

	*rs = (struct pt_routeset){ .host = (char *)"gw", .routes = r, .n_routes = CHAIN + 1 };
	for (int i = 0; i <= CHAIN; i++) {
		r[i].mode = (char *)"tcp";
		r[i].proto = IPPROTO_TCP;
		r[i].balance = PT_BALANCE_ROUNDROBIN;
		/* A million SYNs a second is a flood to "auto": the new-flow
		 * class measures flows made, so cookies are off. */
		r[i].syn_cookies = PT_SYN_COOKIES_OFF;
		r[i].backends = &be[i];
		r[i].n_backends = 1;
		be[i].weight = 1;
	}
	/* PKTCOST_POLICY=1: "self" goes through admission (docs/dataplane.md):
	 * a pool deny list and a route allow list that admit its sources (the
	 * client, then the gateway's SNAT address of the chained SYNs), and a
	 * rate limit they never reach (a token every ns, bursts of 10^6), to
	 * see what the lists and the bucket add to a new flow. */
	if (getenv("PKTCOST_POLICY") && !strcmp(getenv("PKTCOST_POLICY"), "1")) {
		static struct pt_policy_entry pool_deny = { .action = PT_POLICY_DENY },
					      self_allow[2] = { { .action = PT_POLICY_ALLOW },
								{ .action = PT_POLICY_ALLOW } };
		const char *why;

		if (pt_cidr_parse("192.0.2.0/24", &pool_deny.net, &why) ||
		    pt_cidr_parse(TN_CLIENT, &self_allow[0].net, &why) ||
		    pt_cidr_parse("203.0.113.0/24", &self_allow[1].net, &why))
			return -EINVAL;
		rs->pool_policy = (struct pt_policy){ &pool_deny, 1 };
		r[0].policy = (struct pt_policy){ self_allow, 2 };
		r[0].rate_limit = (struct pt_rate_limit){ .rate = 1000000, .per_ms = 1,
							  .burst = 1000000 };
	}
	/* The egress classes' rule: the client and the egress address (so
	 * that a translated SYN is again a new egress flow) to the internet,
	 * TCP; egress_on only during those classes (B.egress). */
	{
		static struct pt_cidr from[2], to;
		static struct pt_egress_rule rule = { .name = (char *)"chain", .from = from,
						      .n_from = 2, .to = &to, .n_to = 1,
						      .protos = PORTIER_EGRESS_P_TCP };
		static struct pt_egress eg = { .declared = true, .rules = &rule, .n_rules = 1 };
		const char *why;

		if (pt_cidr_parse(TN_CLIENT, &from[0], &why) ||
		    pt_cidr_parse(EGRESS_ADDR, &from[1], &why) ||
		    pt_cidr_parse(EGRESS_NET, &to, &why))
			return -EINVAL;
		eg.snat_address = pt4(tn_ip4(EGRESS_ADDR));
		rs->egress = &eg;
	}
	r[0].name = (char *)"self";
	r[0].addr = pt4(tn_ip4(tn_be_addr[0]));
	r[0].port = SELF_PORT;
	r[0].nat = PT_NAT_SNAT;
	be[0].addr = r[0].addr;
	be[0].port = SELF_PORT;
	for (int k = 0; k < CHAIN; k++) {
		snprintf(names[k], sizeof(names[k]), "chain%d", k);
		r[k + 1].name = names[k];
		r[k + 1].addr = pt4(chain_addr(k));
		r[k + 1].port = CHAIN_PORT;
		r[k + 1].nat = PT_NAT_DNAT;
		be[k + 1].addr = pt4(chain_addr(k + 1));
		be[k + 1].port = CHAIN_PORT;
	}
	if (B.ipv6) {	/* the last chain route gives way to "self6" */
		static struct pt_route self6;
		static struct pt_backend be6;

		self6 = r[0];
		self6.name = (char *)"self6";
		self6.policy = (struct pt_policy){ 0 };
		self6.rate_limit = (struct pt_rate_limit){ 0 };
		self6.addr = pt6(B6_0);
		be6 = (struct pt_backend){ .addr = self6.addr, .port = SELF_PORT, .weight = 1 };
		self6.backends = &be6;
		r[CHAIN] = self6;
	}
	return 0;
}

/* The balance mode: for each balance b, TN_N_BE routes "<b>-<k>" on
 * B_k:bal_port[b] (snat), each with the same TN_N_BE backends
 * B_0..B_2:bal_port[b], weight 1; maglev and source with tables of
 * PT_MAGLEV_SIZE_DEFAULT slots. Whichever backend a new flow takes, its
 * rewritten SYN (from the SNAT address) is a new flow of a route of the
 * same balance: the chains of the default mode, with three backends. */
static int routes_balance(struct pt_routeset *rs)
{
	static struct pt_route r[BAL_MAX * TN_N_BE];
	static struct pt_backend be[BAL_MAX][TN_N_BE];
	static char names[BAL_MAX * TN_N_BE][24];
	/* PKTCOST_MAGLEV_SIZE: another table size (a prime), to tell the
	 * table's cache misses from the lookup's instructions. */
	const char *size = getenv("PKTCOST_MAGLEV_SIZE");

	bal_size = size ? (uint32_t)strtoul(size, NULL, 10) : PT_MAGLEV_SIZE_DEFAULT;
	*rs = (struct pt_routeset){ .host = (char *)"gw", .routes = r,
				    .n_routes = BAL_MAX * TN_N_BE };
	for (int b = 0; b < BAL_MAX; b++) {
		for (int k = 0; k < TN_N_BE; k++) {
			struct pt_route *x = &r[b * TN_N_BE + k];

			be[b][k] = (struct pt_backend){ .addr = pt4(tn_ip4(tn_be_addr[k])),
							.port = bal_port[b], .weight = 1 };
			snprintf(names[b * TN_N_BE + k], sizeof(names[0]), "%s%d",
				 bal_prefix[b], k);
			x->name = names[b * TN_N_BE + k];
			x->mode = (char *)"tcp";
			x->proto = IPPROTO_TCP;
			x->balance = bal_balance[b];
			x->table_size = bal_balance[b] == PT_BALANCE_ROUNDROBIN ? 0 : bal_size;
			x->syn_cookies = PT_SYN_COOKIES_OFF;
			x->nat = PT_NAT_SNAT;
			x->addr = be[b][k].addr;
			x->port = bal_port[b];
			x->backends = be[b];
			x->n_backends = TN_N_BE;
		}
	}
	return 0;
}

static int set_config_raw(bool sync_on);

/* Load the data plane with the routes of the mode (balance or not) and the
 * bare program, both attached to the idle veth pair. */
static int load(bool balance)
{
	struct pt_routeset rs;
	struct pt_addr local[2] = { pt4(tn_ip4(TN_GW_IN)), pt4(tn_ip4(TN_GW_OUT)) };
	/* PKTCOST_CT_ENTRIES: another connection-table size (default: the
	 * daemon's), to tell the table's cache misses from its instructions. */
	const char *ct = getenv("PKTCOST_CT_ENTRIES");
	struct pt_dp_opts opts = { .ct_entries = ct ? (__u32)strtoul(ct, NULL, 10) : 0 };
	struct portier_config cfg;
	int err;

	err = balance ? routes_balance(&rs) : routes_default(&rs);
	if (err)
		return err;
	err = pt_dp_open(&opts, &B.dp);
	if (err) {
		fprintf(stderr, "pktcost: cannot load the data plane: %s\n",
			B.dp ? pt_dp_last_error(B.dp) : strerror(-err));
		return err;
	}
	B.skel = pt_dp_skel(B.dp);
	pt_dp_config_defaults(&cfg);
	cfg.snat_addr.a32[0] = tn_ip4(TN_GW_OUT);
	cfg.snat_family = PORTIER_AF_INET;
	cfg.input_ifindex = B.if_in;
	cfg.output_ifindex = B.if_out;
	if (B.ipv6)
		memcpy(cfg.snat_addr6.a8, pt6(TN6_GW_OUT).v6.s6_addr, 16);
	err = pt_dp_set_config(B.dp, &cfg);
	if (!err)
		err = set_config_raw(false);
	if (!err)
		err = pt_dp_set_local(B.dp, local, 2);
	if (!err && B.ipv6) {
		struct pt_addr local6[4] = { local[0], local[1], pt6(TN6_GW_IN), pt6(TN6_GW_OUT) };

		err = pt_dp_set_local(B.dp, local6, 4);
	}
	if (!err)
		err = pt_dp_apply(B.dp, &rs);
	if (!err)	/* the apply turned egress on: only its classes have it */
		err = set_config_raw(false);
	if (err) {
		fprintf(stderr, "pktcost: cannot fill the maps: %s\n", pt_dp_last_error(B.dp));
		return err;
	}
	for (size_t i = 0; balance && i < rs.n_routes; i++) {
		for (int j = 0; j < TN_N_BE; j++) {
			const struct pt_backend *be = &rs.routes[i].backends[j];
			int id = pt_dp_backend_id(B.dp, rs.routes[i].name, &be->addr, be->port);

			if (id < 0) {
				fprintf(stderr, "pktcost: route '%s' has no backend %d after the "
					"apply\n", rs.routes[i].name, j);
				return id;
			}
			B.bal_be[i / TN_N_BE][i % TN_N_BE][j] = (__u32)id;
		}
	}
	B.bare = bare__open_and_load();
	if (!B.bare) {
		fprintf(stderr, "pktcost: cannot load the bare program: %s\n", strerror(errno));
		return -errno;
	}
	err = bpf_map_update_elem(bpf_map__fd(B.bare->maps.bare_tx_ports), &B.if_in, &B.if_in, 0);
	if (err) {
		fprintf(stderr, "pktcost: cannot fill bare_tx_ports: %s\n", strerror(errno));
		return err;
	}
	/* A test run with repeat > 1 puts its program into the kernel's XDP
	 * dispatcher and takes it out again, ~50 ms each call. Attached to
	 * an idle veth pair (down: no packet ever arrives), both programs stay
	 * in the dispatcher and a call costs only its packets. */
	err = bpf_xdp_attach(if_nametoindex(IDLE_A), bpf_program__fd(B.skel->progs.portier_xdp),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (!err)
		err = bpf_xdp_attach(if_nametoindex(IDLE_B),
				     bpf_program__fd(B.bare->progs.bare_xdp), XDP_FLAGS_DRV_MODE,
				     NULL);
	if (err)
		fprintf(stderr, "pktcost: cannot attach to the idle veth peers: %s\n",
			strerror(-err));
	return err;
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* One BPF_PROG_TEST_RUN call: *ns receives the mean ns per repetition: the
 * kernel's figure (whole ns, rounded down), or for a long call (repeat =
 * LONG_REPEAT) the wall time of the call divided by repeat, which keeps the
 * fraction (the syscall adds < 0.1 ns per packet there). Returns the
 * program's last verdict or -errno. */
static int run(int prog_fd, int ifindex, const uint8_t *pkt, size_t len, __u32 repeat,
	       double *ns)
{
	double t0;
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err;

	t0 = now_ns();
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return -errno;
	*ns = repeat == LONG_REPEAT ? (now_ns() - t0) / repeat : o.duration;
	return o.retval;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* LONG_CALLS calls of LONG_REPEAT repetitions of one packet that does not
 * change: the median call's ns per packet, or < 0 if a call did not end as
 * want. */
static double long_calls(int prog_fd, int ifindex, const uint8_t *pkt, size_t len, int want)
{
	double v[LONG_CALLS];

	for (int c = 0; c < LONG_CALLS; c++)
		if (run(prog_fd, ifindex, pkt, len, LONG_REPEAT, &v[c]) != want)
			return -1;
	qsort(v, LONG_CALLS, sizeof(v[0]), cmp_double);
	return v[LONG_CALLS / 2];
}

/* Delete every conntrack entry (not timed). */
static void ct_flush(void)
{
	pt_ct_flush(pt_dp_ct(B.dp), NULL);
}

static uint64_t reason(__u32 id)
{
	uint64_t v[B.ncpu], sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(B.skel->maps.portier_reasons), &id, v))
		return 0;
	for (int i = 0; i < B.ncpu; i++)
		sum += v[i];
	return sum;
}

/* Route counters summed over CPUs: [0] orig packets, [1] reply packets,
 * [2] new flows; over the routes whose name starts with prefix ("self",
 * "chain", or a balance's routes in the balance mode). */
static void route_totals(const char *prefix, uint64_t t[3])
{
	struct pt_dp_route_view *v;
	struct portier_stats st;
	size_t n = pt_dp_view(B.dp, &v);

	memset(t, 0, 3 * sizeof(t[0]));
	for (size_t i = 0; i < n; i++) {
		if (strncmp(v[i].meta.name, prefix, strlen(prefix)) ||
		    pt_route_stats_sum(B.skel, &v[i], &st))
			continue;
		t[0] += st.packets[PORTIER_FLOW_DIR_ORIG];
		t[1] += st.packets[PORTIER_FLOW_DIR_REPLY];
		t[2] += st.flows;
	}
	pt_dp_view_free(v, n);
}

/* Counter snapshot: every reason, and the route totals. */
struct snap {
	uint64_t reasons[PORTIER_R_MAX];
	uint64_t route[3];
};

static void snap(struct snap *s, const char *prefix)
{
	for (__u32 i = 0; i < PORTIER_R_MAX; i++)
		s->reasons[i] = reason(i);
	route_totals(prefix, s->route);
}

/* Did the run between a and b count exactly n packets under want and
 * nothing under any other reason? */
static bool only_reason(const struct snap *a, const struct snap *b, __u32 want, uint64_t n)
{
	for (__u32 i = 0; i < PORTIER_R_MAX; i++) {
		uint64_t d = b->reasons[i] - a->reasons[i];

		if (d != (i == want ? n : 0)) {
			fprintf(stderr, "pktcost: reason %u counted %llu, expected %llu\n", i,
				(unsigned long long)d, (unsigned long long)(i == want ? n : 0));
			return false;
		}
	}
	return true;
}

/* C_BARE (long calls, wall-timed) is the yardstick; C_BARE_CHAIN
 * times it like the forwarded classes, to show what the method adds. */
enum cls { C_BARE, C_BARE_CHAIN, C_NEW, C_EST, C_REPLY, C_UNDECLARED, C_NEW_SYNC,
	   C_EGRESS_NEW, C_EGRESS_EST, C_MAX };

static const char *const cls_name[C_MAX] = {
	"bare", "bare, 200-packet calls", "new flow", "established flow", "reply",
	"undeclared pass", "new flow, sync on", "egress new flow", "egress established",
};

/* The flow sync events of C_NEW_SYNC, counted as they are read. */
static struct ring_buffer *sync_rb;
static uint64_t sync_events;

static int on_sync(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	sync_events += size == sizeof(struct portier_sync_new);
	return 0;
}

/* portier_config as pt_dp_set_config wrote it, but sync_on as given and
 * the NICs' MACs zeroed (not checked): a chained packet arrives with the
 * MAC its previous repetition was rewritten to (the next hop's), which
 * the program would otherwise pass as PASS_OTHER_HOST. */
static int set_config_raw(bool sync_on)
{
	struct portier_config cfg = *pt_dp_config(B.dp);
	__u32 zero = 0;

	cfg.sync_on = sync_on;
	cfg.egress_on = B.egress;
	memset(cfg.input_mac, 0, sizeof(cfg.input_mac));
	memset(cfg.output_mac, 0, sizeof(cfg.output_mac));
	return bpf_map_update_elem(bpf_map__fd(B.skel->maps.portier_config), &zero, &cfg, 0) ?
	       -errno : 0;
}

static int set_sync_on(bool on)
{
	return set_config_raw(on);
}

static void spec_base(struct pkt_spec *s, uint8_t flags)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->dmac, tn_mac_in, 6);
	memcpy(s->smac, tn_mac_client, 6);
	s->saddr = tn_ip4(TN_CLIENT);
	s->sport = CLIENT_PORT;
	s->proto = IPPROTO_TCP;
	s->ttl = TTL_START;
	s->tcp_flags = flags;
	s->payload_len = 0;
}

/* Calls of CHAIN repetitions of one packet; mean ns per packet, or < 0 if a
 * call did not end as want. */
static double calls(int prog_fd, int ifindex, const uint8_t *pkt, size_t len, int want)
{
	double total = 0, ns;

	for (int c = 0; c < CALLS; c++) {
		if (run(prog_fd, ifindex, pkt, len, CHAIN, &ns) != want)
			return -1;
		total += ns;
	}
	return total / CALLS;
}

/* Balance mode: the SNAT cursor of backend j of route k at k thirds of the
 * port range (see BAL_FLUSH_CALLS). Not timed. */
static void snat_spread(void)
{
	const struct portier_config *cfg = pt_dp_config(B.dp);
	int fd = bpf_map__fd(B.skel->maps.portier_snat_cursor);
	__u32 range = (__u32)cfg->snat_port_max - cfg->snat_port_min + 1;

	for (int b = 0; b < BAL_MAX; b++)
		for (int k = 0; k < TN_N_BE; k++)
			for (int j = 0; j < TN_N_BE; j++) {
				__u32 v = (__u32)k * (range / TN_N_BE);

				bpf_map_update_elem(fd, &B.bal_be[b][k][j], &v, BPF_ANY);
			}
}

/* New flows: calls of CHAIN chained SYNs, call c from client port
 * CLIENT_PORT + c, so that every packet starts a flow. The table is emptied
 * (not timed) before every NEW_FLUSH_CALLS calls (BAL_FLUSH_CALLS in the
 * balance mode): it holds at most
 * 2 * CHAIN * NEW_FLUSH_CALLS entries, and the backend fewer flows than it
 * has SNAT ports. Emptying it walks every bucket (2 MB), which also empties
 * the caches the program runs from, so it is not done every call. */
static double new_flow_calls(int prog_fd, int ifindex, struct pkt_spec *s)
{
	uint8_t pkt[PKT_MAX];
	double total = 0, ns;
	size_t n;

	/* A smaller table (PKTCOST_CT_ENTRIES) is emptied before it is half
	 * full, so that nothing is evicted. */
	int every = (int)(pt_ct_capacity(pt_dp_ct(B.dp)) / (4 * CHAIN));

	if (every > B.flush_calls || every < 1)
		every = every < 1 ? 1 : B.flush_calls;
	for (int c = 0; c < CALLS; c++) {
		if (c % every == 0) {
			ct_flush();
			if (B.balance)
				snat_spread();
		}
		s->sport = (uint16_t)(CLIENT_PORT + c);
		n = pkt_build(s, pkt);
		if (run(prog_fd, ifindex, pkt, n, CHAIN, &ns) != XDP_REDIRECT)
			return -1;
		if (sync_rb)
			ring_buffer__consume(sync_rb);
		total += ns;
	}
	return total / CALLS;
}

/* The new-flow class of the chain that s starts (routes named prefix...):
 * each repetition a SYN with no flow whose rewrite (new SNAT port) is
 * again a SYN to such a route with no flow. ns per packet, or < 0 if the
 * counters say otherwise. */
static double new_class(struct pkt_spec *s, const char *prefix)
{
	int fd = bpf_program__fd(B.skel->progs.portier_xdp);
	struct snap a, b;
	double ns;

	snap(&a, prefix);
	ns = new_flow_calls(fd, B.if_in, s);
	snap(&b, prefix);
	if (ns < 0 || !only_reason(&a, &b, PORTIER_R_FWD_REDIRECT, PACKETS) ||
	    b.route[2] - a.route[2] != PACKETS)
		return -1;
	return ns;
}

/* The established class of the chain that s (a SYN) starts: one call of
 * SYNs makes CHAIN chained flows; ACKs on the same tuple then walk them,
 * each repetition a flow hit. ns per packet, or < 0. */
static double est_class(struct pkt_spec *s, const char *prefix)
{
	int fd = bpf_program__fd(B.skel->progs.portier_xdp);
	uint8_t pkt[PKT_MAX];
	struct snap a, b;
	double ns;
	size_t n;

	n = pkt_build(s, pkt);
	ct_flush();
	if (calls(fd, B.if_in, pkt, n, XDP_REDIRECT) < 0)
		return -1;
	ct_flush();
	if (run(fd, B.if_in, pkt, n, CHAIN, &ns) != XDP_REDIRECT)
		return -1;
	s->tcp_flags = PKT_ACK;
	n = pkt_build(s, pkt);
	snap(&a, prefix);
	ns = calls(fd, B.if_in, pkt, n, XDP_REDIRECT);
	snap(&b, prefix);
	if (ns < 0 || !only_reason(&a, &b, PORTIER_R_FWD_REDIRECT, PACKETS) ||
	    b.route[2] != a.route[2] || b.route[0] - a.route[0] != PACKETS)
		return -1;
	return ns;
}

/* The egress rule's counters (rule 0): new flows, packets out. */
static void egress_totals(uint64_t t[2])
{
	struct pt_egress_view *ev;
	size_t n;

	t[0] = t[1] = 0;
	if (pt_dp_egress_view(B.skel, &ev, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].id == 0) {
			t[0] = ev[i].stats.flows;
			t[1] = ev[i].stats.packets[PORTIER_FLOW_DIR_ORIG];
		}
	}
	free(ev);
}

/* The egress classes, egress on: a SYN from the client to the server with
 * no flow is a new egress flow whose translated SYN (from the egress
 * address, a new port) is again one. est: one call of them makes CHAIN
 * chained flows, ACKs on the same tuple then walk them. ns per packet, or
 * < 0 if the counters say otherwise (every packet a redirect, every SYN a
 * flow of the rule, every ACK a packet of it and no flow). */
static double egress_class(bool est)
{
	int fd = bpf_program__fd(B.skel->progs.portier_xdp);
	uint64_t ea[2], eb[2];
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct snap a, b;
	double ns = -1;
	size_t n = 0;

	spec_base(&s, PKT_SYN);
	s.daddr = tn_ip4(EGRESS_SERVER);
	s.dport = EGRESS_PORT;
	B.egress = true;
	if (set_config_raw(false))
		goto out;
	if (est) {
		n = pkt_build(&s, pkt);
		ct_flush();
		if (run(fd, B.if_in, pkt, n, CHAIN, &ns) != XDP_REDIRECT) {
			ns = -1;
			goto out;
		}
		s.tcp_flags = PKT_ACK;
		n = pkt_build(&s, pkt);
	}
	snap(&a, "self");
	egress_totals(ea);
	ns = est ? calls(fd, B.if_in, pkt, n, XDP_REDIRECT) : new_flow_calls(fd, B.if_in, &s);
	snap(&b, "self");
	egress_totals(eb);
	if (ns < 0 || !only_reason(&a, &b, PORTIER_R_FWD_REDIRECT, PACKETS) ||
	    eb[0] - ea[0] != (est ? 0 : PACKETS) || eb[1] - ea[1] != PACKETS)
		ns = -1;
out:
	B.egress = false;
	if (set_config_raw(false))
		ns = -1;
	return ns;
}

/* One run of class c: ns per packet, or < 0 if the counters say the run
 * measured something else. */
static double measure(int c)
{
	int fd = bpf_program__fd(B.skel->progs.portier_xdp);
	int bare_fd = bpf_program__fd(B.bare->progs.bare_xdp);
	uint8_t pkt[PKT_MAX], q[PKT_MAX];
	struct pkt_spec s, r;
	struct snap a, b;
	double ns = -1;
	size_t n, qn;

	spec_base(&s, PKT_SYN);
	s.daddr = tn_ip4(tn_be_addr[0]);
	s.dport = SELF_PORT;
	switch ((enum cls)c) {
	case C_BARE_CHAIN:
		n = pkt_build(&s, pkt);
		return calls(bare_fd, B.if_in, pkt, n, XDP_REDIRECT);
	case C_BARE:
		n = pkt_build(&s, pkt);
		return long_calls(bare_fd, B.if_in, pkt, n, XDP_REDIRECT);
	case C_NEW:
		return new_class(&s, "self");
	case C_NEW_SYNC:
		/* The same, each new flow's NEW event in the ring buffer. */
		if (!sync_rb)
			sync_rb = ring_buffer__new(bpf_map__fd(B.skel->maps.portier_sync),
						   on_sync, NULL, NULL);
		if (!sync_rb || set_sync_on(true))
			return -1;
		sync_events = 0;
		ns = new_class(&s, "self");
		set_sync_on(false);
		if (ns >= 0 && sync_events != PACKETS) {
			fprintf(stderr, "pktcost: %llu sync events for %d new flows\n",
				(unsigned long long)sync_events, PACKETS);
			return -1;
		}
		return ns;
	case C_EST:
		return est_class(&s, "self");
	case C_EGRESS_NEW:
	case C_EGRESS_EST:
		return egress_class(c == C_EGRESS_EST);
	case C_REPLY:
		/* SYNs through the dnat chain make CHAIN flows; a reply from
		 * S_CHAIN is rewritten into a reply from S_CHAIN-1, ... */
		s.daddr = chain_addr(0);
		s.dport = CHAIN_PORT;
		n = pkt_build(&s, pkt);
		ct_flush();
		if (run(fd, B.if_in, pkt, n, CHAIN, &ns) != XDP_REDIRECT)
			return -1;
		spec_base(&r, PKT_ACK);
		memcpy(r.dmac, tn_mac_out, 6);
		r.saddr = chain_addr(CHAIN);
		r.sport = CHAIN_PORT;
		r.daddr = tn_ip4(TN_CLIENT);
		r.dport = CLIENT_PORT;
		qn = pkt_build(&r, q);
		/* The first walk marks the flows "seen reply": not timed. */
		if (run(fd, B.if_out, q, qn, CHAIN, &ns) != XDP_REDIRECT)
			return -1;
		snap(&a, "chain");
		ns = calls(fd, B.if_out, q, qn, XDP_REDIRECT);
		snap(&b, "chain");
		if (!only_reason(&a, &b, PORTIER_R_FWD_REDIRECT, PACKETS) ||
		    b.route[1] - a.route[1] != PACKETS || b.route[2] != a.route[2])
			return -1;
		return ns;
	case C_UNDECLARED:
		s.daddr = tn_ip4(TN_GW_IN);
		s.dport = UNDECLARED_PORT;
		n = pkt_build(&s, pkt);
		snap(&a, "self");
		ns = long_calls(fd, B.if_in, pkt, n, XDP_PASS);
		snap(&b, "self");
		if (ns < 0)
			return -1;
		return only_reason(&a, &b, PORTIER_R_PASS_UNDECLARED, PACKETS) ? ns : -1;
	default:
		return -1;
	}
}

/* Is run-time accounting of BPF programs on (sysctl or BPF_ENABLE_STATS)? */
static bool bpf_stats_on(void)
{
	FILE *f = fopen(BPF_STATS_SYSCTL, "r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/* fn(c) (measure, measure_bal) with bpf_stats off from start to end; < 0
 * on a failed run or when bpf_stats stayed on for STATS_WAIT_S seconds. */
static double measure_clean(double (*fn)(int), int c)
{
	double ns;

	for (int waited = 0; waited < STATS_WAIT_S; waited++) {
		if (!bpf_stats_on()) {
			ns = fn(c);
			if (ns < 0 || !bpf_stats_on())
				return ns;
		}
		if (waited == 0)
			fprintf(stderr, "pktcost: kernel.bpf_stats_enabled is on (another tool?): "
				"waiting up to %d s for it to go off\n", STATS_WAIT_S);
		sleep(1);
	}
	fprintf(stderr, "pktcost: kernel.bpf_stats_enabled stayed on; turn it off "
		"(sysctl -w kernel.bpf_stats_enabled=0) and run again\n");
	return -1;
}

/* ---- the ipv6 mode ----------------------------------------------------- */

/* The client's TCP segment (flags) from TN6_CLIENT:sport to B6_0:SELF_PORT,
 * hop limit TTL_START, no payload, its checksum from scratch, into f. Its
 * length. */
static size_t frame6(uint16_t sport, uint8_t flags, uint8_t *f)
{
	uint8_t *ip = f + PKT_ETH_LEN, *th = ip + IP6_LEN;
	struct pt_addr src = pt6(TN6_CLIENT), dst = pt6(B6_0);
	uint32_t sum;
	uint16_t c;

	memset(f, 0, PKT_ETH_LEN + IP6_LEN + PKT_TCP_LEN);
	memcpy(f, tn_mac_in, 6);
	memcpy(f + 6, tn_mac_client, 6);
	f[12] = ETH_P_IPV6 >> 8;
	f[13] = ETH_P_IPV6 & 0xff;
	ip[0] = 0x60;
	ip[5] = PKT_TCP_LEN;
	ip[6] = IPPROTO_TCP;
	ip[7] = TTL_START;
	memcpy(ip + 8, &src.v6, 16);
	memcpy(ip + 24, &dst.v6, 16);
	th[0] = (uint8_t)(sport >> 8);
	th[1] = (uint8_t)sport;
	th[2] = SELF_PORT >> 8;
	th[3] = SELF_PORT & 0xff;
	pkt_put32(th + 4, 1);
	pkt_put32(th + 8, flags & PKT_ACK ? 1 : 0);
	th[12] = 5 << 4;
	th[13] = flags;
	th[14] = th[15] = 0xff;
	sum = pkt_sum(ip + 8, 32, 0) + PKT_TCP_LEN + IPPROTO_TCP;
	c = (uint16_t)~pkt_fold(pkt_sum(th, PKT_TCP_LEN, sum));
	th[16] = (uint8_t)(c >> 8);
	th[17] = (uint8_t)c;
	return PKT_ETH_LEN + IP6_LEN + PKT_TCP_LEN;
}

/* Delete every IPv6 conntrack entry (not timed): every bucket's tags to
 * free, in the mmapped portier_conntrack6 (nothing runs meanwhile). */
static int ct6_flush(void)
{
	struct bpf_map *m = B.skel->maps.portier_conntrack6;
	size_t sz = (size_t)bpf_map__value_size(m) * bpf_map__max_entries(m);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	sz = (sz + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "pktcost: cannot map portier_conntrack6: %s\n", strerror(errno));
		return -1;
	}
	memset(p, 0, sz);
	munmap(p, sz);
	return 0;
}

/* The IPv6 new-flow class: calls of CHAIN chained SYNs from client port
 * CLIENT_PORT + c, the IPv6 table emptied before every NEW_FLUSH_CALLS
 * calls (a quarter of its capacity at most, as new_flow_calls). ns per
 * packet, or < 0 if the counters say otherwise. */
static double new6_class(void)
{
	int fd = bpf_program__fd(B.skel->progs.portier_xdp);
	uint32_t cap = pt_dp_config(B.dp)->ct6_buckets * PORTIER_CT_SLOTS / 2;
	int every = (int)(cap / (4 * CHAIN));
	uint8_t pkt[PKT_MAX];
	struct snap a, b;
	double total = 0, ns;
	size_t n;

	if (every > NEW_FLUSH_CALLS || every < 1)
		every = every < 1 ? 1 : NEW_FLUSH_CALLS;
	snap(&a, "self6");
	for (int c = 0; c < CALLS; c++) {
		if (c % every == 0 && ct6_flush())
			return -1;
		n = frame6((uint16_t)(CLIENT_PORT + c), PKT_SYN, pkt);
		if (run(fd, B.if_in, pkt, n, CHAIN, &ns) != XDP_REDIRECT)
			return -1;
		total += ns;
	}
	snap(&b, "self6");
	if (!only_reason(&a, &b, PORTIER_R_FWD_REDIRECT, PACKETS) ||
	    b.route[2] - a.route[2] != PACKETS)
		return -1;
	return total / CALLS;
}

/* The IPv6 established class: a call of SYNs makes CHAIN chained flows,
 * ACKs on the same tuple walk them. ns per packet, or < 0. */
static double est6_class(void)
{
	int fd = bpf_program__fd(B.skel->progs.portier_xdp);
	uint8_t pkt[PKT_MAX];
	struct snap a, b;
	double ns;
	size_t n;

	if (ct6_flush())
		return -1;
	n = frame6(CLIENT_PORT, PKT_SYN, pkt);
	if (run(fd, B.if_in, pkt, n, CHAIN, &ns) != XDP_REDIRECT)
		return -1;
	n = frame6(CLIENT_PORT, PKT_ACK, pkt);
	snap(&a, "self6");
	ns = calls(fd, B.if_in, pkt, n, XDP_REDIRECT);
	snap(&b, "self6");
	if (ns < 0 || !only_reason(&a, &b, PORTIER_R_FWD_REDIRECT, PACKETS) ||
	    b.route[2] != a.route[2] || b.route[0] - a.route[0] != PACKETS)
		return -1;
	return ns;
}

/* The ipv6 mode's classes: IPv4 new, IPv4 established, IPv6 new, IPv6
 * established (2 * family + kind). */
enum { V6_NEW4, V6_EST4, V6_NEW6, V6_EST6, V6_MAX };
static const char *const v6_name[V6_MAX] = { "new flow", "established flow", "new flow",
					      "established flow" };

static double measure_v6(int c)
{
	struct pkt_spec s;

	spec_base(&s, PKT_SYN);
	s.daddr = tn_ip4(tn_be_addr[0]);
	s.dport = SELF_PORT;
	switch (c) {
	case V6_NEW4:
		return new_class(&s, "self");
	case V6_EST4:
		return est_class(&s, "self");
	case V6_NEW6:
		return new6_class();
	case V6_EST6:
		return est6_class();
	}
	return -1;
}

static double median(const double *x, int n);

/* pktcost ipv6 [RUNS]: each run measures the four classes, starting at a
 * different one; IPv6's ratio to IPv4 is the median of the runs' own
 * ratios (each within one run). */
static int main_ipv6(int runs)
{
	double all[V6_MAX][RUNS_MAX], ratio[RUNS_MAX];
	bool ok = true;

	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < V6_MAX; i++) {
			int c = (i + r) % V6_MAX;

			all[c][r] = measure_clean(measure_v6, c);
			if (all[c][r] < 0) {
				fprintf(stderr, "pktcost: run %d of '%s, IPv%d' did not measure its "
					"class (see above)\n", r + 1, v6_name[c], c < V6_NEW6 ? 4 : 6);
				return 1;
			}
		}
	}
	printf("per-packet cost, IPv6 against IPv4: BPF_PROG_TEST_RUN, %d packets per run, "
	       "median of %d runs;\none snat route a family (\"self\", \"self6\"), chained "
	       "SYNs (new) and ACKs (established)\n", PACKETS, runs);
	printf("%-17s %-6s %8s %8s %13s %6s  %s\n", "class", "family", "ns/pkt", "x IPv4",
	       "runs' x IPv4", "goal", "verdict");
	for (int k = 0; k < 2; k++) {
		double lo = 1e18, hi = 0, x;
		char range[32];

		for (int r = 0; r < runs; r++) {
			ratio[r] = all[V6_NEW6 + k][r] / all[V6_NEW4 + k][r];
			lo = ratio[r] < lo ? ratio[r] : lo;
			hi = ratio[r] > hi ? ratio[r] : hi;
		}
		x = median(ratio, runs);
		snprintf(range, sizeof(range), "%.2f-%.2f", lo, hi);
		printf("%-17s %-6s %8.1f\n", v6_name[k], "IPv4", median(all[V6_NEW4 + k], runs));
		printf("%-17s %-6s %8.1f %8.2f %13s %5.2fx  %s\n", v6_name[k], "IPv6",
		       median(all[V6_NEW6 + k], runs), x, range, GOAL_IPV6,
		       x <= GOAL_IPV6 ? "met" : "MISSED");
		ok &= x <= GOAL_IPV6;
	}
	printf("goal (issue 18): IPv6 <= %.2fx IPv4's per-packet cost, new and established: %s\n",
	       GOAL_IPV6, ok ? "met" : "MISSED");
	printf("counters: every run counted exactly its class (see tools/pktcost.c)\n");
	bare__destroy(B.bare);
	pt_dp_close(B.dp);
	return 0;
}

/* The balance mode's classes: 2 * balance + kind. */
enum { BK_NEW, BK_EST, BK_MAX };
#define BC_MAX	(BAL_MAX * BK_MAX)

static const char *const bal_name[BAL_MAX] = { "roundrobin", "maglev", "source" };
static const char *const bk_name[BK_MAX] = { "new flow", "established flow" };

/* One run of balance class bc: its chain starts with the client's SYN to
 * B_0 on the balance's port. ns per packet, or < 0. */
static double measure_bal(int bc)
{
	int b = bc / BK_MAX, kind = bc % BK_MAX;
	struct pkt_spec s;

	spec_base(&s, PKT_SYN);
	s.daddr = tn_ip4(tn_be_addr[0]);
	s.dport = bal_port[b];
	return kind == BK_NEW ? new_class(&s, bal_prefix[b]) : est_class(&s, bal_prefix[b]);
}

static double median(const double *x, int n)
{
	double v[RUNS_MAX];

	memcpy(v, x, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/* pktcost balance [RUNS]: each run measures the six classes, starting at a
 * different one, so that drift hits them alike; the ratio to roundrobin is
 * the median of the runs' own ratios (each taken within one run). */
static int main_balance(int runs)
{
	static const double goal[BK_MAX] = { GOAL_BAL_NEW, GOAL_BAL_EST };
	double all[BC_MAX][RUNS_MAX], ratio[RUNS_MAX];
	bool ok = true;

	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < BC_MAX; i++) {
			int bc = (i + 2 * r) % BC_MAX;

			all[bc][r] = measure_clean(measure_bal, bc);
			if (all[bc][r] < 0) {
				fprintf(stderr, "pktcost: run %d of '%s, %s' did not measure its "
					"class (see above)\n", r + 1, bk_name[bc % BK_MAX],
					bal_name[bc / BK_MAX]);
				return 1;
			}
		}
	}
	printf("per-packet cost by balance: BPF_PROG_TEST_RUN, %d packets per run, median of "
	       "%d runs;\n%d snat routes a balance, each with the same %d backends; maglev and "
	       "source tables of %u slots\n", PACKETS, runs, TN_N_BE, TN_N_BE, bal_size);
	printf("%-17s %-11s %8s %8s %13s %6s  %s\n", "class", "balance", "ns/pkt", "x rr",
	       "runs' x rr", "goal", "verdict");
	for (int k = 0; k < BK_MAX; k++) {
		for (int b = 0; b < BAL_MAX; b++) {
			int bc = b * BK_MAX + k, rr = BAL_RR * BK_MAX + k;
			double lo = 1e18, hi = 0, x;
			char range[32];

			for (int r = 0; r < runs; r++) {
				ratio[r] = all[bc][r] / all[rr][r];
				lo = ratio[r] < lo ? ratio[r] : lo;
				hi = ratio[r] > hi ? ratio[r] : hi;
			}
			x = median(ratio, runs);
			if (b == BAL_RR) {
				printf("%-17s %-11s %8.1f %8.2f\n", bk_name[k], bal_name[b],
				       median(all[bc], runs), x);
				continue;
			}
			snprintf(range, sizeof(range), "%.2f-%.2f", lo, hi);
			printf("%-17s %-11s %8.1f %8.2f %13s %5.1fx  %s\n", bk_name[k],
			       bal_name[b], median(all[bc], runs), x, range, goal[k],
			       x <= goal[k] ? "met" : "MISSED");
			ok &= x <= goal[k];
		}
	}
	printf("goals (issue 16): established <= %.1fx, new flow <= %.1fx roundrobin's: %s\n",
	       GOAL_BAL_EST, GOAL_BAL_NEW, ok ? "met" : "MISSED");
	printf("counters: every run counted exactly its class (see tools/pktcost.c)\n");
	bare__destroy(B.bare);
	pt_dp_close(B.dp);
	return 0;
}

int main(int argc, char **argv)
{
	static const double goal[C_MAX] = { 0, 0, GOAL_NEW, GOAL_EST, GOAL_REPLY, GOAL_UNDECLARED };
	bool balance = argc > 1 && !strcmp(argv[1], "balance");
	bool ipv6 = argc > 1 && !strcmp(argv[1], "ipv6");
	int mode = balance || ipv6;
	int runs = argc > 1 + mode ? atoi(argv[1 + mode]) : RUNS_DEFAULT;
	double med[C_MAX];
	bool ok = true;

	if (runs < 1 || runs > RUNS_MAX || argc > 2 + mode) {
		fprintf(stderr, "usage: pktcost [balance|ipv6] [RUNS]  (RUNS: 1-%d, default %d)\n",
			RUNS_MAX, RUNS_DEFAULT);
		return 2;
	}
	B.ncpu = libbpf_num_possible_cpus();
	B.balance = balance;
	B.ipv6 = ipv6;
	if (balance)
		B.flush_calls = BAL_FLUSH_CALLS;
	if (setup_net() || load(balance))
		return 1;
	if (balance)
		return main_balance(runs);
	if (ipv6)
		return main_ipv6(runs);
	/* Runs interleave the classes, so drift hits them alike. */
	double all[C_MAX][RUNS_MAX];

	for (int r = 0; r < runs; r++) {
		for (int c = 0; c < C_MAX; c++) {
			all[c][r] = measure_clean(measure, c);
			if (all[c][r] < 0) {
				fprintf(stderr, "pktcost: run %d of '%s' did not measure its class "
					"(see above)\n", r + 1, cls_name[c]);
				return 1;
			}
		}
	}
	for (int c = 0; c < C_MAX; c++)
		med[c] = median(all[c], runs);
	printf("per-packet cost: BPF_PROG_TEST_RUN, %d packets per run, median of %d runs\n",
	       PACKETS, runs);
	printf("%-26s %8s %8s %8s\n", "class", "ns/pkt", "x bare", "goal");
	for (int c = 0; c < C_MAX; c++) {
		double x = med[c] / med[C_BARE];

		if (goal[c] > 0) {
			printf("%-26s %8.1f %8.2f %7.1fx%s\n", cls_name[c], med[c], x, goal[c],
			       x <= goal[c] ? "" : "  MISSED");
			ok &= x <= goal[c];
		} else {
			printf("%-26s %8.1f %8.2f\n", cls_name[c], med[c], x);
		}
	}
	printf("flow sync: %+.1f ns per new flow (%.1f%% of a new flow)\n",
	       med[C_NEW_SYNC] - med[C_NEW], 100.0 * (med[C_NEW_SYNC] - med[C_NEW]) / med[C_NEW]);
	printf("egress: new flow %.2fx a route's new flow, established %.2fx a route's "
	       "established flow\n", med[C_EGRESS_NEW] / med[C_NEW],
	       med[C_EGRESS_EST] / med[C_EST]);
	printf("counters: every run counted exactly its class (see tools/pktcost.c)\n");
	ring_buffer__free(sync_rb);
	bare__destroy(B.bare);
	pt_dp_close(B.dp);
	return ok ? 0 : 3;
}
