// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * nic_check.c - is a NIC a veth whose peer offloads TX checksums? The
 * driver name and the peer's TX checksum setting come from the ethtool
 * ioctl (ETHTOOL_GDRVINFO, ETHTOOL_GTXCSUM), as `ethtool -i` and `ethtool
 * -k` read them; the peer from rtnetlink (RTM_GETLINK: IFLA_LINK is the
 * peer's ifindex, IFLA_LINK_NETNSID present when the peer lives in another
 * network namespace, where its ifindex means nothing here and its settings
 * cannot be read).
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nic_check.h"

#define NL_BUF		32768	/* one RTM_NEWLINK answer, attributes and all */
#define VETH_DRIVER	"veth"

static int ethtool(int sock, const char *ifname, void *cmd)
{
	struct ifreq ifr = {};

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	strcpy(ifr.ifr_name, ifname);
	ifr.ifr_data = cmd;
	return ioctl(sock, SIOCETHTOOL, &ifr) ? -errno : 0;
}

/* The peer of ifindex: its ifindex and whether it is in another namespace. */
static int link_peer(int ifindex, int *peer, bool *elsewhere)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtattr *rta;
	int fd, len = 0, err = 0;

	*peer = 0;
	*elsewhere = false;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0 || (len = recv(fd, buf, sizeof(buf), 0)) < 0)
		err = -errno;
	close(fd);
	if (err)
		return err;
	if (!NLMSG_OK(nh, (unsigned int)len))
		return -EBADMSG;
	if (nh->nlmsg_type == NLMSG_ERROR)
		return ((struct nlmsgerr *)NLMSG_DATA(nh))->error ?: -EBADMSG;
	if (nh->nlmsg_type != RTM_NEWLINK)
		return -EBADMSG;
	len = IFLA_PAYLOAD(nh);
	for (rta = IFLA_RTA(NLMSG_DATA(nh)); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFLA_LINK && RTA_PAYLOAD(rta) >= sizeof(__u32))
			*peer = (int)*(__u32 *)RTA_DATA(rta);
		else if (rta->rta_type == IFLA_LINK_NETNSID)
			*elsewhere = true;
	}
	return *peer ? 0 : -ENOENT;
}

int pt_nic_csum_check(const char *ifname, struct pt_nic_csum *out)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_value tx = { .cmd = ETHTOOL_GTXCSUM };
	int sock, ifindex = (int)if_nametoindex(ifname), err;
	bool elsewhere;

	memset(out, 0, sizeof(*out));
	if (!ifindex)
		return -ENODEV;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	err = ethtool(sock, ifname, &di);
	if (err == -EOPNOTSUPP) {	/* no ethtool at all: not a veth */
		out->verdict = PT_NIC_NOT_VETH;
		err = 0;
		goto out;
	}
	if (err || strcmp(di.driver, VETH_DRIVER))
		goto out;	/* PT_NIC_NOT_VETH */
	err = link_peer(ifindex, &out->peer_ifindex, &elsewhere);
	if (err)
		goto out;
	if (elsewhere) {
		out->verdict = PT_NIC_PEER_ELSEWHERE;
		goto out;
	}
	if (!if_indextoname((unsigned int)out->peer_ifindex, out->peer)) {
		err = -errno;
		goto out;
	}
	err = ethtool(sock, out->peer, &tx);
	if (!err)
		out->verdict = tx.data ? PT_NIC_PEER_TX_ON : PT_NIC_PEER_TX_OFF;
out:
	close(sock);
	return err;
}

const char *pt_nic_csum_warning(const char *option, const char *ifname,
				const struct pt_nic_csum *c, char *buf, size_t len)
{
	switch (c->verdict) {
	case PT_NIC_PEER_TX_ON:
		snprintf(buf, len,
			 "%s %s is a veth whose peer %s has TX checksum offload on: the "
			 "frames %s sends carry partial checksums, which XDP cannot forward "
			 "correctly (their receivers drop them); run 'ethtool -K %s tx off' "
			 "(docs/dataplane.md, \"Partial checksums\")",
			 option, ifname, c->peer, c->peer, c->peer);
		return buf;
	case PT_NIC_PEER_ELSEWHERE:
		snprintf(buf, len,
			 "%s %s is a veth whose peer (ifindex %d there) is in another network "
			 "namespace, where portier cannot see its settings: if it has TX "
			 "checksum offload on (a veth's default), the frames it sends carry "
			 "partial checksums, which XDP cannot forward correctly; check it, and "
			 "run 'ethtool -K PEER tx off' in that namespace (docs/dataplane.md, "
			 "\"Partial checksums\")",
			 option, ifname, c->peer_ifindex);
		return buf;
	default:
		return NULL;
	}
}
