// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * trafgen.c - the benchmark's packet generator, sink and bare-redirect
 * loader (make bench, tools/bench.sh). Needs root.
 *
 *   trafgen send --dev IF --dmac MAC --src ADDR --dst ADDR --dport PORT
 *                [--proto udp|syn|ack] [--flows N] [--ports N] [--dports N]
 *                [--count N | --duration SECONDS] [--sink PINNED_MAP]
 *       Crafted frames out of IF (run it in IF's namespace) by
 *       BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES; flow k of N has
 *       source port 1024 + k % PORTS and source address ADDR + k / PORTS,
 *       and destination port PORT + k % DPORTS (default 1: PORT alone; a
 *       source NAT's ports are per destination, so a stream of new flows
 *       to one destination port would run out of them).
 *       ADDR both IPv4, or both IPv6 (flow k's source: ADDR's last 32 bits
 *       + k / PORTS).
 *       Prints one line: sent=N secs=S pps=R cpu=C [sink=N sink_pps=R];
 *       C is the CPU seconds this process ran while sending, the receivers'
 *       work that veth runs on the sender's CPU (NAPI at bh enable) included
 *       unless it was deferred to ksoftirqd.
 *   trafgen sink --dev IF --pin PATH
 *       Attach the sink (count IPv4 and IPv6 TCP/UDP, drop) to IF, pin its
 *       counters at PATH.
 *   trafgen bare --dev IF --out IF2
 *       Attach bpf/bare.bpf.c to IF, redirecting to IF2 (the ceiling).
 *   trafgen dropnet --dev IF --net ADDR/LEN
 *       Attach an XDP program to IF that drops IPv4 frames to ADDR/LEN (the
 *       answers to a flood's spoofed sources) and passes the rest.
 *   trafgen pass --dev IF
 *       Attach an XDP program that passes everything to IF: a veth end
 *       then takes its peer's XDP_TX frames in XDP's NAPI mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "bare.skel.h"
#include "trafgen.h"
#include "trafgen.skel.h"

#define PORT_MIN	1024		/* source port of flow 0 */
#define PORTS_MAX	(65536 - PORT_MIN)
#define CHUNK		(1U << 18)	/* frames per BPF_PROG_TEST_RUN call */
#define BATCH		64		/* frames per redirect flush (kernel's default) */
#define DRAIN_US	50000		/* let the receivers' NAPI finish before reading */
#define TTL		64
#define TCP_WINDOW	65535
#define TCP_DOFF	5		/* 20-byte header, no options */
#define TCP_SYN		0x02
#define TCP_ACK		0x10
#define MAX_SECONDS	3600

enum proto { P_UDP, P_SYN, P_ACK };

/* Options of "send". */
struct send_args {
	const char *dev, *sink;
	unsigned char dmac[6];
	struct in_addr src, dst;
	struct in6_addr src6, dst6;	/* ipv6 */
	bool ipv6, src_set, dst_set, src6_set, dst6_set;
	unsigned dport, flows, ports, dports;
	enum proto proto;
	unsigned long long count;
	double duration;
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: trafgen send --dev IF --dmac MAC --src ADDR --dst ADDR --dport PORT\n"
		"                    [--proto udp|syn|ack] [--flows N] [--ports N] [--dports N]\n"
		"                    [--count N | --duration SECONDS] [--sink PINNED_MAP]\n"
		"       trafgen sink --dev IF --pin PATH\n"
		"       trafgen bare --dev IF --out IF2\n"
		"       trafgen dropnet --dev IF --net ADDR/LEN\n"
		"       trafgen pass --dev IF\n");
}

static double clock_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* One's complement sum of len bytes, added to sum (not folded). */
static __u32 csum_add(__u32 sum, const void *buf, size_t len)
{
	const __u8 *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static __u16 csum_finish(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

static int dev_mac(const char *dev, unsigned char mac[6])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Flow 0's TCP or UDP header at l4 (l4len bytes, its payload included),
 * its checksum from scratch over sum (the pseudo-header's addresses),
 * protocol and length, and the segment. The checksum's offset in l4. */
static __u16 l4_fill(const struct send_args *a, __u8 *l4, __u16 l4len, __u32 sum)
{
	__u8 l4proto = a->proto == P_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	__u16 v, off;

	v = htons(PORT_MIN);
	memcpy(l4, &v, 2);
	v = htons(a->dport);
	memcpy(l4 + 2, &v, 2);
	if (a->proto == P_UDP) {
		v = htons(l4len);
		memcpy(l4 + 4, &v, 2);
		off = TG_OFF_UDPCSUM - TG_OFF_L4;
	} else {
		__u32 seq = htonl(1), ack = htonl(a->proto == P_ACK ? 1 : 0);

		memcpy(l4 + 4, &seq, 4);
		memcpy(l4 + 8, &ack, 4);
		l4[12] = TCP_DOFF << 4;
		l4[13] = a->proto == P_SYN ? TCP_SYN : TCP_ACK;
		v = htons(TCP_WINDOW);
		memcpy(l4 + 14, &v, 2);
		off = TG_OFF_TCPCSUM - TG_OFF_L4;
	}
	sum += l4proto + l4len;
	sum = csum_add(sum, l4, l4len);
	v = csum_finish(sum);
	if (a->proto == P_UDP && !v)
		v = 0xffff;	/* 0 means "no checksum" (IPv4), is invalid (IPv6) */
	memcpy(l4 + off, &v, 2);
	return off;
}

/* Ethernet header of flow 0's frame f (ethertype hi, lo). 0 or -errno. */
static int eth_fill(const struct send_args *a, __u8 *f, __u8 hi, __u8 lo)
{
	memcpy(f, a->dmac, 6);
	f[12] = hi;
	f[13] = lo;
	return dev_mac(a->dev, f + 6);
}

/* The frame of flow 0 with valid checksums. */
static int build_template(const struct send_args *a, __u8 f[TG_FRAME_LEN], __u16 *l4_csum_off)
{
	__u8 *ip = f + TG_OFF_IP;
	__u16 l4len = a->proto == P_UDP ? TG_FRAME_LEN - TG_OFF_L4 : 20, tot = 20 + l4len;
	__u16 v;
	int err;

	memset(f, 0, TG_FRAME_LEN);
	err = eth_fill(a, f, 0x08, 0x00);	/* ETH_P_IP */
	if (err)
		return err;
	ip[0] = 0x45;
	v = htons(tot);
	memcpy(ip + 2, &v, 2);
	ip[8] = TTL;
	ip[9] = a->proto == P_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	memcpy(ip + 12, &a->src, 4);
	memcpy(ip + 16, &a->dst, 4);
	v = csum_finish(csum_add(0, ip, 20));
	memcpy(ip + 10, &v, 2);
	*l4_csum_off = TG_OFF_L4 + l4_fill(a, f + TG_OFF_L4, l4len, csum_add(0, ip + 12, 8));
	return 0;
}

/* The IPv6 frame of flow 0 with a valid checksum. */
static int build_template6(const struct send_args *a, __u8 f[TG6_FRAME_LEN],
			   __u16 *l4_csum_off)
{
	__u8 *ip = f + TG6_OFF_IP;
	__u16 l4len = a->proto == P_UDP ? TG6_FRAME_LEN - TG6_OFF_L4 : 20, v;
	int err;

	memset(f, 0, TG6_FRAME_LEN);
	err = eth_fill(a, f, 0x86, 0xdd);	/* ETH_P_IPV6 */
	if (err)
		return err;
	ip[0] = 0x60;
	v = htons(l4len);
	memcpy(ip + 4, &v, 2);
	ip[6] = a->proto == P_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	ip[7] = TTL;
	memcpy(ip + 8, &a->src6, 16);
	memcpy(ip + 24, &a->dst6, 16);
	*l4_csum_off = TG6_OFF_L4 + l4_fill(a, f + TG6_OFF_L4, l4len, csum_add(0, ip + 8, 32));
	return 0;
}

/* Sum of the sink's per-CPU packet counters at pinned map fd. */
static int sink_read(int fd, unsigned long long *packets)
{
	int n = libbpf_num_possible_cpus(), i;
	struct tg_sink_stats *v;
	__u32 zero = 0;

	if (n < 1)
		return n;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		free(v);
		return -errno;
	}
	*packets = 0;
	for (i = 0; i < n; i++)
		*packets += v[i].packets;
	free(v);
	return 0;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned m[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (m[i] > 0xff)
			return -EINVAL;
		mac[i] = m[i];
	}
	return 0;
}

static int parse_send(int argc, char **argv, struct send_args *a)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'i' },
		{ "dmac", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "dport", required_argument, NULL, 'p' },
		{ "proto", required_argument, NULL, 'P' },
		{ "flows", required_argument, NULL, 'f' },
		{ "ports", required_argument, NULL, 'o' },
		{ "dports", required_argument, NULL, 'D' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 't' },
		{ "sink", required_argument, NULL, 'k' },
		{ 0 }
	};
	bool mac = false;
	int opt;

	memset(a, 0, sizeof(*a));
	a->flows = 1;
	a->ports = PORTS_MAX;
	a->dports = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': a->dev = optarg; break;
		case 'm':
			if (parse_mac(optarg, a->dmac))
				goto bad;
			mac = true;
			break;
		case 's':
			a->src_set = inet_pton(AF_INET, optarg, &a->src) == 1;
			a->src6_set = inet_pton(AF_INET6, optarg, &a->src6) == 1;
			if (!a->src_set && !a->src6_set)
				goto bad;
			break;
		case 'd':
			a->dst_set = inet_pton(AF_INET, optarg, &a->dst) == 1;
			a->dst6_set = inet_pton(AF_INET6, optarg, &a->dst6) == 1;
			if (!a->dst_set && !a->dst6_set)
				goto bad;
			break;
		case 'p': a->dport = strtoul(optarg, NULL, 10); break;
		case 'P':
			if (!strcmp(optarg, "udp"))
				a->proto = P_UDP;
			else if (!strcmp(optarg, "syn"))
				a->proto = P_SYN;
			else if (!strcmp(optarg, "ack"))
				a->proto = P_ACK;
			else
				goto bad;
			break;
		case 'f': a->flows = strtoul(optarg, NULL, 10); break;
		case 'o': a->ports = strtoul(optarg, NULL, 10); break;
		case 'D': a->dports = strtoul(optarg, NULL, 10); break;
		case 'c': a->count = strtoull(optarg, NULL, 10); break;
		case 't': a->duration = strtod(optarg, NULL); break;
		case 'k': a->sink = optarg; break;
		default:
			goto bad;
		}
	}
	a->ipv6 = a->src6_set && a->dst6_set;
	if (a->src6_set != a->dst6_set)
		goto bad;
	if (!a->dev || !mac || (!a->ipv6 && (!a->src.s_addr || !a->dst.s_addr)) || !a->dport ||
	    a->dport > 65535 || !a->flows || !a->ports || a->ports > PORTS_MAX ||
	    !a->dports || a->dport + a->dports - 1 > 65535 ||
	    (!a->count) == (a->duration <= 0) || a->duration > MAX_SECONDS)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "trafgen send: bad or missing option (all of --dev --dmac --src --dst "
		"--dport, --src and --dst of one family, one of --count --duration; --ports 1..%d; --dports 1.., PORT + N - 1 "
		"<= 65535)\n", PORTS_MAX);
	usage();
	return -EINVAL;
}

static int do_send(int argc, char **argv)
{
	unsigned long long sink0 = 0, sink1 = 0, sent;
	__u8 frame[TG6_FRAME_LEN];
	__u32 frame_len;
	struct send_args a;
	struct trafgen *skel;
	int sink_fd = -1, err, prog_fd;
	double t0, cpu0, secs, cpu;

	if (parse_send(argc, argv, &a))
		return 2;
	skel = trafgen__open_and_load();
	if (!skel) {
		fprintf(stderr, "trafgen: cannot load the BPF object: %s\n", strerror(errno));
		return 1;
	}
	err = a.ipv6 ? build_template6(&a, frame, &skel->bss->tg_cfg.l4_csum_off) :
		       build_template(&a, frame, &skel->bss->tg_cfg.l4_csum_off);
	if (err) {
		fprintf(stderr, "trafgen: cannot read the MAC of %s: %s\n", a.dev, strerror(-err));
		goto out;
	}
	frame_len = a.ipv6 ? TG6_FRAME_LEN : TG_FRAME_LEN;
	if (a.ipv6) {
		__u32 lo;

		memcpy(skel->bss->tg_cfg.tmpl6, frame, TG6_FRAME_LEN);
		skel->bss->tg_cfg.ipv6 = 1;
		memcpy(&lo, a.src6.s6_addr + 12, 4);
		skel->bss->tg_cfg.saddr_host = ntohl(lo);
	} else {
		memcpy(skel->bss->tg_cfg.tmpl, frame, TG_FRAME_LEN);
		skel->bss->tg_cfg.saddr_host = ntohl(a.src.s_addr);
	}
	skel->bss->tg_cfg.ifindex = if_nametoindex(a.dev);
	skel->bss->tg_cfg.nflows = a.flows;
	skel->bss->tg_cfg.nports = a.ports;
	skel->bss->tg_cfg.port_min = PORT_MIN;
	skel->bss->tg_cfg.dport_min = a.dport;
	skel->bss->tg_cfg.ndports = a.dports;
	if (!skel->bss->tg_cfg.ifindex) {
		err = -ENODEV;
		fprintf(stderr, "trafgen: no interface %s in this namespace\n", a.dev);
		goto out;
	}
	if (a.sink) {
		sink_fd = bpf_obj_get(a.sink);
		if (sink_fd < 0 || sink_read(sink_fd, &sink0)) {
			err = -errno;
			fprintf(stderr, "trafgen: cannot read the sink counters %s: %s "
				"(start 'trafgen sink' first)\n", a.sink, strerror(errno));
			goto out;
		}
	}

	prog_fd = bpf_program__fd(skel->progs.tg_gen);
	t0 = now_s();
	cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (sent = 0;;) {
		unsigned long long left = a.count ? a.count - sent : CHUNK;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = frame_len,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = BATCH,
			    .repeat = left < CHUNK ? left : CHUNK);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			err = -errno;
			fprintf(stderr, "trafgen: BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
			goto out;
		}
		sent += o.repeat;
		if (a.count ? sent >= a.count : now_s() - t0 >= a.duration)
			break;
	}
	secs = now_s() - t0;
	cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	sent = skel->bss->tg_gen_stats.frames;
	printf("sent=%llu secs=%.3f pps=%.0f cpu=%.3f", sent, secs, sent / secs, cpu);
	if (sink_fd >= 0) {
		usleep(DRAIN_US);
		if (sink_read(sink_fd, &sink1)) {
			err = -errno;
			printf("\n");
			fprintf(stderr, "trafgen: cannot read the sink counters: %s\n",
				strerror(errno));
			goto out;
		}
		printf(" sink=%llu sink_pps=%.0f", sink1 - sink0, (sink1 - sink0) / secs);
	}
	printf("\n");
out:
	if (sink_fd >= 0)
		close(sink_fd);
	trafgen__destroy(skel);
	return err ? 1 : 0;
}

/* "sink --dev IF --pin PATH" and "bare --dev IF --out IF2". */
static int parse_pair(int argc, char **argv, const char *second, const char **dev,
		      const char **arg)
{
	if (argc != 4 || strcmp(argv[0], "--dev") || strcmp(argv[2], second)) {
		usage();
		return -EINVAL;
	}
	*dev = argv[1];
	*arg = argv[3];
	return 0;
}

/* Attach one of trafgen's XDP programs (prog, by its skeleton name's
 * program) to dev, after prep (if any) readied the loaded object: the
 * program stays attached when trafgen exits. cmd names the command in
 * errors. 0, 1 on failure (said on stderr). */
static int attach(const char *cmd, const char *dev, struct bpf_program *(*prog)(struct trafgen *),
		  int (*prep)(struct trafgen *, const void *), const void *arg)
{
	struct trafgen *skel;
	int ifindex, err;

	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "trafgen %s: no interface %s in this namespace\n", cmd, dev);
		return 1;
	}
	skel = trafgen__open_and_load();
	if (!skel) {
		fprintf(stderr, "trafgen %s: cannot load the BPF object: %s\n", cmd,
			strerror(errno));
		return 1;
	}
	err = prep ? prep(skel, arg) : 0;
	if (!err && (err = bpf_xdp_attach(ifindex, bpf_program__fd(prog(skel)),
					  XDP_FLAGS_DRV_MODE, NULL)))
		fprintf(stderr, "trafgen %s: cannot attach to %s: %s\n", cmd, dev,
			strerror(-err));
	trafgen__destroy(skel);
	return err ? 1 : 0;
}

static struct bpf_program *sink_prog(struct trafgen *s) { return s->progs.tg_sink; }
static struct bpf_program *dropnet_prog(struct trafgen *s) { return s->progs.tg_dropnet; }
static struct bpf_program *pass_prog(struct trafgen *s) { return s->progs.tg_pass; }

static int sink_pin(struct trafgen *skel, const void *pin)
{
	int err = bpf_map__pin(skel->maps.tg_sink_counts, pin);

	if (err)
		fprintf(stderr, "trafgen sink: cannot pin the counters at %s: %s\n",
			(const char *)pin, strerror(-err));
	return err;
}

static int do_sink(int argc, char **argv)
{
	const char *dev, *pin;

	if (parse_pair(argc, argv, "--pin", &dev, &pin))
		return 2;
	return attach("sink", dev, sink_prog, sink_pin, pin);
}

static int dropnet_set(struct trafgen *skel, const void *net)
{
	skel->bss->tg_drop_net = *(const struct tg_net *)net;
	return 0;
}

static int do_dropnet(int argc, char **argv)
{
	const char *dev, *net;
	char addr[INET_ADDRSTRLEN];
	struct tg_net n;
	struct in_addr a;
	int len;

	if (parse_pair(argc, argv, "--net", &dev, &net))
		return 2;
	if (sscanf(net, "%15[0-9.]/%d", addr, &len) != 2 || len < 1 || len > 32 ||
	    inet_pton(AF_INET, addr, &a) != 1) {
		fprintf(stderr, "trafgen dropnet: '%s' is not an IPv4 network ADDR/LEN\n", net);
		return 2;
	}
	n.mask = htonl(len == 32 ? 0xffffffffU : ~(0xffffffffU >> len));
	n.net = a.s_addr & n.mask;
	return attach("dropnet", dev, dropnet_prog, dropnet_set, &n);
}

static int do_pass(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "--dev")) {
		usage();
		return 2;
	}
	return attach("pass", argv[1], pass_prog, NULL, NULL);
}

static int do_bare(int argc, char **argv)
{
	const char *dev, *out;
	__u32 in_idx, out_idx;
	struct bare *skel;
	int err;

	if (parse_pair(argc, argv, "--out", &dev, &out))
		return 2;
	in_idx = if_nametoindex(dev);
	out_idx = if_nametoindex(out);
	if (!in_idx || !out_idx) {
		fprintf(stderr, "trafgen bare: no interface %s in this namespace\n",
			in_idx ? out : dev);
		return 1;
	}
	skel = bare__open_and_load();
	if (!skel) {
		fprintf(stderr, "trafgen bare: cannot load the BPF object: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_map__update_elem(skel->maps.bare_tx_ports, &in_idx, sizeof(in_idx), &out_idx,
				   sizeof(out_idx), BPF_ANY);
	if (err)
		fprintf(stderr, "trafgen bare: cannot fill the devmap: %s\n", strerror(-err));
	else if ((err = bpf_xdp_attach(in_idx, bpf_program__fd(skel->progs.bare_xdp),
				       XDP_FLAGS_DRV_MODE, NULL)))
		fprintf(stderr, "trafgen bare: cannot attach to %s: %s\n", dev, strerror(-err));
	bare__destroy(skel);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "pass"))
		return do_pass(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "dropnet"))
		return do_dropnet(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return do_send(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return do_sink(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "bare"))
		return do_bare(argc - 2, argv + 2);
	usage();
	return 2;
}
