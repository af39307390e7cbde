// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdptest.c - the harness of the BPF program tests (xdptest.h): load the
 * data plane into the test network, run a frame, sum the counters, build
 * the client's and the backends' packets. No cmocka here.
 */
#include <errno.h>
#include <sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#define XT_NO_CMOCKA
#include "metrics_collect.h"
#include "portier.skel.h"
#include "testnet.h"
#include "testroute.h"
#include "xdptest.h"

struct xt_env xt;

int xt_set_local(size_t n)
{
	struct pt_addr local[2] = { tn_addr(TN_GW_IN), tn_addr(TN_GW_OUT) };

	return pt_dp_set_local(xt.dp, local, n < 2 ? 1 : 2);
}

int xt_open(const char *who, uint16_t first_port, size_t n_local,
	    void (*edit)(struct portier_config *cfg))
{
	struct pt_dp_opts opts = { 0 };
	struct portier_config cfg;
	int err;

	xt.if_in = if_nametoindex(TN_IF_IN);
	xt.if_out = if_nametoindex(TN_IF_OUT);
	xt.ncpu = libbpf_num_possible_cpus();
	xt.next_port = first_port;
	err = pt_dp_open(&opts, &xt.dp);
	if (err) {
		fprintf(stderr, "%s: pt_dp_open: %s\n", who,
			xt.dp ? pt_dp_last_error(xt.dp) : strerror(-err));
		return -1;
	}
	xt.skel = pt_dp_skel(xt.dp);
	xt.prog_fd = bpf_program__fd(xt.skel->progs.portier_xdp);
	pt_dp_config_defaults(&cfg);
	cfg.snat_addr.a32[0] = tn_ip4(TN_GW_OUT);
	cfg.snat_family = PORTIER_AF_INET;
	cfg.input_ifindex = xt.if_in;
	cfg.output_ifindex = xt.if_out;
	if (edit)
		edit(&cfg);
	err = pt_dp_set_config(xt.dp, &cfg);
	if (!err)
		err = xt_set_local(n_local);
	if (err) {
		fprintf(stderr, "%s: setup: %s\n", who, pt_dp_last_error(xt.dp));
		return -1;
	}
	return 0;
}

void xt_close(void)
{
	pt_dp_close(xt.dp);
	xt.dp = NULL;
	xt.skel = NULL;
}

int xt_teardown(void **state)
{
	(void)state;
	xt_close();
	return 0;
}

int xt_run_frame(int ifindex, const uint8_t *in, size_t len, struct xt_run *r)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err = bpf_prog_test_run_opts(xt.prog_fd, &o);

	if (err)
		return err;
	r->ret = o.retval;
	r->out_len = o.data_size_out;
	return 0;
}

int xt_reason_sum(enum portier_reason id, uint64_t *sum)
{
	uint64_t r[PORTIER_R_MAX];
	int err = pt_reasons_sum(xt.skel->maps.portier_reasons, r);

	*sum = err ? 0 : r[id];
	return err;
}

static int xt_on_event(void *ctx, void *data, size_t size)
{
	struct xt_events *e = ctx;

	if (size >= sizeof(e->ev[0]) && e->n_ev < XT_EVENTS_MAX)
		memcpy(&e->ev[e->n_ev], data, sizeof(e->ev[0]));
	e->n_ev++;
	return 0;
}

int xt_events_open(struct xt_events *e)
{
	memset(e, 0, sizeof(*e));
	e->rb = ring_buffer__new(bpf_map__fd(xt.skel->maps.portier_connlog), xt_on_event, e,
				 NULL);
	if (!e->rb) {
		fprintf(stderr, "xt_events_open: no ring buffer on portier_connlog: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

void xt_events_close(struct xt_events *e)
{
	ring_buffer__free(e->rb);
	e->rb = NULL;
}

int xt_events_read(struct xt_events *e)
{
	int err;

	e->n_ev = 0;
	err = ring_buffer__consume(e->rb);
	return err < 0 ? err : e->n_ev;
}

struct pkt_spec xt_spec(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			uint8_t proto, uint8_t flags)
{
	struct pkt_spec s = pkt_spec_ip(tn_mac_in, tn_mac_client, saddr, daddr, XT_TTL);

	s.sport = sport;
	s.dport = dport;
	s.proto = proto;
	s.tcp_flags = flags;
	return s;
}

struct pkt_spec xt_client_spec(uint16_t dport, uint8_t proto, uint8_t flags)
{
	struct pkt_spec s = xt_spec(tn_ip4(TN_CLIENT), tn_ip4(TN_GW_IN), xt.next_port++, dport,
				    proto, flags);

	s.ip_id = 0x4242;
	s.payload_len = proto == IPPROTO_UDP ? 24 : 0;
	s.payload_seed = 0x11;
	return s;
}

int xt_be_index(uint32_t addr)
{
	for (int i = 0; i < TN_N_BE; i++)
		if (tn_ip4(tn_be_addr[i]) == addr)
			return i;
	return -1;
}

struct pkt_spec xt_reply_spec_of(const uint8_t *out, uint8_t flags, int *be)
{
	struct pkt_spec s = { 0 };
	int i = xt_be_index(pkt_daddr(out));

	*be = i;
	if (i < 0)
		return s;
	s = pkt_spec_ip(tn_mac_out, tn_mac_be[i], pkt_daddr(out), pkt_saddr(out), XT_TTL);
	s.sport = pkt_dport(out);
	s.dport = pkt_sport(out);
	s.proto = out[PKT_ETH_LEN + 9];
	s.tcp_flags = flags;
	s.ip_id = 0x5151;
	s.payload_len = 40;
	s.payload_seed = 0x77;
	return s;
}

int xt_port_bits(uint16_t port, __u32 bits)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_ports);
	struct portier_port v;
	__u32 k = port;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return -errno;
	v.flags |= bits;
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
}

void xt_edit6(struct portier_config *cfg)
{
	__u32 n = bpf_map__max_entries(xt.skel->maps.portier_conntrack6);

	if (!pkt6_addr(TN6_GW_OUT, cfg->snat_addr6.a8))
		fprintf(stderr, "xt_edit6: %s is no IPv6 address\n", TN6_GW_OUT);
	cfg->ct6_buckets = n;
	cfg->ct6_step = portier_ct_step_for(n);
}

int xt_syn_rate_begin(__u32 rate, struct portier_config *saved)
{
	int fd = bpf_map__fd(xt.skel->maps.portier_config);
	struct portier_config cfg;
	cpu_set_t cpus;
	__u32 zero = 0;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) || bpf_map_lookup_elem(fd, &zero, saved))
		return -1;
	cfg = *saved;
	cfg.syn_rate = rate;
	return bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) ? -1 : 0;
}

int xt_syn_rate_end(const struct portier_config *saved)
{
	__u32 zero = 0;
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	for (int i = 0; i < xt.ncpu; i++)
		CPU_SET(i, &cpus);
	if (bpf_map_update_elem(bpf_map__fd(xt.skel->maps.portier_config), &zero, saved, BPF_ANY))
		return -1;
	return sched_setaffinity(0, sizeof(cpus), &cpus) ? -1 : 0;
}
