/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * flowsync_apply.h - the receiver's work (user/flowsync.c): a received
 * record written into a connection table, once for both families.
 * flowsync.c includes it for IPv4 and for IPv6 with:
 *
 *   FS_KEY, FS_FLOW		key and entry types
 *   FS_FN(name)			the family's name of a function
 *   FS_LOOKUP, FS_INSERT, FS_DELETE, FS_TOUCH, FS_KEY_OTHER
 *				ct_table.c's and dataplane.h's calls
 *   FS_SAME_REWRITE(e, f)	entries e and f rewrite alike
 *   FS_REC_KEY, FS_REC_RKEY	the record's fields of the keys
 *   FS_REC_ADDRS(r, o, rv)	the rewrite addresses of r into o and rv
 *
 * then the parameters are undefined.
 */

/* Delete entry e of key k and the other entry of its flow (if it is). */
static void FS_FN(delete_flow)(struct pt_ct *ct, const FS_KEY *k, const FS_FLOW *e)
{
	FS_KEY ok, back;
	FS_FLOW o;

	FS_KEY_OTHER(k, e, &ok);
	if (!(e->flags & PORTIER_FLOW_F_LOCAL) && FS_LOOKUP(ct, &ok, &o)) {
		FS_KEY_OTHER(&ok, &o, &back);
		if (!memcmp(&back, k, sizeof(back)))
			FS_DELETE(ct, &ok);
	}
	FS_DELETE(ct, k);
}

static void FS_FN(apply_flow)(struct pt_ct *ct, const struct pt_fs_rec *r, __u64 now,
			      struct pt_flowsync_counts *c)
{
	FS_FLOW o = {}, rv = {}, eo, er;
	__u64 last = at_age(now, r->age_ms), life = (__u64)r->life_ms * NS_PER_MS;
	__u32 tick = portier_tick(last);
	bool have_o, have_r;
	int err;

	o.dir = PORTIER_FLOW_DIR_ORIG;
	o.nat_sport = r->o_sport;
	o.nat_dport = r->o_dport;
	o.flags = r->flags & (PORTIER_SYNC_FLAGS | PORTIER_SYNC_KIND);
	o.route_id = r->route_id;
	o.backend_id = r->backend_id;
	o.last_seen = tick;
	o.created_ns = life < now ? now - life : 0;
	rv = o;
	rv.dir = PORTIER_FLOW_DIR_REPLY;
	rv.nat_sport = r->r_sport;
	rv.nat_dport = r->r_dport;
	FS_REC_ADDRS(r, o, rv);

	have_o = FS_LOOKUP(ct, &r->FS_REC_KEY, &eo);
	have_r = FS_LOOKUP(ct, &r->FS_REC_RKEY, &er);
	if (have_o && FS_SAME_REWRITE(&eo, &o) && have_r && FS_SAME_REWRITE(&er, &rv)) {
		/* Held already: its stamp forward, its bits or'ed. */
		FS_TOUCH(ct, &r->FS_REC_KEY, o.flags, tick);
		FS_TOUCH(ct, &r->FS_REC_RKEY, o.flags, tick);
		c->refreshed++;
		return;
	}
	/* Another flow holds a key: ours replaces it unless it is newer (this
	 * host's data plane saw it later than the peer saw ours). */
	if ((have_o && newer(&eo, tick)) || (have_r && newer(&er, tick))) {
		c->refused[PT_FLOWSYNC_REF_NEWER]++;
		return;
	}
	if (have_o)
		FS_FN(delete_flow)(ct, &r->FS_REC_KEY, &eo);
	if (FS_LOOKUP(ct, &r->FS_REC_RKEY, &er))
		FS_FN(delete_flow)(ct, &r->FS_REC_RKEY, &er);
	/* The reply entry first: it holds the SNAT port from here on. */
	err = FS_INSERT(ct, &r->FS_REC_RKEY, &rv);
	if (!err) {
		err = FS_INSERT(ct, &r->FS_REC_KEY, &o);
		if (err)
			FS_DELETE(ct, &r->FS_REC_RKEY);
	}
	if (!err)
		c->inserted++;
	else
		c->refused[err == -ENOSPC ? PT_FLOWSYNC_REF_FULL : PT_FLOWSYNC_REF_BUSY]++;
}

void FS_FN(pt_flowsync_apply)(struct pt_ct *ct, const struct pt_fs_rec *r, __u64 now,
			      struct pt_flowsync_counts *c)
{
	FS_KEY ok;
	FS_FLOW e, o;

	if (r->kind == PT_FS_REC_FLOW) {
		FS_FN(apply_flow)(ct, r, now, c);
		return;
	}
	if (!FS_LOOKUP(ct, &r->FS_REC_KEY, &e)) {
		c->refused[PT_FLOWSYNC_REF_UNKNOWN]++;
		return;
	}
	FS_KEY_OTHER(&r->FS_REC_KEY, &e, &ok);
	if (r->kind == PT_FS_REC_FLAGS) {
		FS_TOUCH(ct, &r->FS_REC_KEY, r->flags & PORTIER_SYNC_FLAGS, e.last_seen);
		if (!(e.flags & PORTIER_FLOW_F_LOCAL) && FS_LOOKUP(ct, &ok, &o))
			FS_TOUCH(ct, &ok, r->flags & PORTIER_SYNC_FLAGS, o.last_seen);
		c->flags++;
		return;
	}
	if (newer(&e, portier_tick(at_age(now, r->age_ms)))) {
		c->refused[PT_FLOWSYNC_REF_NEWER]++;
		return;
	}
	FS_FN(delete_flow)(ct, &r->FS_REC_KEY, &e);
	c->deleted++;
}

#undef FS_KEY
#undef FS_FLOW
#undef FS_FN
#undef FS_LOOKUP
#undef FS_INSERT
#undef FS_DELETE
#undef FS_TOUCH
#undef FS_KEY_OTHER
#undef FS_SAME_REWRITE
#undef FS_REC_KEY
#undef FS_REC_RKEY
#undef FS_REC_ADDRS
