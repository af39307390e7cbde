// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * flowsync.c - flow sync, the daemon's side (flowsync.h): the portier_sync
 * ring buffer and the GC's walk in, records to the protocol
 * (flowsync_proto.c), datagrams over one UDP socket, and received records
 * written into the connection table (ct_table.c). IPv6 flows go the same
 * way, between the IPv6 tables (portier_conntrack6): their events, GC
 * visits and walks make IPv6 records (pt_fs_rec.ipv6).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ct_table.h"
#include "flowsync.h"
#include "metrics.h"
#include "portier.skel.h"
#include "util.h"

#define NS_PER_MS	1000000ULL
#define TIMER_MS	50	/* the protocol's timers run this often */
#define RX_BURST	256	/* datagrams read per run */
#define DUMP_BUCKETS	256	/* buckets a resync or refresh walks per step */
#define REFRESH_NS	(5 * 1000000000ULL)	/* a refresh walk starts this often */

struct pt_flowsync {
	struct pt_dataplane *dp;
	struct pt_ct *ct;
	struct pt_ct *ct6;			/* the IPv6 table */
	struct pt_fs *fs;
	struct pt_flowsync_opts o;
	struct pt_flowsync_counts c;
	struct ring_buffer *rb;
	int sock, timer, ep;
	__u32 dump_next;			/* resync: next bucket to walk (the
						 * IPv4 table's, then the IPv6
						 * one's: walk_step) */
	/* The refresh walk: flows active since the previous walk began. */
	bool refreshing;
	__u32 refresh_next;			/* next bucket to walk */
	__u64 refresh_start_ns, refresh_prev_ns; /* starts of this and the last */
	/* The SNAT port of the newest egress flow received (host order; 0:
	 * none) and when it was made (this host's clock, ns): on becoming
	 * MASTER the egress allocator's cursor starts past it, where the
	 * peer's cursor stood, not among the peer's recent ports (each new
	 * flow would probe a run of taken ports and fail: snat_exhausted).
	 * The newest, not the highest: after the peer's cursor wrapped around
	 * the range, its highest ports are the old ones. */
	__u16 egress_port_newest;
	__u64 egress_newest_ns;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

const char *pt_flowsync_refused_name(enum pt_flowsync_refused r)
{
	static const char *const names[PT_FLOWSYNC_REF_MAX] = {
		[PT_FLOWSYNC_REF_NEWER] = "newer",
		[PT_FLOWSYNC_REF_FULL] = "full",
		[PT_FLOWSYNC_REF_BUSY] = "busy",
		[PT_FLOWSYNC_REF_UNKNOWN] = "unknown",
		[PT_FLOWSYNC_REF_FOREIGN] = "foreign",
	};

	return r < PT_FLOWSYNC_REF_MAX ? names[r] : "?";
}

int pt_flowsync_parse_addr(const char *s, struct sockaddr_in *out)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	unsigned long port;
	char *end;

	memset(out, 0, sizeof(*out));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || !port || port > 65535 ||
	    inet_pton(AF_INET, host, &out->sin_addr) != 1)
		return -EINVAL;
	out->sin_family = AF_INET;
	out->sin_port = htons((__u16)port);
	return 0;
}

int pt_flowsync_parse_role(const char *s, bool *master)
{
	if (!strcmp(s, "master"))
		*master = true;
	else if (!strcmp(s, "backup"))
		*master = false;
	else
		return -EINVAL;
	return 0;
}

/* ---- receiving: records into the table ---------------------------------- */

/* Entry e's rewrite is f's. */
static bool same_rewrite(const struct portier_flow *e, const struct portier_flow *f)
{
	return e->nat_saddr == f->nat_saddr && e->nat_daddr == f->nat_daddr &&
	       e->nat_sport == f->nat_sport && e->nat_dport == f->nat_dport &&
	       e->dir == f->dir;
}

static bool same_rewrite6(const struct portier_flow6 *e, const struct portier_flow6 *f)
{
	return !memcmp(&e->nat_saddr, &f->nat_saddr, sizeof(e->nat_saddr)) &&
	       !memcmp(&e->nat_daddr, &f->nat_daddr, sizeof(e->nat_daddr)) &&
	       e->nat_sport == f->nat_sport && e->nat_dport == f->nat_dport &&
	       e->dir == f->dir;
}

/* Local entry e (of either family) was active after tick. */
#define newer(e, tick)	((__s32)((e)->last_seen - (tick)) > 0)

/* The time a record's age points at, in this host's clock. */
static __u64 at_age(__u64 now, __u32 age_ms)
{
	__u64 a = (__u64)age_ms * NS_PER_MS;

	return a < now ? now - a : 0;
}

/* The receiver, per family (user/flowsync_apply.h). */
#define FS_KEY			struct portier_flow_key
#define FS_FLOW			struct portier_flow
#define FS_FN(name)		name
#define FS_LOOKUP		pt_ct_lookup
#define FS_INSERT		pt_ct_insert
#define FS_DELETE		pt_ct_delete
#define FS_TOUCH		pt_ct_touch
#define FS_KEY_OTHER		pt_flow_key_other
#define FS_SAME_REWRITE		same_rewrite
#define FS_REC_KEY		key
#define FS_REC_RKEY		rkey
#define FS_REC_ADDRS(r, o, rv)	\
	((o).nat_saddr = (r)->o_saddr, (o).nat_daddr = (r)->o_daddr, \
	 (rv).nat_saddr = (r)->r_saddr, (rv).nat_daddr = (r)->r_daddr)
#include "flowsync_apply.h"

#define FS_KEY			struct portier_flow_key6
#define FS_FLOW			struct portier_flow6
#define FS_FN(name)		name##6
#define FS_LOOKUP		pt_ct6_lookup
#define FS_INSERT		pt_ct6_insert
#define FS_DELETE		pt_ct6_delete
#define FS_TOUCH		pt_ct6_touch
#define FS_KEY_OTHER		pt_flow6_key_other
#define FS_SAME_REWRITE		same_rewrite6
#define FS_REC_KEY		key6
#define FS_REC_RKEY		rkey6
#define FS_REC_ADDRS(r, o, rv)	\
	((o).nat_saddr = (r)->o_saddr6, (o).nat_daddr = (r)->o_daddr6, \
	 (rv).nat_saddr = (r)->r_saddr6, (rv).nat_daddr = (r)->r_daddr6)
#include "flowsync_apply.h"

/* ---- sending: events, refreshes, dumps to records ----------------------- */

static __u32 ms_between(__u64 later, __u64 earlier)
{
	__u64 d = later > earlier ? (later - earlier) / NS_PER_MS : 0;

	return d > UINT32_MAX ? UINT32_MAX : (__u32)d;
}

/* The family-free part of the FLOW record *r of a flow (either family's
 * entries): original entry f, reply entry rv; idle since last. */
#define FLOW_REC(f, rv, now, last, r)						\
	do {									\
		memset((r), 0, sizeof(*(r)));					\
		(r)->kind = PT_FS_REC_FLOW;					\
		(r)->flags = ((f)->flags | (rv)->flags) &			\
			     (PORTIER_SYNC_FLAGS | PORTIER_SYNC_KIND);		\
		(r)->route_id = (f)->route_id;					\
		(r)->backend_id = (f)->backend_id;				\
		(r)->age_ms = ms_between((now), (last));			\
		(r)->life_ms = ms_between((now), (f)->created_ns);		\
		(r)->o_sport = (f)->nat_sport;					\
		(r)->o_dport = (f)->nat_dport;					\
		(r)->r_sport = (rv)->nat_sport;					\
		(r)->r_dport = (rv)->nat_dport;					\
	} while (0)

/* The FLOW record of a flow: original entry f under key k, reply entry
 * rv under rk; idle since last. */
static void flow_rec(const struct portier_flow_key *k, const struct portier_flow *f,
		     const struct portier_flow_key *rk, const struct portier_flow *rv,
		     __u64 now, __u64 last, struct pt_fs_rec *r)
{
	FLOW_REC(f, rv, now, last, r);
	r->key = *k;
	r->rkey = *rk;
	r->o_saddr = f->nat_saddr;
	r->o_daddr = f->nat_daddr;
	r->r_saddr = rv->nat_saddr;
	r->r_daddr = rv->nat_daddr;
}

/* flow_rec of an IPv6 flow. */
static void flow_rec6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		      const struct portier_flow_key6 *rk, const struct portier_flow6 *rv,
		      __u64 now, __u64 last, struct pt_fs_rec *r)
{
	FLOW_REC(f, rv, now, last, r);
	r->ipv6 = true;
	r->key6 = *k;
	r->rkey6 = *rk;
	r->o_saddr6 = f->nat_saddr;
	r->o_daddr6 = f->nat_daddr;
	r->r_saddr6 = rv->nat_saddr;
	r->r_daddr6 = rv->nat_daddr;
}

/* Flows that are not synced: a local backend's (it ends at this host) and
 * a SYN cookie's (its sequence translation is in portier_synproxy, which
 * is not synced: the peer could not carry it on). Either family's entry. */
#define UNSYNCED_FLAGS	(PORTIER_FLOW_F_LOCAL | PORTIER_FLOW_F_SYNPROXY)
#define unsynced(f)	(((f)->flags & UNSYNCED_FLAGS) != 0)

bool pt_flowsync_rec_of_new(const struct portier_sync_new *ev, struct pt_fs_rec *r)
{
	if (unsynced(&ev->orig))
		return false;
	/* Just made: idle 0, alive 0. */
	flow_rec(&ev->key, &ev->orig, &ev->rkey, &ev->reply, 0, 0, r);
	return true;
}

bool pt_flowsync_rec_of_new6(const struct portier_sync_new6 *ev, struct pt_fs_rec *r)
{
	if (unsynced(&ev->orig))
		return false;
	flow_rec6(&ev->key, &ev->orig, &ev->rkey, &ev->reply, 0, 0, r);
	return true;
}

/* The record of data plane event data (size bytes): true, or false for
 * an event not synced (*skipped: a flow not synced; else malformed). */
bool pt_flowsync_rec_of_event(const void *data, size_t size, struct pt_fs_rec *r,
			      bool *skipped)
{
	__u8 kind = size ? ((const __u8 *)data)[0] : 0;
	bool ipv6 = kind & PORTIER_SYNC_EV_IPV6;

	memset(r, 0, sizeof(*r));
	*skipped = false;
	kind &= ~PORTIER_SYNC_EV_IPV6;
	if (kind == PORTIER_SYNC_EV_NEW) {
		if (size < (ipv6 ? sizeof(struct portier_sync_new6) :
				   sizeof(struct portier_sync_new)))
			return false;
		*skipped = ipv6 ? !pt_flowsync_rec_of_new6(data, r) :
				  !pt_flowsync_rec_of_new(data, r);
		return !*skipped;
	}
	if ((kind != PORTIER_SYNC_EV_FLAGS && kind != PORTIER_SYNC_EV_DEL) ||
	    size < (ipv6 ? sizeof(struct portier_sync_small6) : sizeof(struct portier_sync_small)))
		return false;
	r->kind = kind == PORTIER_SYNC_EV_DEL ? PT_FS_REC_DEL : PT_FS_REC_FLAGS;
	r->flags = ((const struct portier_sync_small *)data)->bits;
	r->ipv6 = ipv6;
	if (ipv6)
		r->key6 = ((const struct portier_sync_small6 *)data)->key;
	else
		r->key = ((const struct portier_sync_small *)data)->key;
	return true;
}

static int on_event(void *arg, void *data, size_t size)
{
	struct pt_flowsync *s = arg;
	struct pt_fs_rec r;
	bool skipped;

	s->c.events++;
	if (!pt_flowsync_rec_of_event(data, size, &r, &skipped)) {
		s->c.skipped += skipped;
		return 0;
	}
	pt_fs_add(s->fs, &r, now_ns() / NS_PER_MS);
	return 0;
}

/* The GC's visit: a flow it expires is deleted on the peer too (with its
 * idle time: a copy the peer's data plane saw later stays). */
static void on_gc(const struct portier_flow_key *k, const struct portier_flow *f,
		  const struct portier_flow *reply, __u64 last_ns, bool expired, void *arg)
{
	struct pt_flowsync *s = arg;
	struct pt_fs_rec r = {};
	__u64 now = now_ns();

	(void)reply;
	if (!expired || !pt_fs_master(s->fs) || !pt_fs_peer_up(s->fs) || unsynced(f))
		return;
	r.kind = PT_FS_REC_DEL;
	r.key = *k;
	r.age_ms = ms_between(now, last_ns);
	pt_fs_add(s->fs, &r, now / NS_PER_MS);
}

/* on_gc for an IPv6 flow. */
static void on_gc6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		   const struct portier_flow6 *reply, __u64 last_ns, bool expired, void *arg)
{
	struct pt_flowsync *s = arg;
	struct pt_fs_rec r = {};
	__u64 now = now_ns();

	(void)reply;
	if (!expired || !pt_fs_master(s->fs) || !pt_fs_peer_up(s->fs) || unsynced(f))
		return;
	r.kind = PT_FS_REC_DEL;
	r.ipv6 = true;
	r.key6 = *k;
	r.age_ms = ms_between(now, last_ns);
	pt_fs_add(s->fs, &r, now / NS_PER_MS);
}

struct dump_walk {
	struct pt_flowsync *s;
	__u64 now;
	__u64 since;	/* only flows active after this (0: every flow) */
};

static int dump_visit(const struct portier_flow_key *k, const struct portier_flow *f, void *arg)
{
	struct dump_walk *w = arg;
	struct portier_flow_key rk;
	struct portier_flow rv;
	struct pt_fs_rec r;
	__u64 last;

	if (f->dir != PORTIER_FLOW_DIR_ORIG || unsynced(f))
		return PT_CT_KEEP;
	pt_flow_key_other(k, f, &rk);
	if (!pt_ct_lookup(w->s->ct, &rk, &rv))
		return PT_CT_KEEP;
	last = pt_flow_last_ns(w->now, f, &rv);
	if (last <= w->since)
		return PT_CT_KEEP;
	flow_rec(k, f, &rk, &rv, w->now, last, &r);
	pt_fs_add(w->s->fs, &r, w->now / NS_PER_MS);
	return PT_CT_KEEP;
}

static int dump_visit6(const struct portier_flow_key6 *k, const struct portier_flow6 *f,
		       void *arg)
{
	struct dump_walk *w = arg;
	struct portier_flow_key6 rk;
	struct portier_flow6 rv;
	struct pt_fs_rec r;
	__u64 last;

	if (f->dir != PORTIER_FLOW_DIR_ORIG || unsynced(f))
		return PT_CT_KEEP;
	pt_flow6_key_other(k, f, &rk);
	if (!pt_ct6_lookup(w->s->ct6, &rk, &rv))
		return PT_CT_KEEP;
	last = pt_flow6_last_ns(w->now, f, &rv);
	if (last <= w->since)
		return PT_CT_KEEP;
	flow_rec6(k, f, &rk, &rv, w->now, last, &r);
	pt_fs_add(w->s->fs, &r, w->now / NS_PER_MS);
	return PT_CT_KEEP;
}

/* Buckets a walk of both tables goes through: the IPv4 table's, then the
 * IPv6 one's. */
static __u32 walk_buckets(const struct pt_flowsync *s)
{
	return pt_ct_buckets(s->ct) + pt_ct_buckets(s->ct6);
}

/* Walk DUMP_BUCKETS buckets from *next (of walk_buckets) with w. */
static void walk_step(struct pt_flowsync *s, __u32 *next, struct dump_walk *w)
{
	__u32 n4 = pt_ct_buckets(s->ct);

	if (*next < n4)
		pt_ct_walk_range(s->ct, *next, DUMP_BUCKETS, dump_visit, w);
	else
		pt_ct6_walk_range(s->ct6, *next - n4, DUMP_BUCKETS, dump_visit6, w);
	/* (The last part of the IPv4 table ends its step short.) */
	*next = *next < n4 && *next + DUMP_BUCKETS > n4 ? n4 : *next + DUMP_BUCKETS;
}

/* The refresh: every REFRESH_NS, a walk of the table that sends the flows
 * active since the previous walk began (their idle time, so the peer's
 * copies expire with ours; and a flow whose records were lost beyond
 * recovery is made good), paced like a resync by the datagrams in flight. */
static void refresh_step(struct pt_flowsync *s)
{
	struct dump_walk w = { .s = s };
	__u32 buckets = walk_buckets(s);

	if (!pt_fs_master(s->fs) || !pt_fs_peer_up(s->fs) || pt_fs_resyncing(s->fs) ||
	    pt_fs_resync_due(s->fs))
		return;
	w.now = now_ns();
	if (!s->refreshing) {
		if (w.now - s->refresh_start_ns < REFRESH_NS)
			return;
		s->refreshing = true;
		s->refresh_prev_ns = s->refresh_start_ns;
		s->refresh_start_ns = w.now;
		s->refresh_next = 0;
	}
	w.since = s->refresh_prev_ns;
	while (pt_fs_room(s->fs) > 0 && s->refresh_next < buckets)
		walk_step(s, &s->refresh_next, &w);
	if (s->refresh_next >= buckets)
		s->refreshing = false;
}

/* A resync: start it when due, then walk the table a part at a time, as
 * far as the window lets the datagrams go. */
static void dump_step(struct pt_flowsync *s)
{
	struct dump_walk w = { .s = s };
	__u32 buckets = walk_buckets(s);

	w.now = now_ns();
	if (pt_fs_resync_due(s->fs)) {
		pt_fs_resync_begin(s->fs, w.now / NS_PER_MS);
		s->dump_next = 0;
		if (s->o.notice)
			s->o.notice("flow sync: sending the whole table to the peer");
	}
	while (pt_fs_resyncing(s->fs) && pt_fs_room(s->fs) > 0 && s->dump_next < buckets)
		walk_step(s, &s->dump_next, &w);
	if (pt_fs_resyncing(s->fs) && s->dump_next >= buckets)
		pt_fs_resync_end(s->fs, w.now / NS_PER_MS);
}

/* ---- the socket and the session ------------------------------------------ */

static void send_dgram(void *arg, const void *buf, size_t len)
{
	struct pt_flowsync *s = arg;

	/* A datagram the kernel refuses (no route, a full queue) is one lost
	 * on the way: the protocol sends it again. */
	(void)!sendto(s->sock, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&s->o.peer,
		      sizeof(s->o.peer));
}

static void apply_rec(void *arg, const struct pt_fs_rec *r)
{
	struct pt_flowsync *s = arg;

	__u64 now = now_ns(), made;

	if (r->ipv6) {
		pt_flowsync_apply6(s->ct6, r, now, &s->c);
		return;
	}
	pt_flowsync_apply(s->ct, r, now, &s->c);
	if (r->kind != PT_FS_REC_FLOW || !(r->flags & PORTIER_FLOW_F_EGRESS))
		return;
	made = at_age(now, r->life_ms);
	if (!s->egress_port_newest || made >= s->egress_newest_ns) {
		s->egress_port_newest = ntohs(r->rkey.dport);	/* the reply key's: the port */
		s->egress_newest_ns = made;
	}
}

/* A new MASTER's egress cursor: past the peer's newest port
 * (egress_port_newest). */
static void egress_cursor_past(struct pt_flowsync *s)
{
	const struct portier_config *cfg = pt_dp_config(s->dp);
	__u32 zero = 0, cur;

	if (!s->egress_port_newest || s->egress_port_newest < cfg->snat_port_min ||
	    s->egress_port_newest > cfg->snat_port_max)
		return;
	cur = (__u32)s->egress_port_newest + 1 - cfg->snat_port_min;
	if (bpf_map_update_elem(bpf_map__fd(pt_dp_skel(s->dp)->maps.portier_egress_cursor),
				&zero, &cur, BPF_ANY) && s->o.notice)
		s->o.notice("flow sync: cannot move the egress port cursor: %s",
			    strerror(errno));
	s->egress_port_newest = 0;
	s->egress_newest_ns = 0;
}

static void read_socket(struct pt_flowsync *s)
{
	__u8 buf[PT_FS_MTU + 64];

	for (int i = 0; i < RX_BURST; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s->sock, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		if (fl < sizeof(from) || from.sin_addr.s_addr != s->o.peer.sin_addr.s_addr) {
			s->c.refused[PT_FLOWSYNC_REF_FOREIGN]++;
			continue;
		}
		pt_fs_input(s->fs, buf, (size_t)n, now_ns() / NS_PER_MS);
	}
}

void pt_flowsync_run(struct pt_flowsync *s)
{
	bool was_up = pt_fs_peer_up(s->fs);
	__u64 ticks;

	read_socket(s);
	ring_buffer__consume(s->rb);
	if (read(s->timer, &ticks, sizeof(ticks)) == sizeof(ticks))
		pt_fs_timer(s->fs, now_ns() / NS_PER_MS);
	dump_step(s);
	refresh_step(s);
	pt_fs_flush(s->fs, now_ns() / NS_PER_MS);
	if (s->o.notice && was_up != pt_fs_peer_up(s->fs))
		s->o.notice("flow sync: the peer %s is %s", inet_ntoa(s->o.peer.sin_addr),
			    pt_fs_peer_up(s->fs) ? "up" : "DOWN (silent for 3 s)");
}

int pt_flowsync_fd(const struct pt_flowsync *s)
{
	return s ? s->ep : -1;
}

static int set_sync_on(struct pt_flowsync *s, bool on)
{
	struct portier_config cfg = *pt_dp_config(s->dp);

	if (cfg.sync_on == on)
		return 0;
	cfg.sync_on = on;
	return pt_dp_set_config(s->dp, &cfg);
}

int pt_flowsync_set_master(struct pt_flowsync *s, bool master)
{
	int err = set_sync_on(s, master);

	if (err)
		return err;
	if (master)
		egress_cursor_past(s);
	pt_fs_set_master(s->fs, master, now_ns() / NS_PER_MS);
	return 0;
}

void pt_flowsync_counts(const struct pt_flowsync *s, struct pt_flowsync_counts *out)
{
	*out = s->c;
	out->proto = *pt_fs_stats(s->fs);
	out->master = pt_fs_master(s->fs);
	out->peer_up = pt_fs_peer_up(s->fs);
}

static void refused(struct pt_metrics_flowsync *m, const char *reason, __u64 n)
{
	if (m->n_refused < PT_METRICS_SYNC_REFUSED_MAX) {
		m->refused[m->n_refused].reason = reason;
		m->refused[m->n_refused++].n = n;
	}
}

void pt_flowsync_metrics(const struct pt_flowsync *s, struct pt_metrics_flowsync *m)
{
	struct pt_flowsync_counts c;
	const struct pt_fs_stats *p = &c.proto;

	memset(m, 0, sizeof(*m));
	if (!s)
		return;
	pt_flowsync_counts(s, &c);
	m->on = true;
	m->master = c.master;
	m->peer_up = c.peer_up;
	m->datagrams[0] = p->rx_datagrams;
	m->datagrams[1] = p->tx_datagrams;
	m->records[0] = p->rx_records;
	m->records[1] = p->tx_records;
	m->retransmits = p->tx_retransmits;
	m->acked = p->tx_acked;
	m->resyncs = p->resyncs;
	m->nacks = p->rx_nacks;
	m->duplicates = p->rx_duplicates;
	m->reordered = p->rx_reordered;
	m->peer_restarts = p->peer_restarts;
	m->peer_downs = p->peer_downs;
	m->events = c.events;
	m->applied[0] = c.inserted;
	m->applied[1] = c.refreshed;
	m->applied[2] = c.flags;
	m->applied[3] = c.deleted;
	for (int i = 0; i < PT_FLOWSYNC_REF_MAX; i++)
		refused(m, pt_flowsync_refused_name(i), c.refused[i]);
	for (int i = 0; i < PT_FS_BAD_MAX; i++)
		refused(m, pt_fs_bad_name(i), p->bad[i]);
	refused(m, "queue_overflow", p->tx_overflow);
	refused(m, "no_peer", p->tx_no_peer);
	refused(m, "cookie_flow", c.skipped);
}

int pt_flowsync_check_listen(const struct pt_flowsync_opts *o)
{
	int one = 1, err = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&o->listen, sizeof(o->listen)))
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

static int epoll_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int pt_flowsync_open(struct pt_dataplane *dp, const struct pt_flowsync_opts *o,
		     struct pt_flowsync **out)
{
	struct itimerspec its = { .it_interval = { 0, TIMER_MS * NS_PER_MS },
				  .it_value = { 0, TIMER_MS * NS_PER_MS } };
	struct pt_fs_ops ops = { .send = send_dgram, .apply = apply_rec };
	struct pt_flowsync *s = xcalloc(1, sizeof(*s));
	int one = 1, err = 0;
	__u64 instance = 0;

	*out = NULL;
	s->dp = dp;
	s->ct = pt_dp_ct(dp);
	s->ct6 = pt_dp_ct6(dp);
	s->o = *o;
	s->sock = s->timer = s->ep = -1;
	s->refresh_start_ns = now_ns();	/* the first refresh in REFRESH_NS */
	if (getrandom(&instance, sizeof(instance), 0) != sizeof(instance))
		instance = now_ns() ^ (__u64)getpid() << 32;
	ops.arg = s;
	s->fs = pt_fs_new(&ops, instance | 1, o->master);
	s->sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->sock < 0 || setsockopt(s->sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->sock, (const struct sockaddr *)&o->listen, sizeof(o->listen)))
		err = -errno;
	if (!err) {
		s->rb = ring_buffer__new(bpf_map__fd(pt_dp_skel(dp)->maps.portier_sync), on_event,
					 s, NULL);
		if (!s->rb)
			err = errno ? -errno : -ENOMEM;
	}
	if (!err) {
		s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		s->ep = epoll_create1(EPOLL_CLOEXEC);
		if (s->timer < 0 || s->ep < 0 || timerfd_settime(s->timer, 0, &its, NULL))
			err = -errno;
	}
	if (!err)
		err = epoll_add(s->ep, s->sock);
	if (!err)
		err = epoll_add(s->ep, s->timer);
	if (!err)
		err = epoll_add(s->ep, ring_buffer__epoll_fd(s->rb));
	if (!err)
		err = set_sync_on(s, o->master);
	if (err) {
		pt_flowsync_close(s);
		return err;
	}
	pt_dp_set_gc_visit_hook(dp, on_gc, on_gc6, s);
	/* Say we are here: a peer that runs answers, and resyncs us if it is
	 * the MASTER. */
	pt_fs_timer(s->fs, now_ns() / NS_PER_MS);
	*out = s;
	return 0;
}

void pt_flowsync_close(struct pt_flowsync *s)
{
	if (!s)
		return;
	if (s->rb) {
		set_sync_on(s, false);
		pt_dp_set_gc_visit_hook(s->dp, NULL, NULL, NULL);
		ring_buffer__free(s->rb);
	}
	if (s->sock >= 0)
		close(s->sock);
	if (s->timer >= 0)
		close(s->timer);
	if (s->ep >= 0)
		close(s->ep);
	pt_fs_free(s->fs);
	free(s);
}
