// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp_config.c - what the program knows of this host: portier_config (with
 * the NAT66 source, snat_addr6), the NICs it transmits on
 * (portier_tx_ports) and the local addresses a "*" route listens on
 * (portier_local, portier_local6).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr6.h"
#include "dataplane_int.h"
#include "portier.skel.h"
#include "util.h"

void pt_dp_config_defaults(struct portier_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->snat_port_min = PORTIER_SNAT_PORT_MIN_DEFAULT;
	cfg->snat_port_max = PORTIER_SNAT_PORT_MAX_DEFAULT;
	cfg->tmo_tcp_syn = PORTIER_TMO_TCP_SYN_DEFAULT;
	cfg->tmo_tcp_est = PORTIER_TMO_TCP_EST_DEFAULT;
	cfg->tmo_tcp_close = PORTIER_TMO_TCP_CLOSE_DEFAULT;
	cfg->tmo_udp = PORTIER_TMO_UDP_DEFAULT;
	cfg->syn_rate = PORTIER_SYN_RATE_DEFAULT;
	cfg->syn_mss = PORTIER_SYN_MSS_DEFAULT;
	cfg->syn_wscale = PORTIER_SYN_WSCALE_DEFAULT;
}

/* The MAC of interface ifindex in this namespace into mac, or all zero
 * (none, or it cannot be read: the program then does not check). */
static void nic_mac(__u32 ifindex, __u8 mac[6])
{
	struct ifreq ifr;
	int fd;

	memset(mac, 0, 6);
	memset(&ifr, 0, sizeof(ifr));
	if (!ifindex || !if_indextoname(ifindex, ifr.ifr_name))
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr))
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* The NAT66 source: the output NIC's global IPv6 address, or all-zero. */
static void nic_snat6(__u32 ifindex, struct portier_addr *out)
{
	struct in6_addr a;

	pt_addr6_source(ifindex, &a);
	memcpy(out->a8, &a, sizeof(out->a8));
}

int pt_dp_refresh_macs(struct pt_dataplane *dp)
{
	struct portier_config c = dp->cfg;
	struct portier_addr s6;
	__u8 in[6], out[6];

	nic_mac(c.input_ifindex, in);
	nic_mac(c.output_ifindex, out);
	nic_snat6(c.output_ifindex, &s6);
	if (!memcmp(in, c.input_mac, 6) && !memcmp(out, c.output_mac, 6) &&
	    !memcmp(&s6, &c.snat_addr6, sizeof(s6)))
		return 0;
	return pt_dp_set_config(dp, &c);
}

bool pt_dp_snat6_missing(const struct pt_dataplane *dp)
{
	static const struct portier_addr zero;

	if (memcmp(&dp->cfg.snat_addr6, &zero, sizeof(zero)))
		return false;
	for (__u32 id = 0; id < PORTIER_MAX_ROUTES; id++) {
		const struct dp_route *r = &dp->routes[id];

		if (!r->used || (r->flags & PORTIER_ROUTE_F_DNAT))	/* dnat: no NAT66 */
			continue;
		if (r->key.family == PORTIER_AF_INET6)
			return true;
		for (size_t i = 0; i < r->n_be; i++)
			if (dp->backends[r->be[i]].addr.family == AF_INET6)
				return true;
	}
	return false;
}

int pt_dp_set_config(struct pt_dataplane *dp, const struct portier_config *cfg)
{
	struct portier *s = dp->skel;
	__u32 zero = 0;
	__u32 ifs[2] = { cfg->input_ifindex, cfg->output_ifindex };
	struct portier_config c;
	int err;

	if (cfg->snat_port_min == 0 || cfg->snat_port_min > cfg->snat_port_max)
		return fail(-EINVAL, "SNAT port range %u-%u is empty or starts at 0",
			    cfg->snat_port_min, cfg->snat_port_max);
	for (int i = 0; i < 2; i++) {
		if (!ifs[i])
			continue;
		err = map_update(s->maps.portier_tx_ports, &ifs[i], &ifs[i], "an interface");
		if (err)
			return err;
	}
	c = *cfg;
	nic_mac(c.input_ifindex, c.input_mac);
	nic_mac(c.output_ifindex, c.output_mac);
	nic_snat6(c.output_ifindex, &c.snat_addr6);
	c.ct_buckets = dp->cfg.ct_buckets;
	c.ct_step = dp->cfg.ct_step;
	c.ct_seed = dp->cfg.ct_seed;
	c.ct6_buckets = dp->cfg.ct6_buckets;
	c.ct6_step = dp->cfg.ct6_step;
	/* Egress is the apply's (pt_dp_egress_apply), from the inventory. */
	c.egress_on = dp->cfg.egress_on;
	c.egress_addr = dp->cfg.egress_addr;
	err = map_update(s->maps.portier_config, &zero, &c, "the configuration");
	if (!err)
		dp->cfg = c;
	return err;
}

const struct portier_config *pt_dp_config(const struct pt_dataplane *dp)
{
	return &dp->cfg;
}

/* Make map m (portier_local or portier_local6) hold exactly the addresses
 * of addrs[0..n) of family: added first, then what is gone removed, so
 * that no address is ever missing. */
static int set_local_family(struct pt_dataplane *dp, struct bpf_map *m, int family,
			    const struct pt_addr *addrs, size_t n)
{
	int fd = bpf_map__fd(m);
	struct portier_addr key, next, *stale = NULL;
	size_t n_stale = 0;
	void *prev = NULL;
	__u32 one = 1;
	int err = 0;

	(void)dp;
	for (size_t i = 0; i < n && !err; i++) {
		if (addrs[i].family != family)
			continue;
		addr_to_bpf(&addrs[i], &key);
		err = map_update(m, &key, &one, "a local address");
	}
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		bool keep = false;

		key = next;
		prev = &key;
		for (size_t i = 0; i < n && !keep; i++) {
			struct portier_addr a;

			addr_to_bpf(&addrs[i], &a);
			keep = addrs[i].family == family && !memcmp(&a, &key, sizeof(a));
		}
		if (!keep) {
			stale = xrealloc(stale, (n_stale + 1) * sizeof(*stale));
			stale[n_stale++] = key;
		}
	}
	for (size_t i = 0; i < n_stale && !err; i++)
		err = map_delete(m, &stale[i], "a local address");
	free(stale);
	return err;
}

int pt_dp_set_local(struct pt_dataplane *dp, const struct pt_addr *addrs, size_t n)
{
	size_t n4 = 0, n6 = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		n4 += addrs[i].family == AF_INET;
		n6 += addrs[i].family == AF_INET6;
	}
	if (n4 > PORTIER_MAX_LOCAL_ADDRS || n6 > PORTIER_MAX_LOCAL_ADDRS)
		return fail(-E2BIG, "%zu local IPv%d addresses, at most %d", n4 > n6 ? n4 : n6,
			    n4 > n6 ? 4 : 6, PORTIER_MAX_LOCAL_ADDRS);
	err = set_local_family(dp, dp->skel->maps.portier_local, AF_INET, addrs, n);
	if (!err)
		err = set_local_family(dp, dp->skel->maps.portier_local6, AF_INET6, addrs, n);
	return err;
}

/* Is interface name (or address label "name:label") the input NIC? Any
 * interface is while no input NIC is set. */
static bool on_input_nic(const struct pt_dataplane *dp, const char *name)
{
	char dev[IF_NAMESIZE];
	size_t len = strcspn(name, ":");

	if (!dp->cfg.input_ifindex)
		return true;
	if (len >= sizeof(dev))
		return false;
	memcpy(dev, name, len);
	dev[len] = '\0';
	return if_nametoindex(dev) == dp->cfg.input_ifindex;
}

/* Only the input NIC's addresses: a "*" route is for the clients' side. A
 * peer gateway that forwards to this host as a backend sends to its
 * output-side address; that traffic goes to the local stack (the NodePort
 * behind it), not round the balancer a second time. */
int pt_dp_refresh_local(struct pt_dataplane *dp)
{
	struct ifaddrs *ifa, *i;
	struct pt_addr *v = NULL;
	struct pt_addr6 *v6;
	size_t n = 0, n6;
	int err;

	if (getifaddrs(&ifa))
		return fail(-errno, "cannot list this host's addresses: %s", strerror(errno));
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !on_input_nic(dp, i->ifa_name))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].family = AF_INET;
		v[n].v4 = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		n++;
	}
	freeifaddrs(ifa);
	/* IPv6: global and ULA addresses (not link-local: that traffic is
	 * passed untouched), from the kernel's list, which has the ifindex. */
	err = pt_addr6_list(dp->cfg.input_ifindex, &v6, &n6);
	if (err) {
		free(v);
		return fail(err, "cannot list this host's IPv6 addresses (%s): %s",
			    "/proc/net/if_inet6", strerror(-err));
	}
	for (size_t k = 0; k < n6; k++) {
		if (v6[k].link_local || v6[k].loopback)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].family = AF_INET6;
		v[n].v6 = v6[k].addr;
		n++;
	}
	free(v6);
	err = pt_dp_set_local(dp, v, n);
	free(v);
	return err;
}
