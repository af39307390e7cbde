/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * bgp_announce.h - announce the service addresses by BGP through bird2:
 * portier does not speak BGP, it writes a bird2 include file of static
 * host routes (protocols "portier4" and "portier6") and runs
 * "birdc configure" when that set changes. bird's BGP session exports
 * those protocols to the router (docs/operations.md, "Announcing the
 * service addresses by BGP").
 *
 * Announced: the explicit address of every loaded route (a /32, or a /128)
 * that has at least one backend not DOWN by its health checks (a drained
 * backend still counts: draining must not move the pool's traffic). A "*"
 * route is never announced: it serves the host's own addresses, which are
 * routed to it already. Several routes on one address: announced while
 * any of them has such a backend.
 *
 * The file is replaced atomically (a temporary file in the same directory,
 * then rename), readable by bird (0644).
 */
#ifndef PORTIER_BGP_ANNOUNCE_H
#define PORTIER_BGP_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane.h"
#include "routes.h"

#define PT_BGP_MSG_LEN		512	/* one log line */
#define PT_BGP_BIRDC_DEFAULT	"birdc"
#define PT_BGP_BIRDC_TIMEOUT_MS	10000	/* a birdc run after which it is killed */

/* Where to announce (the daemon's flags). */
struct pt_bgp_opts {
	const char *include;	/* --bgp-include PATH */
	const char *birdc;	/* --birdc PATH (NULL: "birdc" from PATH) */
	const char *socket;	/* --bird-socket PATH (NULL: birdc's default) */
	const char *host;	/* for the file's comment */
};

struct pt_bgp;	/* opaque: the options and the set last announced */

int pt_bgp_new(const struct pt_bgp_opts *o, struct pt_bgp **out);
void pt_bgp_free(struct pt_bgp *b);

/* The addresses to announce from the loaded routes, sorted, without
 * duplicates, into out (room for n entries). Returns how many. */
size_t pt_bgp_collect(const struct pt_dp_route_view *v, size_t n, struct pt_addr *out);

/* The include file's text for these addresses (malloc'ed, NULL if out of
 * memory). */
char *pt_bgp_render(const struct pt_addr *a, size_t n, const char *host);

/* Announce what dp holds now: if the set differs from the last one
 * announced (or the last try failed, or nothing was announced yet), write
 * the file and run birdc configure. Returns 0 if nothing changed, 1 if it
 * did (pt_bgp_msg says what), -errno if it failed (pt_bgp_msg says why;
 * the next call tries again). */
int pt_bgp_update(struct pt_bgp *b, const struct pt_dataplane *dp);

/* Withdraw everything (the clean stop): an empty file, birdc configure.
 * Same returns. */
int pt_bgp_withdraw(struct pt_bgp *b);

/* The last change or error, for the log. */
const char *pt_bgp_msg(const struct pt_bgp *b);

#endif
