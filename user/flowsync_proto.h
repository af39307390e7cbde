/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * flowsync_proto.h - the flow sync protocol between two gateways, without
 * sockets or tables (user/flowsync.c has those): the wire format, and one
 * session's sender (sequence numbers, a bounded retransmit queue, resend
 * on NACK and on timeout, resync) and receiver (in-order delivery through
 * a bounded reorder buffer, cumulative ACKs, NACKs for gaps). Modelled on
 * conntrackd's FTFW mode; docs/operations.md, "Flow sync", has the design.
 *
 * Time is the caller's (ms, monotonic); output goes through the send
 * callback, records received through the apply callback, and a resync
 * the peer needs is announced by pt_fs_resync_due().
 */
#ifndef PORTIER_FLOWSYNC_PROTO_H
#define PORTIER_FLOWSYNC_PROTO_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "portier.h"

#define PT_FS_MAGIC		0x50544653U	/* "PTFS" */
#define PT_FS_VERSION		1
#define PT_FS_MTU		1400	/* bytes of a datagram, at most */
#define PT_FS_HDR_LEN		40	/* wire header */
#define PT_FS_FLOW_LEN		64	/* wire FLOW record */
#define PT_FS_SMALL_LEN		20	/* wire FLAGS and DEL records */
#define PT_FS_FLOW6_LEN		160	/* wire FLOW record of an IPv6 flow */
#define PT_FS_SMALL6_LEN	44	/* wire FLAGS and DEL records of one */

#define PT_FS_QUEUE		1024	/* datagrams kept until acked */
#define PT_FS_WINDOW		768	/* unacked datagrams a resync may fill */
#define PT_FS_REORDER		256	/* datagrams held ahead of a gap */
#define PT_FS_RTO_MS		200	/* unacked this long: sent again */
#define PT_FS_RESEND_BURST	64	/* datagrams resent per timer call */
#define PT_FS_NACK_HOLD_MS	50	/* a NACK resends nothing resent since */
#define PT_FS_ALIVE_MS		500	/* an ALIVE at least this often */
#define PT_FS_DEAD_MS		3000	/* peer silent this long: down */

/* Datagram types. */
enum { PT_FS_DATA = 1, PT_FS_ACK = 2, PT_FS_ALIVE = 3 };

/* Header flags. */
#define PT_FS_F_RESET	(1U << 0)	/* DATA: the sequence starts again here:
					 * nothing before it will be resent */
#define PT_FS_F_RESYNC	(1U << 1)	/* ACK, ALIVE: send me your whole table */
#define PT_FS_F_MASTER	(1U << 2)	/* any: the sender is the MASTER */

/* Record kinds. */
enum { PT_FS_REC_FLOW = 1, PT_FS_REC_FLAGS = 2, PT_FS_REC_DEL = 3 };
/* On the wire, a record of an IPv6 flow has this bit in its kind byte
 * (its keys and rewrites carry 16-byte addresses; IPv4 records are as
 * they were: docs/operations.md, "Flow sync"). */
#define PT_FS_REC_IPV6	0x80

/* One record, decoded. FLOW: the flow's two entries' keys and rewrites
 * (a new flow, a refresh, or a resync's dump); FLAGS: state bits set on
 * the flow of key; DEL: the flow of key deleted. */
struct pt_fs_rec {
	__u8 kind;			/* PT_FS_REC_* */
	__u8 flags;			/* FLOW: PORTIER_SYNC_FLAGS and _KIND bits of the
					 * flow; FLAGS: the bits set */
	__u16 route_id, backend_id;	/* FLOW: the sender's ids */
	__u32 age_ms;			/* FLOW, DEL: how long the flow had been
					 * idle when sent */
	__u32 life_ms;			/* FLOW: how long ago it was created */
	struct portier_flow_key key;	/* FLOW: original direction */
	struct portier_flow_key rkey;	/* FLOW: reply direction */
	/* FLOW: the rewrites (nat_* of the two entries). */
	__be32 o_saddr, o_daddr, r_saddr, r_daddr;
	__be16 o_sport, o_dport, r_sport, r_dport;
	/* An IPv6 flow's record (ipv6): its keys and rewrite addresses here,
	 * instead of key, rkey and the __be32 addresses above (zero); the
	 * rest (kind, flags, ids, times, the rewrite ports) as for IPv4. */
	bool ipv6;
	struct portier_flow_key6 key6, rkey6;
	struct portier_addr o_saddr6, o_daddr6, r_saddr6, r_daddr6;
};

/* A datagram's header, decoded. */
struct pt_fs_hdr {
	__u8 type;			/* PT_FS_DATA, _ACK, _ALIVE */
	__u8 flags;			/* PT_FS_F_* */
	__u64 instance;			/* the sender's (random at its start) */
	__u64 peer;			/* ACK, ALIVE: the instance acked (0: none) */
	__u32 seq;			/* DATA: its number; ALIVE: the next one */
	__u32 ack;			/* ACK, ALIVE: next DATA expected from peer */
	__u32 nack_from;		/* ACK: first DATA missing ... */
	__u16 nack_count;		/* ... and how many (0: no gap) */
	__u16 nrec;			/* DATA: records that follow */
};

/* Encode r at buf (room bytes): its length, or 0 if it does not fit. */
size_t pt_fs_rec_encode(const struct pt_fs_rec *r, __u8 *buf, size_t room);
/* Decode a record at buf (len bytes): its length, or -EBADMSG. */
int pt_fs_rec_decode(const __u8 *buf, size_t len, struct pt_fs_rec *r);
void pt_fs_hdr_encode(const struct pt_fs_hdr *h, __u8 *buf);
/* Decode a header: 0, or -EBADMSG (short), -EPROTO (magic, version,
 * type). */
int pt_fs_hdr_decode(const __u8 *buf, size_t len, struct pt_fs_hdr *h);

/* Why a datagram or record was refused (counters). */
enum pt_fs_bad {
	PT_FS_BAD_SHORT,		/* shorter than its header or records */
	PT_FS_BAD_MAGIC,		/* not ours, or another version */
	PT_FS_BAD_STALE,		/* an ACK for an instance of ours gone */
	PT_FS_BAD_UNSYNCED,		/* DATA of a peer not yet reset (waits for
					 * its resync) */
	PT_FS_BAD_REORDER_FULL,		/* DATA too far ahead of a gap */
	PT_FS_BAD_MAX,
};

struct pt_fs_stats {
	__u64 tx_datagrams;		/* DATA sent, first time */
	__u64 tx_records;
	__u64 tx_retransmits;		/* DATA sent again (NACK, timeout) */
	__u64 tx_acked;			/* DATA acknowledged */
	__u64 tx_overflow;		/* DATA dropped unacked from a full queue */
	__u64 tx_no_peer;		/* records not sent: no peer up */
	__u64 resyncs;			/* table dumps started for the peer */
	__u64 rx_datagrams;		/* DATA received and delivered */
	__u64 rx_records;
	__u64 rx_duplicates;		/* DATA received again */
	__u64 rx_reordered;		/* DATA held ahead of a gap */
	__u64 rx_nacks;			/* ACKs sent with a gap */
	__u64 rx_resets;		/* DATA with RESET that cut a gap */
	__u64 peer_restarts;		/* a new peer instance seen */
	__u64 peer_downs;		/* the peer went silent */
	__u64 bad[PT_FS_BAD_MAX];	/* refused, by enum pt_fs_bad */
};

struct pt_fs_ops {
	/* Send a datagram to the peer. */
	void (*send)(void *arg, const void *buf, size_t len);
	/* A record received, in the sender's order. */
	void (*apply)(void *arg, const struct pt_fs_rec *r);
	void *arg;
};

struct pt_fs;

/* A session; instance identifies this run (nonzero, random). */
struct pt_fs *pt_fs_new(const struct pt_fs_ops *ops, __u64 instance, bool master);
void pt_fs_free(struct pt_fs *fs);

/* MASTER: this side sends its flows. Becoming MASTER with the peer up
 * schedules a resync (the peer may lack flows this side made). */
void pt_fs_set_master(struct pt_fs *fs, bool master, __u64 now_ms);
bool pt_fs_master(const struct pt_fs *fs);
/* The peer was heard within PT_FS_DEAD_MS. */
bool pt_fs_peer_up(const struct pt_fs *fs);

/* Queue a record for the peer (MASTER, peer up; else counted and
 * dropped); a full datagram goes out at once. */
void pt_fs_add(struct pt_fs *fs, const struct pt_fs_rec *r, __u64 now_ms);
/* Send the datagram being filled, if it has records. */
void pt_fs_flush(struct pt_fs *fs, __u64 now_ms);
/* A datagram from the peer. Returns 0 or a negative enum pt_fs_bad... as
 * -1 - reason (counted). */
int pt_fs_input(struct pt_fs *fs, const void *buf, size_t len, __u64 now_ms);
/* Timers: resend what timed out, ALIVE, the peer's silence. Call at least
 * every PT_FS_RTO_MS / 2. */
void pt_fs_timer(struct pt_fs *fs, __u64 now_ms);

/* A resync is due (the peer (re)started, came back, asked, or missed
 * DATA no longer queued): the caller calls pt_fs_resync_begin, then adds
 * a FLOW record of every flow while pt_fs_room() allows, then
 * pt_fs_resync_end. */
bool pt_fs_resync_due(const struct pt_fs *fs);
void pt_fs_resync_begin(struct pt_fs *fs, __u64 now_ms);
void pt_fs_resync_end(struct pt_fs *fs, __u64 now_ms);
bool pt_fs_resyncing(const struct pt_fs *fs);
/* Datagrams a resync may still put in flight (0: wait for ACKs). */
size_t pt_fs_room(const struct pt_fs *fs);

const struct pt_fs_stats *pt_fs_stats(const struct pt_fs *fs);
/* "short", "magic", ... for a metrics label. */
const char *pt_fs_bad_name(enum pt_fs_bad b);

#endif
