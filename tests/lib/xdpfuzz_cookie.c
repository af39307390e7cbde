// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdpfuzz_cookie.c - the fuzz harness's stateful seed (xdpfuzz.h): a
 * whole cookie handshake through the SYN proxy, each packet built from
 * what the program sent before (the cookie and timestamp of its SYN-ACK,
 * the SNAT port and sequence numbers of the SYN it made), so that mutated
 * packets reach the paths behind a valid cookie: the flow it opens, the
 * backend's SYN-ACK, translated data, the ACK portier answers a
 * retransmitted SYN-ACK with.
 */
#include <netinet/in.h>
#include <string.h>

#include <linux/bpf.h>

#include "testnet.h"
#include "xdpfuzz.h"

#define TCP_OFF		(PKT_ETH_LEN + PKT_IP_LEN)
#define OPT_NOP		1
#define OPT_TS		8
#define CLIENT_TS	0x01000000U
#define BACKEND_ISN	0x50000000U
#define BACKEND_TS	0x7000U
#define DATA_LEN	10
/* First client port of the handshakes (each takes the next one). */
#define PORT_FIRST	20000

/* The steps, in order; xf_cookie_chain mutates one. */
enum step { S_SYN, S_ACK, S_B_SYNACK, S_C_DATA, S_B_DATA, S_B_SYNACK2, S_FIN, S_N };
#define STEPS_MUTABLE	8	/* data[1] % 8: S_N (7) mutates nothing */

static unsigned int next_port;

/* Offset in TCP header th (doff words) of option kind, or 0. */
static size_t opt_find(const uint8_t *th, size_t frame_left, uint8_t kind)
{
	size_t hl = (size_t)(th[12] >> 4) * 4, i = 20;

	if (hl > frame_left)
		return 0;
	while (i < hl) {
		if (th[i] == 0)
			return 0;
		if (th[i] == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= hl || th[i + 1] < 2)
			return 0;
		if (th[i] == kind)
			return i;
		i += th[i + 1];
	}
	return 0;
}

size_t xf_tcp_frame(struct pkt_spec s, uint32_t seq, uint32_t ack, uint8_t flags,
		    uint16_t win, const uint8_t *opt, size_t n, size_t payload, uint8_t *f)
{
	s.proto = IPPROTO_TCP;
	s.tcp_flags = flags;
	s.payload_seed = 3;
	return pkt_build_tcp(s, seq, ack, win, opt, n, payload, f);
}

/* The spec of a frame's sender: MACs, addresses, ports. */
static struct pkt_spec sender_of(const uint8_t *f)
{
	struct pkt_spec s = pkt_spec_ip(f, f + 6, pkt_saddr(f), pkt_daddr(f), 64);

	s.sport = pkt_sport(f);
	s.dport = pkt_dport(f);
	s.df = true;
	return s;
}

/* The spec of a frame's sender answering it: MACs, addresses, ports
 * swapped. */
static struct pkt_spec answer_of(const uint8_t *f)
{
	struct pkt_spec s = pkt_spec_ip(f + 6, f, pkt_daddr(f), pkt_saddr(f), 64);

	s.sport = pkt_dport(f);
	s.dport = pkt_sport(f);
	s.df = true;
	return s;
}

/* The pairs of data[2..] set bytes of f (len bytes), as xf_one does; bit
 * 7 of data[1] also cuts it to 14 + data[2] % 128 bytes first. */
static size_t mutate(uint8_t *f, size_t len, const uint8_t *data, size_t size)
{
	if (size > 2 && (data[1] & 0x80) && PKT_ETH_LEN + (size_t)(data[2] & 0x7f) < len)
		len = PKT_ETH_LEN + (data[2] & 0x7f);
	for (size_t i = 2; i + 1 < size; i += 2)
		f[data[i] % len] = data[i + 1];
	return len;
}

/* Run step st's frame f (len bytes) on iface, mutated if st is the chosen
 * step m; its output to out. */
static const char *step(enum step st, unsigned int m, enum xf_iface iface, uint8_t *f,
			size_t len, const uint8_t *data, size_t size, uint8_t *out, int *act)
{
	if (st == m)
		len = mutate(f, len, data, size);
	*act = -1;
	return xf_run(iface, f, len, out, act);
}

/* Is out (an output frame) a TCP segment with exactly these flags? */
static bool tcp_flags_are(const uint8_t *out, uint8_t flags)
{
	return out[PKT_ETH_LEN + 9] == IPPROTO_TCP && out[TCP_OFF + 13] == flags;
}

const char *xf_cookie_chain(const uint8_t *syn, size_t len, const uint8_t *data, size_t size)
{
	static const uint8_t b_synack_opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0,
						  0, 0, 0, 0, 1, 3, 3, 9 };
	uint8_t f[PKT_MAX], out[PKT_MAX], bsyn[PKT_MAX], opt[32];
	unsigned int m = size > 2 ? data[1] % STEPS_MUTABLE : S_N;
	struct pkt_spec c, b;
	uint32_t isn, cookie, our_ts = 0, b_seq;
	size_t n, o, no;
	const char *err;
	uint16_t port;
	bool ts;
	int act;

	if (len < TCP_OFF + 20 || len > PKT_MAX)
		return NULL;
	/* A fresh client port: every handshake is a new flow. */
	port = (uint16_t)(PORT_FIRST + __atomic_fetch_add(&next_port, 1, __ATOMIC_RELAXED) % 40000);
	memcpy(f, syn, len);
	f[TCP_OFF] = port >> 8;
	f[TCP_OFF + 1] = port & 0xff;
	pkt_l4_csum_fix(f, len);
	isn = pkt_get32(f + TCP_OFF + 4);
	c = sender_of(f);

	/* The SYN: a cookie SYN-ACK back. */
	if ((err = step(S_SYN, m, XF_IN, f, len, data, size, out, &act)))
		return err;
	if (act != XDP_TX || !tcp_flags_are(out, PKT_SYN | PKT_ACK))
		return NULL;
	cookie = pkt_get32(out + TCP_OFF + 4);
	o = opt_find(out + TCP_OFF, 40, OPT_TS);
	ts = o != 0;
	if (ts)
		our_ts = pkt_get32(out + TCP_OFF + o + 2);

	/* The client's ACK of it: the flow opens, a SYN goes to a backend. */
	memset(opt, OPT_NOP, sizeof(opt));
	no = 0;
	if (ts) {
		opt[2] = OPT_TS;
		opt[3] = 10;
		pkt_put32(opt + 4, CLIENT_TS + 1);
		pkt_put32(opt + 8, our_ts);
		no = 12;
	}
	n = xf_tcp_frame(c, isn + 1, cookie + 1, PKT_ACK, 502, opt, no, 0, f);
	if ((err = step(S_ACK, m, XF_IN, f, n, data, size, out, &act)))
		return err;
	if (act != XDP_REDIRECT || !tcp_flags_are(out, PKT_SYN))
		return NULL;
	__atomic_fetch_add(&xf_counts_rw()->cookie_acks_opened, 1, __ATOMIC_RELAXED);
	memcpy(bsyn, out, n = (size_t)(TCP_OFF + ((out[TCP_OFF + 12] >> 4) * 4)));

	/* The backend's SYN-ACK: the client's window opens. */
	b = answer_of(bsyn);
	memcpy(opt, b_synack_opt, sizeof(b_synack_opt));
	o = opt_find(bsyn + TCP_OFF, 40, OPT_TS);
	if (o) {
		pkt_put32(opt + 8, BACKEND_TS);
		pkt_put32(opt + 12, pkt_get32(bsyn + TCP_OFF + o + 2));
	} else {
		memset(opt + 6, OPT_NOP, 10);
	}
	b_seq = BACKEND_ISN;
	n = xf_tcp_frame(b, b_seq, pkt_get32(bsyn + TCP_OFF + 4) + 1, PKT_SYN | PKT_ACK, 64000, opt,
		      sizeof(b_synack_opt), 0, f);
	if ((err = step(S_B_SYNACK, m, XF_OUT, f, n, data, size, out, &act)))
		return err;
	if (act != XDP_REDIRECT)
		return NULL;
	__atomic_fetch_add(&xf_counts_rw()->cookie_synacks_xlat, 1, __ATOMIC_RELAXED);

	/* Client data: timestamps and a SACK block to translate. */
	memset(opt, OPT_NOP, sizeof(opt));
	opt[2] = OPT_TS;
	opt[3] = 10;
	pkt_put32(opt + 4, CLIENT_TS + 2);
	pkt_put32(opt + 8, our_ts);
	opt[14] = 5;
	opt[15] = 18;
	pkt_put32(opt + 16, cookie + 100);
	pkt_put32(opt + 20, cookie + 200);
	pkt_put32(opt + 24, cookie + 300);
	pkt_put32(opt + 28, cookie + 400);
	n = xf_tcp_frame(c, isn + 1, cookie + 1, PKT_ACK | PKT_PSH, 502, opt, 32, DATA_LEN, f);
	if ((err = step(S_C_DATA, m, XF_IN, f, n, data, size, out, &act)))
		return err;

	/* Backend data: sequence number, timestamp, window. */
	memset(opt, OPT_NOP, sizeof(opt));
	opt[2] = OPT_TS;
	opt[3] = 10;
	pkt_put32(opt + 4, BACKEND_TS + 1);
	pkt_put32(opt + 8, CLIENT_TS + 2);
	n = xf_tcp_frame(b, b_seq + 1, isn + 1 + DATA_LEN, PKT_ACK | PKT_PSH, 300, opt, 12, 20, f);
	if ((err = step(S_B_DATA, m, XF_OUT, f, n, data, size, out, &act)))
		return err;
	if (act == XDP_REDIRECT)
		__atomic_fetch_add(&xf_counts_rw()->cookie_data_xlat, 1, __ATOMIC_RELAXED);

	/* The backend's SYN-ACK again: portier answers with the ACK. */
	n = xf_tcp_frame(b, b_seq, pkt_get32(bsyn + TCP_OFF + 4) + 1, PKT_SYN | PKT_ACK, 64000,
		      b_synack_opt, sizeof(b_synack_opt), 0, f);
	if ((err = step(S_B_SYNACK2, m, XF_OUT, f, n, data, size, out, &act)))
		return err;

	/* The client closes. */
	n = xf_tcp_frame(c, isn + 1 + DATA_LEN, cookie + 1, PKT_FIN | PKT_ACK, 502, opt, 0, 0, f);
	return step(S_FIN, m, XF_IN, f, n, data, size, out, &act);
}
