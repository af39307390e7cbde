// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * syn_mss.c - the MSS a cookie SYN-ACK offers, from the NICs' MTUs
 * (syn_mss.h).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "syn_mss.h"

int pt_nic_mtu(const char *ifname, unsigned int *mtu)
{
	struct ifreq ifr = {};
	int sock, err = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	strcpy(ifr.ifr_name, ifname);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (ioctl(sock, SIOCGIFMTU, &ifr))
		err = -errno;
	else
		*mtu = ifr.ifr_mtu > 0 ? (unsigned int)ifr.ifr_mtu : 0;
	close(sock);
	return err;
}

uint16_t pt_syn_mss_for(unsigned int in_mtu, unsigned int out_mtu)
{
	unsigned int mtu = in_mtu < out_mtu ? in_mtu : out_mtu;

	if (mtu < PT_SYN_MSS_MIN + PT_SYN_MSS_HEADERS)
		return PT_SYN_MSS_MIN;
	if (mtu - PT_SYN_MSS_HEADERS > PT_SYN_MSS_MAX)
		return PT_SYN_MSS_MAX;
	return (uint16_t)(mtu - PT_SYN_MSS_HEADERS);
}
