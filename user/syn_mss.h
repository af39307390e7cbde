/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * syn_mss.h - the MSS a cookie SYN-ACK offers (portier_config.syn_mss,
 * docs/dataplane.md "SYN floods"), derived from the NICs: a client told
 * more than the smaller of the two links carries would send segments the
 * output link cannot take (fragmentation needed for every full segment).
 *
 * Functions return 0 or -errno and print nothing.
 */
#ifndef PORTIER_SYN_MSS_H
#define PORTIER_SYN_MSS_H

#include <stdint.h>

#define PT_SYN_MSS_HEADERS	40	/* IPv4 + TCP headers, no options */
#define PT_SYN_MSS_MIN		88	/* the kernel's TCP_MIN_MSS */
#define PT_SYN_MSS_MAX		(UINT16_MAX - PT_SYN_MSS_HEADERS)

/* The MTU of interface ifname in this network namespace (SIOCGIFMTU). */
int pt_nic_mtu(const char *ifname, unsigned int *mtu);

/* The MSS for an IPv4 path through links of MTU in_mtu and out_mtu: the
 * smaller MTU less 40, within PT_SYN_MSS_MIN..PT_SYN_MSS_MAX. */
uint16_t pt_syn_mss_for(unsigned int in_mtu, unsigned int out_mtu);

#endif
