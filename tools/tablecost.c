// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * tablecost.c - the time to build the Maglev tables of many routes (issue
 * 16): the table computation alone (user/maglev.c), and the same routes
 * loaded into a data plane the way the daemon does (pt_dp_apply: for each
 * route its table built, written into a fresh inner map and swapped in by
 * one update of portier_maglev), against the same routes balanced by
 * roundrobin, which have no table; then one backend of every route marked
 * down, as the health checker does (pt_dp_backend_set: the route's
 * rotation rewritten, and a maglev route's table rebuilt and swapped).
 *
 * Each figure is wall-clock seconds and CPU seconds of this process (user
 * and system: the map syscalls' kernel work counts), median of RUNS runs;
 * the CPU time is the steadier on a shared machine. A fresh data plane for
 * every run (its load is not timed). Nothing is attached and no packet is
 * sent; needs root (BPF maps).
 *
 *   tablecost [ROUTES [RUNS]]     (default 1000 and 3)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane.h"
#include "maglev.h"
#include "routes.h"

#define ROUTES_DEFAULT	1000
#define ROUTES_MAX	10000		/* ports 40000 up, and the maps' room */
#define RUNS_DEFAULT	3
#define RUNS_MAX	15
#define SVC_ADDR	"198.51.100.1"	/* every route's address */
#define SVC_PORT	40000		/* route i listens on SVC_PORT + i */
#define BE_NET		"203.0.113."	/* backend j: BE_NET(11 + j):BE_PORT */
#define BE_PORT		8080
#define BE_MAX		10

static const int n_backends[] = { 3, 10 };
#define N_SIZES	(int)(sizeof(n_backends) / sizeof(n_backends[0]))

/* The figures of one size, each RUNS samples of wall and CPU seconds. */
enum fig {
	F_BUILD,	/* pt_maglev_build of every route */
	F_APPLY_MAGLEV,	/* pt_dp_apply, maglev routes, from empty */
	F_APPLY_RR,	/* pt_dp_apply, roundrobin routes, from empty */
	F_DOWN_MAGLEV,	/* one backend of every maglev route down */
	F_DOWN_RR,	/* the same, roundrobin */
	F_MAX
};

static const char *const fig_name[F_MAX] = {
	"table computation (user/maglev.c)",
	"apply, maglev routes (from empty)",
	"apply, roundrobin routes (from empty)",
	"a backend down in every route, maglev",
	"a backend down in every route, roundrobin",
};

struct times {
	double wall, cpu;
};

static struct times now(void)
{
	struct timespec w, c;

	clock_gettime(CLOCK_MONOTONIC, &w);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
	return (struct times){ w.tv_sec + w.tv_nsec / 1e9, c.tv_sec + c.tv_nsec / 1e9 };
}

static struct times since(struct times t0)
{
	struct times t = now();

	return (struct times){ t.wall - t0.wall, t.cpu - t0.cpu };
}

static struct pt_addr addr4(const char *s)
{
	struct pt_addr a = { .family = AF_INET };

	inet_pton(AF_INET, s, &a.v4);
	return a;
}

/* Route names "r<i>", and the backends' inventory keys. */
static char names[ROUTES_MAX][16];
static char keys[BE_MAX][24];
static struct pt_backend backends[BE_MAX];

static void names_init(int routes)
{
	char a[INET_ADDRSTRLEN];

	for (int i = 0; i < routes; i++)
		snprintf(names[i], sizeof(names[i]), "r%d", i);
	for (int j = 0; j < BE_MAX; j++) {
		snprintf(a, sizeof(a), BE_NET "%d", 11 + j);
		snprintf(keys[j], sizeof(keys[j]), "%s:%d", a, BE_PORT);
		backends[j] = (struct pt_backend){ .addr = addr4(a), .port = BE_PORT,
						   .weight = PT_WEIGHT_DEFAULT };
	}
}

/* The tables of routes routes of n backends, computed only (as
 * user/dp_maglev.c does for each: keys "address:port", weight 1). */
static int build_all(int routes, int n, struct times *t)
{
	struct pt_maglev_backend be[BE_MAX];
	uint32_t *table = malloc(PT_MAGLEV_SIZE_DEFAULT * sizeof(*table));
	struct times t0;
	int rc = 0;

	if (!table)
		return -ENOMEM;
	for (int j = 0; j < n; j++)
		be[j] = (struct pt_maglev_backend){ keys[j], PT_WEIGHT_DEFAULT, (uint32_t)j };
	t0 = now();
	for (int i = 0; i < routes && rc >= 0; i++)
		rc = pt_maglev_build(names[i], be, n, PT_MAGLEV_SIZE_DEFAULT, table);
	*t = since(t0);
	free(table);
	if (rc != n) {
		fprintf(stderr, "tablecost: pt_maglev_build returned %d, expected %d\n", rc, n);
		return -EINVAL;
	}
	return 0;
}

/* A fresh data plane: apply routes routes of n backends balanced by bal
 * (timed into *apply), then mark backend 0 of every route down (timed into
 * *down). */
static int dp_run(int routes, int n, enum pt_balance bal, struct times *apply,
		  struct times *down)
{
	struct pt_route *r = calloc(routes, sizeof(*r));
	struct pt_routeset rs = { .host = (char *)"gw", .routes = r, .n_routes = routes };
	struct pt_dp_opts opts = { 0 };
	struct pt_dataplane *dp = NULL;
	struct times t0;
	int err;

	if (!r)
		return -ENOMEM;
	for (int i = 0; i < routes; i++) {
		r[i].name = names[i];
		r[i].mode = (char *)"tcp";
		r[i].proto = IPPROTO_TCP;
		r[i].addr = addr4(SVC_ADDR);
		r[i].port = (uint16_t)(SVC_PORT + i);
		r[i].balance = bal;
		r[i].table_size = bal == PT_BALANCE_ROUNDROBIN ? 0 : PT_MAGLEV_SIZE_DEFAULT;
		r[i].nat = PT_NAT_DNAT;
		r[i].syn_cookies = PT_SYN_COOKIES_OFF;
		r[i].backends = backends;
		r[i].n_backends = (size_t)n;
	}
	err = pt_dp_open(&opts, &dp);
	if (err) {
		fprintf(stderr, "tablecost: cannot load the data plane: %s\n",
			dp ? pt_dp_last_error(dp) : strerror(-err));
		free(r);
		return err;
	}
	t0 = now();
	err = pt_dp_apply(dp, &rs);
	*apply = since(t0);
	if (err) {
		fprintf(stderr, "tablecost: cannot apply %d %s routes: %s\n", routes,
			pt_balance_name(bal), pt_dp_last_error(dp));
		goto out;
	}
	t0 = now();
	for (int i = 0; i < routes && !err; i++)
		err = pt_dp_backend_set(dp, names[i], &backends[0].addr, BE_PORT, PT_DP_BE_DOWN,
					true);
	*down = since(t0);
	if (err)
		fprintf(stderr, "tablecost: cannot mark a backend of %s routes down: %s\n",
			pt_balance_name(bal), pt_dp_last_error(dp));
out:
	pt_dp_close(dp);
	free(r);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *x, int n)
{
	double v[RUNS_MAX];

	memcpy(v, x, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

static int arg(const char *s, int max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > max) {
		fprintf(stderr, "tablecost: %s '%s': expected 1 to %d\n", what, s, max);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static double wall[N_SIZES][F_MAX][RUNS_MAX], cpu[N_SIZES][F_MAX][RUNS_MAX];
	int routes = argc > 1 ? arg(argv[1], ROUTES_MAX, "ROUTES") : ROUTES_DEFAULT;
	int runs = argc > 2 ? arg(argv[2], RUNS_MAX, "RUNS") : RUNS_DEFAULT;
	struct times t[F_MAX];

	if (argc > 3) {
		fprintf(stderr, "usage: tablecost [ROUTES [RUNS]]\n");
		return 2;
	}
	names_init(routes);
	/* Runs interleave the sizes and the balances, so drift hits them
	 * alike. */
	for (int r = 0; r < runs; r++) {
		for (int s = 0; s < N_SIZES; s++) {
			int n = n_backends[s];

			if (build_all(routes, n, &t[F_BUILD]) ||
			    dp_run(routes, n, PT_BALANCE_MAGLEV, &t[F_APPLY_MAGLEV],
				   &t[F_DOWN_MAGLEV]) ||
			    dp_run(routes, n, PT_BALANCE_ROUNDROBIN, &t[F_APPLY_RR], &t[F_DOWN_RR]))
				return 1;
			for (int f = 0; f < F_MAX; f++) {
				wall[s][f][r] = t[f].wall;
				cpu[s][f][r] = t[f].cpu;
			}
		}
	}
	printf("maglev tables: %d routes of %u slots, median of %d runs (seconds; CPU: user + "
	       "system of this process)\n", routes, PT_MAGLEV_SIZE_DEFAULT, runs);
	printf("%-8s %-42s %8s %8s %12s\n", "backends", "what", "wall s", "CPU s",
	       "CPU ms/route");
	for (int s = 0; s < N_SIZES; s++) {
		for (int f = 0; f < F_MAX; f++) {
			double c = median(cpu[s][f], runs);

			printf("%-8d %-42s %8.3f %8.3f %12.3f\n", n_backends[s], fig_name[f],
			       median(wall[s][f], runs), c, 1e3 * c / routes);
		}
		/* The tables' share of an apply: the runs' own differences. */
		double dw[RUNS_MAX], dc[RUNS_MAX];

		for (int r = 0; r < runs; r++) {
			dw[r] = wall[s][F_APPLY_MAGLEV][r] - wall[s][F_APPLY_RR][r];
			dc[r] = cpu[s][F_APPLY_MAGLEV][r] - cpu[s][F_APPLY_RR][r];
		}
		printf("%-8d %-42s %8.3f %8.3f %12.3f\n", n_backends[s],
		       "the tables in the apply (maglev - rr)", median(dw, runs),
		       median(dc, runs), 1e3 * median(dc, runs) / routes);
	}
	return 0;
}
