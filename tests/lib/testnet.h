/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * testnet.h - the private network namespace of the BPF program tests and
 * the per-packet cost benchmark: a gateway with an input veth "pin"
 * (198.51.100.1/24, client 198.51.100.10) and an output veth "pout"
 * (203.0.113.1/24, backends .11-.13), fixed MACs, permanent neighbour
 * entries, forwarding on. Nothing is linked to any other namespace.
 */
#ifndef PORTIER_TEST_TESTNET_H
#define PORTIER_TEST_TESTNET_H

#include <stdint.h>

#define TN_IF_IN	"pin"
#define TN_IF_OUT	"pout"
#define TN_GW_IN	"198.51.100.1"
#define TN_GW_OUT	"203.0.113.1"
#define TN_CLIENT	"198.51.100.10"
#define TN_N_BE		3

extern const uint8_t tn_mac_in[6];
extern const uint8_t tn_mac_out[6];
extern const uint8_t tn_mac_client[6];
extern const uint8_t tn_mac_be[TN_N_BE][6];
extern const char *const tn_be_addr[TN_N_BE];	/* 203.0.113.11-.13 */

/* IPv6 (documentation prefix): the gateway's addresses on pin and pout,
 * the client, the backends (the same MACs as their IPv4 addresses). */
#define TN6_GW_IN	"2001:db8:1::1"
#define TN6_GW_OUT	"2001:db8:2::1"
#define TN6_CLIENT	"2001:db8:1::10"
extern const char *const tn6_be_addr[TN_N_BE];	/* 2001:db8:2::11-13 */

/* Move this process into a new network namespace (it goes away with the
 * process) and build the network above. 0 or -1 (message printed). */
int tn_enter(const char *who);

/* Run a shell command built from fmt; 0 or its non-zero status (printed). */
int tn_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "02:00:00:00:01:01" into buf (18 bytes). */
const char *tn_mac_str(const uint8_t m[6], char *buf);

/* IPv4 address text to network order; 0 on a bad address. */
uint32_t tn_ip4(const char *s);

#endif
