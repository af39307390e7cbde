// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * flowsync_proto.c - the flow sync protocol (flowsync_proto.h): wire
 * format, sender and receiver of one session.
 *
 * Sender: every DATA datagram has the next sequence number and stays in a
 * queue of PT_FS_QUEUE until the peer's cumulative ACK covers it; a NACK
 * (the receiver's gap) or PT_FS_RTO_MS without an ACK sends it again. A
 * datagram pushed out of a full queue unacked can no longer be resent: a
 * NACK for it starts a resync, whose first datagram carries RESET (the
 * receiver forgets the gap and takes the sequence from there).
 * Receiver: delivers DATA strictly in sequence order (a DEL never passes
 * its FLOW), holding up to PT_FS_REORDER datagrams ahead of a gap, and
 * acknowledges with the next number it expects plus the gap it sees (up
 * to the first datagram it holds past it: the sender resends that range,
 * and on a timeout only the oldest unacked datagram).
 * Every side sends ALIVE each PT_FS_ALIVE_MS with its next sequence
 * number (a lost last datagram shows as a gap) and, until a RESET
 * synchronised it, a resync request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flowsync_proto.h"
#include "util.h"

/* ---- wire ----------------------------------------------------------------- */

static void put8(__u8 **p, __u8 v) { *(*p)++ = v; }
static void put16(__u8 **p, __u16 v) { put8(p, v >> 8); put8(p, (__u8)v); }
static void put32(__u8 **p, __u32 v) { put16(p, v >> 16); put16(p, (__u16)v); }
static void put64(__u8 **p, __u64 v) { put32(p, v >> 32); put32(p, (__u32)v); }
/* Bytes already in network order, copied as they are. */
static void putraw(__u8 **p, const void *v, size_t n) { memcpy(*p, v, n); *p += n; }

static __u8 get8(const __u8 **p) { return *(*p)++; }
static __u16 get16(const __u8 **p) { __u16 v = get8(p); return v << 8 | get8(p); }
static __u32 get32(const __u8 **p) { __u32 v = get16(p); return v << 16 | get16(p); }
static __u64 get64(const __u8 **p) { __u64 v = get32(p); return v << 32 | get32(p); }
static void getraw(const __u8 **p, void *v, size_t n) { memcpy(v, *p, n); *p += n; }

/* A key without its protocol (the record's) and padding: 12 bytes. */
static void put_key(__u8 **p, const struct portier_flow_key *k)
{
	putraw(p, &k->saddr, 4);
	putraw(p, &k->daddr, 4);
	putraw(p, &k->sport, 2);
	putraw(p, &k->dport, 2);
}

static void get_key(const __u8 **p, __u8 proto, struct portier_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	getraw(p, &k->saddr, 4);
	getraw(p, &k->daddr, 4);
	getraw(p, &k->sport, 2);
	getraw(p, &k->dport, 2);
	k->proto = proto;
}

/* An IPv6 key without its protocol and padding: 36 bytes. */
static void put_key6(__u8 **p, const struct portier_flow_key6 *k)
{
	putraw(p, &k->saddr, 16);
	putraw(p, &k->daddr, 16);
	putraw(p, &k->sport, 2);
	putraw(p, &k->dport, 2);
}

static void get_key6(const __u8 **p, __u8 proto, struct portier_flow_key6 *k)
{
	memset(k, 0, sizeof(*k));
	getraw(p, &k->saddr, 16);
	getraw(p, &k->daddr, 16);
	getraw(p, &k->sport, 2);
	getraw(p, &k->dport, 2);
	k->proto = proto;
}

/* The wire length of a record of kind (PT_FS_REC_*), IPv6 or not. */
static size_t rec_len(__u8 kind, bool ipv6)
{
	if (kind == PT_FS_REC_FLOW)
		return ipv6 ? PT_FS_FLOW6_LEN : PT_FS_FLOW_LEN;
	return ipv6 ? PT_FS_SMALL6_LEN : PT_FS_SMALL_LEN;
}

size_t pt_fs_rec_encode(const struct pt_fs_rec *r, __u8 *buf, size_t room)
{
	size_t len = rec_len(r->kind, r->ipv6);
	__u8 *p = buf;

	if (room < len)
		return 0;
	put8(&p, r->kind | (r->ipv6 ? PT_FS_REC_IPV6 : 0));
	put8(&p, r->ipv6 ? r->key6.proto : r->key.proto);
	put8(&p, r->flags);
	put8(&p, 0);
	put32(&p, r->age_ms);
	if (r->ipv6)
		put_key6(&p, &r->key6);
	else
		put_key(&p, &r->key);
	if (r->kind != PT_FS_REC_FLOW)
		return len;
	put32(&p, r->life_ms);
	put16(&p, r->route_id);
	put16(&p, r->backend_id);
	if (r->ipv6) {
		put_key6(&p, &r->rkey6);
		putraw(&p, &r->o_saddr6, 16);
		putraw(&p, &r->o_daddr6, 16);
	} else {
		put_key(&p, &r->rkey);
		putraw(&p, &r->o_saddr, 4);
		putraw(&p, &r->o_daddr, 4);
	}
	putraw(&p, &r->o_sport, 2);
	putraw(&p, &r->o_dport, 2);
	if (r->ipv6) {
		putraw(&p, &r->r_saddr6, 16);
		putraw(&p, &r->r_daddr6, 16);
	} else {
		putraw(&p, &r->r_saddr, 4);
		putraw(&p, &r->r_daddr, 4);
	}
	putraw(&p, &r->r_sport, 2);
	putraw(&p, &r->r_dport, 2);
	return len;
}

int pt_fs_rec_decode(const __u8 *buf, size_t len, struct pt_fs_rec *r)
{
	const __u8 *p = buf;
	__u8 proto;

	memset(r, 0, sizeof(*r));
	if (len < PT_FS_SMALL_LEN)
		return -EBADMSG;
	r->kind = get8(&p);
	r->ipv6 = r->kind & PT_FS_REC_IPV6;
	r->kind &= ~PT_FS_REC_IPV6;
	if (r->kind != PT_FS_REC_FLOW && r->kind != PT_FS_REC_FLAGS && r->kind != PT_FS_REC_DEL)
		return -EBADMSG;
	if (len < rec_len(r->kind, r->ipv6))
		return -EBADMSG;
	proto = get8(&p);
	r->flags = get8(&p);
	get8(&p);
	r->age_ms = get32(&p);
	if (r->ipv6)
		get_key6(&p, proto, &r->key6);
	else
		get_key(&p, proto, &r->key);
	if (r->kind != PT_FS_REC_FLOW)
		return (int)rec_len(r->kind, r->ipv6);
	r->life_ms = get32(&p);
	r->route_id = get16(&p);
	r->backend_id = get16(&p);
	if (r->ipv6) {
		get_key6(&p, proto, &r->rkey6);
		getraw(&p, &r->o_saddr6, 16);
		getraw(&p, &r->o_daddr6, 16);
	} else {
		get_key(&p, proto, &r->rkey);
		getraw(&p, &r->o_saddr, 4);
		getraw(&p, &r->o_daddr, 4);
	}
	getraw(&p, &r->o_sport, 2);
	getraw(&p, &r->o_dport, 2);
	if (r->ipv6) {
		getraw(&p, &r->r_saddr6, 16);
		getraw(&p, &r->r_daddr6, 16);
	} else {
		getraw(&p, &r->r_saddr, 4);
		getraw(&p, &r->r_daddr, 4);
	}
	getraw(&p, &r->r_sport, 2);
	getraw(&p, &r->r_dport, 2);
	return (int)rec_len(r->kind, r->ipv6);
}

void pt_fs_hdr_encode(const struct pt_fs_hdr *h, __u8 *buf)
{
	__u8 *p = buf;

	put32(&p, PT_FS_MAGIC);
	put8(&p, PT_FS_VERSION);
	put8(&p, h->type);
	put8(&p, h->flags);
	put8(&p, 0);
	put64(&p, h->instance);
	put64(&p, h->peer);
	put32(&p, h->seq);
	put32(&p, h->ack);
	put32(&p, h->nack_from);
	put16(&p, h->nack_count);
	put16(&p, h->nrec);
}

int pt_fs_hdr_decode(const __u8 *buf, size_t len, struct pt_fs_hdr *h)
{
	const __u8 *p = buf;

	memset(h, 0, sizeof(*h));
	if (len < PT_FS_HDR_LEN)
		return -EBADMSG;
	if (get32(&p) != PT_FS_MAGIC || get8(&p) != PT_FS_VERSION)
		return -EPROTO;
	h->type = get8(&p);
	h->flags = get8(&p);
	get8(&p);
	h->instance = get64(&p);
	h->peer = get64(&p);
	h->seq = get32(&p);
	h->ack = get32(&p);
	h->nack_from = get32(&p);
	h->nack_count = get16(&p);
	h->nrec = get16(&p);
	if (h->type < PT_FS_DATA || h->type > PT_FS_ALIVE || !h->instance)
		return -EPROTO;
	return 0;
}

/* ---- session ---------------------------------------------------------------- */

/* One DATA datagram, encoded, and when it was last sent. */
struct dgram {
	__u32 seq;
	__u16 len;
	bool used;
	__u64 sent_ms;			/* last sent */
	__u64 resent_ms;		/* last sent again (0: never) */
	__u8 buf[PT_FS_MTU];
};

struct pt_fs {
	struct pt_fs_ops ops;
	struct pt_fs_stats st;
	__u64 instance;
	bool master;

	/* Peer. */
	__u64 peer;			/* its instance, 0 = never heard */
	__u64 heard_ms;			/* when it was last heard */
	bool up;

	/* Sender. */
	__u32 next;			/* sequence number of the next DATA */
	__u32 una;			/* oldest unacked DATA (== next: none) */
	__u32 lost_below;		/* DATA below this (and from reset_base)
					 * was pushed out of the queue unacked */
	__u32 reset_base;		/* the last RESET datagram's number */
	__u64 reset_for;		/* the peer instance it was for */
	bool reset_pending;		/* the next DATA carries RESET */
	bool resync_due, resyncing;
	struct dgram *q;		/* PT_FS_QUEUE, slot seq % PT_FS_QUEUE */
	__u8 cur[PT_FS_MTU];		/* the datagram being filled */
	size_t cur_len;
	__u16 cur_nrec;
	__u64 alive_ms;			/* when an ALIVE was last sent */

	/* Receiver. */
	bool synced;			/* expected is valid (a RESET seen) */
	__u32 expected;			/* next DATA to deliver */
	__u32 peer_next;		/* the peer's next number, as far as known */
	bool ack_due;			/* DATA arrived since the last ACK */
	__u64 nack_ms;			/* when a gap was last reported */
	struct dgram *ro;		/* PT_FS_REORDER, slot seq % PT_FS_REORDER */
	__u32 n_ro;
};

/* a - b as a signed distance on the 32-bit circle of sequence numbers. */
static __s32 seq_diff(__u32 a, __u32 b)
{
	return (__s32)(a - b);
}

struct pt_fs *pt_fs_new(const struct pt_fs_ops *ops, __u64 instance, bool master)
{
	struct pt_fs *fs = xcalloc(1, sizeof(*fs));

	fs->ops = *ops;
	fs->instance = instance ? instance : 1;
	fs->master = master;
	fs->q = xcalloc(PT_FS_QUEUE, sizeof(*fs->q));
	fs->ro = xcalloc(PT_FS_REORDER, sizeof(*fs->ro));
	/* A random start: a restarted sender's numbers are not mistaken
	 * for its previous run's (the instance says so first anyway). */
	fs->next = fs->una = fs->lost_below = fs->reset_base = (__u32)(instance >> 7);
	fs->cur_len = PT_FS_HDR_LEN;
	fs->reset_pending = true;	/* the first DATA starts the sequence */
	return fs;
}

void pt_fs_free(struct pt_fs *fs)
{
	if (!fs)
		return;
	free(fs->q);
	free(fs->ro);
	free(fs);
}

const struct pt_fs_stats *pt_fs_stats(const struct pt_fs *fs)
{
	return &fs->st;
}

bool pt_fs_master(const struct pt_fs *fs)
{
	return fs->master;
}

bool pt_fs_peer_up(const struct pt_fs *fs)
{
	return fs->up;
}

bool pt_fs_resync_due(const struct pt_fs *fs)
{
	return fs->resync_due && fs->master && fs->up && !fs->resyncing;
}

bool pt_fs_resyncing(const struct pt_fs *fs)
{
	return fs->resyncing;
}

size_t pt_fs_room(const struct pt_fs *fs)
{
	__u32 inflight = fs->next - fs->una;

	return inflight >= PT_FS_WINDOW ? 0 : PT_FS_WINDOW - inflight;
}

const char *pt_fs_bad_name(enum pt_fs_bad b)
{
	static const char *const names[PT_FS_BAD_MAX] = {
		[PT_FS_BAD_SHORT] = "short",
		[PT_FS_BAD_MAGIC] = "magic",
		[PT_FS_BAD_STALE] = "stale",
		[PT_FS_BAD_UNSYNCED] = "unsynced",
		[PT_FS_BAD_REORDER_FULL] = "reorder_full",
	};

	return b < PT_FS_BAD_MAX ? names[b] : "?";
}

/* Send a control datagram (ACK or ALIVE) with what the receiver knows. */
static void send_ctl(struct pt_fs *fs, __u8 type, __u64 now_ms)
{
	struct pt_fs_hdr h = { .type = type, .instance = fs->instance, .peer = fs->peer,
			       .seq = fs->next, .ack = fs->expected };
	__u8 buf[PT_FS_HDR_LEN];

	if (fs->master)
		h.flags |= PT_FS_F_MASTER;
	if (fs->peer && !fs->synced)
		h.flags |= PT_FS_F_RESYNC;
	if (fs->synced && seq_diff(fs->peer_next, fs->expected) > 0) {
		__u32 end = fs->peer_next;

		/* The gap: up to the first datagram held, or the peer's next. */
		for (__u32 s = fs->expected + 1; s != fs->peer_next; s++)
			if (fs->ro[s % PT_FS_REORDER].used && fs->ro[s % PT_FS_REORDER].seq == s) {
				end = s;
				break;
			}
		h.nack_from = fs->expected;
		h.nack_count = end - fs->expected > 0xffff ? 0xffff : (__u16)(end - fs->expected);
		fs->st.rx_nacks++;
		fs->nack_ms = now_ms;
	}
	pt_fs_hdr_encode(&h, buf);
	fs->ops.send(fs->ops.arg, buf, sizeof(buf));
	if (type == PT_FS_ALIVE)
		fs->alive_ms = now_ms;
	fs->ack_due = false;
}

/* Forget everything queued: nothing of it will be resent. */
static void tx_drop_queue(struct pt_fs *fs)
{
	for (__u32 s = fs->una; s != fs->next; s++)
		fs->q[s % PT_FS_QUEUE].used = false;
	fs->una = fs->lost_below = fs->next;
	fs->cur_len = PT_FS_HDR_LEN;
	fs->cur_nrec = 0;
}

static void rx_reset(struct pt_fs *fs)
{
	for (size_t i = 0; i < PT_FS_REORDER; i++)
		fs->ro[i].used = false;
	fs->n_ro = 0;
	fs->synced = false;
}

/* The peer is up again, or another instance of it: it needs our table. */
static void peer_needs_table(struct pt_fs *fs)
{
	tx_drop_queue(fs);
	fs->resync_due = true;
}

static void send_dgram(struct pt_fs *fs, struct dgram *d, __u64 now_ms)
{
	d->sent_ms = now_ms;
	fs->ops.send(fs->ops.arg, d->buf, d->len);
}

void pt_fs_flush(struct pt_fs *fs, __u64 now_ms)
{
	struct pt_fs_hdr h = { .type = PT_FS_DATA, .instance = fs->instance, .peer = fs->peer,
			       .ack = fs->expected };
	struct dgram *d;

	if (fs->ack_due && fs->peer)
		send_ctl(fs, PT_FS_ACK, now_ms);
	if (!fs->cur_nrec && !(fs->reset_pending && fs->resyncing))
		return;
	if (fs->next - fs->una >= PT_FS_QUEUE) {	/* full: the oldest goes unacked */
		fs->q[fs->una % PT_FS_QUEUE].used = false;
		fs->una++;
		fs->lost_below = fs->una;
		fs->st.tx_overflow++;
	}
	h.seq = fs->next++;
	h.nrec = fs->cur_nrec;
	h.flags = fs->master ? PT_FS_F_MASTER : 0;
	if (fs->reset_pending) {
		h.flags |= PT_FS_F_RESET;
		fs->reset_pending = false;
		fs->reset_base = h.seq;
		fs->reset_for = fs->peer;
	}
	pt_fs_hdr_encode(&h, fs->cur);
	d = &fs->q[h.seq % PT_FS_QUEUE];
	d->seq = h.seq;
	d->len = (__u16)fs->cur_len;
	d->used = true;
	d->resent_ms = 0;
	memcpy(d->buf, fs->cur, fs->cur_len);
	fs->st.tx_datagrams++;
	fs->st.tx_records += fs->cur_nrec;
	fs->cur_len = PT_FS_HDR_LEN;
	fs->cur_nrec = 0;
	send_dgram(fs, d, now_ms);
}

void pt_fs_add(struct pt_fs *fs, const struct pt_fs_rec *r, __u64 now_ms)
{
	size_t n;

	if (!fs->master || !fs->up || (fs->resync_due && !fs->resyncing)) {
		/* Nobody to send to, or a resync will send the table anyway. */
		fs->st.tx_no_peer++;
		return;
	}
	n = pt_fs_rec_encode(r, fs->cur + fs->cur_len, PT_FS_MTU - fs->cur_len);
	if (!n) {
		pt_fs_flush(fs, now_ms);
		n = pt_fs_rec_encode(r, fs->cur + fs->cur_len, PT_FS_MTU - fs->cur_len);
	}
	fs->cur_len += n;
	fs->cur_nrec++;
}

void pt_fs_resync_begin(struct pt_fs *fs, __u64 now_ms)
{
	pt_fs_flush(fs, now_ms);
	/* What is queued is superseded by the dump: the receiver jumps to
	 * its RESET. */
	tx_drop_queue(fs);
	fs->reset_pending = true;
	fs->resync_due = false;
	fs->resyncing = true;
	fs->st.resyncs++;
}

void pt_fs_resync_end(struct pt_fs *fs, __u64 now_ms)
{
	pt_fs_flush(fs, now_ms);	/* an empty table still sends its RESET */
	fs->resyncing = false;
}

void pt_fs_set_master(struct pt_fs *fs, bool master, __u64 now_ms)
{
	if (master == fs->master)
		return;
	pt_fs_flush(fs, now_ms);
	fs->master = master;
	if (master) {
		peer_needs_table(fs);
	} else {
		tx_drop_queue(fs);
		fs->resyncing = false;
	}
	if (fs->peer)
		send_ctl(fs, PT_FS_ALIVE, now_ms);
}

/* Resend the queued DATA in [from, from + count) that was sent (nack:
 * resent) at or before cutoff, at most PT_FS_RESEND_BURST. */
static void resend(struct pt_fs *fs, __u32 from, __u32 count, __u64 cutoff, bool nack,
		   __u64 now_ms)
{
	unsigned int n = 0;

	if (seq_diff(from, fs->una) < 0) {
		count -= fs->una - from < count ? fs->una - from : count;
		from = fs->una;
	}
	for (__u32 s = from; count-- && s != fs->next && n < PT_FS_RESEND_BURST; s++) {
		struct dgram *d = &fs->q[s % PT_FS_QUEUE];

		if (!d->used || d->seq != s || (nack ? d->resent_ms : d->sent_ms) > cutoff)
			continue;
		send_dgram(fs, d, now_ms);
		d->resent_ms = now_ms;
		fs->st.tx_retransmits++;
		n++;
	}
}

/* The ACK (and NACK) fields of a datagram from the peer. */
static void tx_on_ack(struct pt_fs *fs, const struct pt_fs_hdr *h, __u64 now_ms)
{
	__u64 cutoff;

	if (h->peer != fs->instance) {
		if (h->peer)	/* 0: it has not heard of us yet */
			fs->st.bad[PT_FS_BAD_STALE]++;
		return;
	}
	/* Cumulative: everything below h->ack arrived. */
	if (seq_diff(h->ack, fs->una) > 0 && seq_diff(h->ack, fs->next) <= 0) {
		for (__u32 s = fs->una; s != h->ack; s++) {
			fs->q[s % PT_FS_QUEUE].used = false;
			fs->st.tx_acked++;
		}
		fs->una = h->ack;
	}
	if ((h->flags & PT_FS_F_RESYNC) && fs->master && fs->reset_for != fs->peer &&
	    !fs->resyncing)
		fs->resync_due = true;	/* it lost our start: a dump */
	if (!h->nack_count)
		return;
	/* A gap in what can no longer be resent: only a resync fills it.
	 * (Below reset_base the receiver jumps at the RESET: resend that.) */
	if (seq_diff(h->nack_from, fs->reset_base) >= 0 &&
	    seq_diff(h->nack_from, fs->lost_below) < 0) {
		if (fs->master && !fs->resyncing)
			peer_needs_table(fs);
		return;
	}
	/* Not what went again within the last PT_FS_NACK_HOLD_MS: each
	 * datagram the receiver gets past a gap repeats the NACK. */
	cutoff = now_ms > PT_FS_NACK_HOLD_MS ? now_ms - PT_FS_NACK_HOLD_MS : 0;
	if (seq_diff(h->nack_from, fs->reset_base) < 0)
		resend(fs, fs->reset_base, 1, cutoff, true, now_ms);
	else
		resend(fs, h->nack_from, h->nack_count, cutoff, true, now_ms);
}

/* Deliver datagram buf (a DATA's, its header decoded in h): its records
 * to apply, in order. Returns false if a record is malformed (what came
 * before it is applied). */
static bool deliver(struct pt_fs *fs, const struct pt_fs_hdr *h, const __u8 *buf, size_t len)
{
	size_t off = PT_FS_HDR_LEN;
	struct pt_fs_rec r;

	fs->st.rx_datagrams++;
	for (__u16 i = 0; i < h->nrec; i++) {
		int n = pt_fs_rec_decode(buf + off, len - off, &r);

		if (n < 0) {
			fs->st.bad[PT_FS_BAD_SHORT]++;
			return false;
		}
		off += (size_t)n;
		fs->st.rx_records++;
		fs->ops.apply(fs->ops.arg, &r);
	}
	return true;
}

/* Deliver the held datagrams that are next in order. */
static void deliver_held(struct pt_fs *fs)
{
	for (;;) {
		struct dgram *d = &fs->ro[fs->expected % PT_FS_REORDER];
		struct pt_fs_hdr h;

		if (!d->used || d->seq != fs->expected)
			return;
		d->used = false;
		fs->n_ro--;
		fs->expected++;
		if (!pt_fs_hdr_decode(d->buf, d->len, &h))
			deliver(fs, &h, d->buf, d->len);
	}
}

static int rx_data(struct pt_fs *fs, const struct pt_fs_hdr *h, const __u8 *buf, size_t len)
{
	__s32 d;

	fs->ack_due = true;
	if (!fs->synced || seq_diff(h->seq + 1, fs->peer_next) > 0)
		fs->peer_next = h->seq + 1;
	if ((h->flags & PT_FS_F_RESET) && (!fs->synced || seq_diff(h->seq, fs->expected) >= 0)) {
		/* The sequence starts here: what is held before it goes. */
		if (fs->synced && h->seq != fs->expected)
			fs->st.rx_resets++;
		for (size_t i = 0; i < PT_FS_REORDER; i++)
			if (fs->ro[i].used && seq_diff(fs->ro[i].seq, h->seq) <= 0) {
				fs->ro[i].used = false;
				fs->n_ro--;
			}
		fs->synced = true;
		fs->expected = h->seq;
		if (seq_diff(fs->peer_next, h->seq + 1) < 0)
			fs->peer_next = h->seq + 1;
	}
	if (!fs->synced) {
		fs->st.bad[PT_FS_BAD_UNSYNCED]++;
		return -1 - PT_FS_BAD_UNSYNCED;
	}
	d = seq_diff(h->seq, fs->expected);
	if (d < 0) {
		fs->st.rx_duplicates++;
		return 0;
	}
	if (d == 0) {
		fs->expected++;
		deliver(fs, h, buf, len);
		deliver_held(fs);
		return 0;
	}
	if (d >= PT_FS_REORDER) {
		fs->st.bad[PT_FS_BAD_REORDER_FULL]++;
		return -1 - PT_FS_BAD_REORDER_FULL;
	}
	{
		struct dgram *slot = &fs->ro[h->seq % PT_FS_REORDER];

		if (slot->used && slot->seq == h->seq) {
			fs->st.rx_duplicates++;
			return 0;
		}
		if (slot->used)	/* cannot be: d < PT_FS_REORDER */
			fs->n_ro--;
		slot->used = true;
		slot->seq = h->seq;
		slot->len = (__u16)len;
		memcpy(slot->buf, buf, len);
		fs->n_ro++;
		fs->st.rx_reordered++;
	}
	return 0;
}

int pt_fs_input(struct pt_fs *fs, const void *buf, size_t len, __u64 now_ms)
{
	struct pt_fs_hdr h;
	int err;

	if (len > PT_FS_MTU)
		len = PT_FS_MTU;	/* (the reader's buffer is bigger: cut) */
	err = pt_fs_hdr_decode(buf, len, &h);
	if (err) {
		enum pt_fs_bad b = err == -EBADMSG ? PT_FS_BAD_SHORT : PT_FS_BAD_MAGIC;

		fs->st.bad[b]++;
		return -1 - (int)b;
	}
	if (h.instance != fs->peer) {
		/* Another run of the peer: its sequence and its view of ours
		 * start over, and it has none of our flows. */
		fs->st.peer_restarts++;
		fs->peer = h.instance;
		rx_reset(fs);
		peer_needs_table(fs);
		fs->up = true;
		fs->heard_ms = now_ms;
		send_ctl(fs, PT_FS_ALIVE, now_ms);
	} else if (!fs->up) {
		fs->up = true;		/* back after silence: our queue was dropped */
		peer_needs_table(fs);
	}
	fs->up = true;
	fs->heard_ms = now_ms;
	if (h.type == PT_FS_DATA)
		return rx_data(fs, &h, buf, len);
	tx_on_ack(fs, &h, now_ms);
	if (h.type == PT_FS_ALIVE && fs->synced && seq_diff(h.seq, fs->peer_next) > 0) {
		fs->peer_next = h.seq;	/* its last DATA may be lost: NACK it */
		fs->ack_due = true;
	}
	return 0;
}

void pt_fs_timer(struct pt_fs *fs, __u64 now_ms)
{
	if (fs->up && now_ms - fs->heard_ms >= PT_FS_DEAD_MS) {
		fs->up = false;
		fs->st.peer_downs++;
		tx_drop_queue(fs);
		fs->resyncing = false;
	}
	pt_fs_flush(fs, now_ms);
	/* The oldest unacked, if it waited PT_FS_RTO_MS: the ACKs that come
	 * back then name the gaps (NACK); resending everything unacked would
	 * repeat what the receiver holds past a gap. */
	if (fs->una != fs->next && now_ms >= PT_FS_RTO_MS)
		resend(fs, fs->una, 1, now_ms - PT_FS_RTO_MS, false, now_ms);
	if (now_ms - fs->alive_ms >= PT_FS_ALIVE_MS || !fs->alive_ms)
		send_ctl(fs, PT_FS_ALIVE, now_ms);
	else if (fs->synced && seq_diff(fs->peer_next, fs->expected) > 0 &&
		 now_ms - fs->nack_ms >= PT_FS_NACK_HOLD_MS)
		send_ctl(fs, PT_FS_ACK, now_ms);	/* the gap again: its resend was lost */
}
