// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * bgp_announce.c - the bird2 include file of the service addresses with an
 * UP backend, and "birdc configure" when it changes (bgp_announce.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bgp_announce.h"
#include "util.h"

#define BIRDC_OUT_MAX	1024	/* birdc's answer kept for the log */

struct pt_bgp {
	struct pt_bgp_opts o;
	struct pt_addr *cur;	/* announced now (what the file holds) */
	size_t n_cur;
	bool valid;		/* cur was written and bird reconfigured */
	char msg[PT_BGP_MSG_LEN];
};

int pt_bgp_new(const struct pt_bgp_opts *o, struct pt_bgp **out)
{
	struct pt_bgp *b;

	if (!o->include || !*o->include)
		return -EINVAL;
	b = xcalloc(1, sizeof(*b));
	b->o = *o;
	if (!b->o.birdc)
		b->o.birdc = PT_BGP_BIRDC_DEFAULT;
	*out = b;
	return 0;
}

void pt_bgp_free(struct pt_bgp *b)
{
	if (!b)
		return;
	free(b->cur);
	free(b);
}

const char *pt_bgp_msg(const struct pt_bgp *b)
{
	return b->msg;
}

static int addr_cmp(const void *x, const void *y)
{
	const struct pt_addr *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(&a->v6, &b->v6, a->family == AF_INET ? 4 : 16);
}

/* A route's listen address as a pt_addr; false for "*" (all zero). */
static bool route_addr(const struct pt_dp_route_view *r, struct pt_addr *out)
{
	const struct portier_svc_key *k = &r->meta.key;
	static const __u8 zero[16];

	memset(out, 0, sizeof(*out));
	if (k->family == PORTIER_AF_INET && k->addr.a32[0]) {
		out->family = AF_INET;
		out->v4.s_addr = k->addr.a32[0];
		return true;
	}
	if (k->family == PORTIER_AF_INET6 && memcmp(k->addr.a8, zero, 16)) {
		out->family = AF_INET6;
		memcpy(&out->v6, k->addr.a8, 16);
		return true;
	}
	return false;
}

size_t pt_bgp_collect(const struct pt_dp_route_view *v, size_t n, struct pt_addr *out)
{
	size_t k = 0, w = 0;

	for (size_t i = 0; i < n; i++) {
		bool up = false;

		for (size_t j = 0; j < v[i].n_be && !up; j++)
			up = !(v[i].be[j].state & PT_DP_BE_DOWN);
		if (up && route_addr(&v[i], &out[k]))
			k++;
	}
	qsort(out, k, sizeof(*out), addr_cmp);
	for (size_t i = 0; i < k; i++)
		if (!w || addr_cmp(&out[w - 1], &out[i]))
			out[w++] = out[i];
	return w;
}

char *pt_bgp_render(const struct pt_addr *a, size_t n, const char *host)
{
	char *s = NULL, ab[INET6_ADDRSTRLEN];
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fprintf(f, "# Written by portier daemon (host %s); do not edit: it is replaced\n"
		   "# whenever the set changes. The service addresses with an UP backend.\n",
		host ? host : "-");
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;

		fprintf(f, "protocol static portier%d {\n\t%s;\n", fam ? 6 : 4,
			fam ? "ipv6" : "ipv4");
		for (size_t i = 0; i < n; i++)
			if (a[i].family == af)
				fprintf(f, "\troute %s/%d blackhole;\n",
					pt_addr_str(&a[i], ab, sizeof(ab)), fam ? 128 : 32);
		fputs("}\n", f);
	}
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Write text to path atomically: PATH.tmp in the same directory, fsync,
 * rename over PATH. */
static int write_atomic(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	size_t len = strlen(text), off = 0;
	int fd, err = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	fchmod(fd, 0644);	/* bird reads it as its own user; umask aside */
	while (off < len && !err) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno != EINTR)
			err = -errno;
		else if (w > 0)
			off += w;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Run "birdc [-s SOCKET] configure", at most PT_BGP_BIRDC_TIMEOUT_MS; its
 * answer (first BIRDC_OUT_MAX bytes) into out. 0 if bird says it
 * reconfigured, else -errno. */
static int birdc_configure(const struct pt_bgp *b, char *out, size_t len)
{
	const char *argv[5];
	long long deadline = now_ms() + PT_BGP_BIRDC_TIMEOUT_MS;
	size_t got = 0;
	int p[2], st = 0, k = 0;
	pid_t pid;

	argv[k++] = b->o.birdc;
	if (b->o.socket) {
		argv[k++] = "-s";
		argv[k++] = b->o.socket;
	}
	argv[k++] = "configure";
	argv[k] = NULL;
	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		/* The daemon blocks its signals (signalfd): exec keeps the mask. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (null >= 0)
			dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(1, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long long left = deadline - now_ms();
		char buf[256];
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			snprintf(out + got, len - got, " (killed after %d ms)",
				 PT_BGP_BIRDC_TIMEOUT_MS);
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		r = read(p[0], buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && got + 1 < len; i++)
			out[got++] = buf[i] == '\n' ? ' ' : buf[i];
		out[got] = '\0';
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -EIO;
	/* "Reconfigured", "Reconfiguration in progress", "... queueing new
	 * config"; a parse error or a socket that does not answer says else. */
	return strstr(out, "Reconfigur") ? 0 : -EIO;
}

/* Write addrs and reconfigure; on success they become the current set. */
static int announce(struct pt_bgp *b, struct pt_addr *addrs, size_t n)
{
	char out[BIRDC_OUT_MAX], ab[INET6_ADDRSTRLEN];
	char *text = pt_bgp_render(addrs, n, b->o.host);
	size_t off;
	int err;

	if (!text) {
		snprintf(b->msg, sizeof(b->msg), "bgp: out of memory");
		return -ENOMEM;
	}
	err = write_atomic(b->o.include, text);
	free(text);
	if (err) {
		snprintf(b->msg, sizeof(b->msg), "bgp: cannot write %s: %s; the announcements "
			 "stay as they were (check --bgp-include)", b->o.include, strerror(-err));
		return err;
	}
	err = birdc_configure(b, out, sizeof(out));
	if (err) {
		b->valid = false;
		snprintf(b->msg, sizeof(b->msg), "bgp: wrote %s but '%s%s%s configure' failed "
			 "(%s): bird still announces its previous set; retried every tick "
			 "(is bird running, with 'include \"%s\";', and --bird-socket right?)",
			 b->o.include, b->o.birdc, b->o.socket ? " -s " : "",
			 b->o.socket ? b->o.socket : "", *out ? out : strerror(-err),
			 b->o.include);
		return err;
	}
	free(b->cur);
	b->cur = addrs;
	b->n_cur = n;
	b->valid = true;
	off = snprintf(b->msg, sizeof(b->msg), "bgp: announcing %zu address%s", n,
		       n == 1 ? "" : "es");
	for (size_t i = 0; i < n && off < sizeof(b->msg); i++)
		off += snprintf(b->msg + off, sizeof(b->msg) - off, "%s%s", i ? " " : ": ",
				pt_addr_str(&addrs[i], ab, sizeof(ab)));
	return 1;
}

int pt_bgp_update(struct pt_bgp *b, const struct pt_dataplane *dp)
{
	struct pt_dp_route_view *v = NULL;
	size_t nv = pt_dp_view(dp, &v), n;
	struct pt_addr *a = xcalloc(nv ? nv : 1, sizeof(*a));
	int err;

	n = pt_bgp_collect(v, nv, a);
	pt_dp_view_free(v, nv);
	if (b->valid && n == b->n_cur && !memcmp(a, b->cur, n * sizeof(*a))) {
		free(a);
		return 0;
	}
	err = announce(b, a, n);
	if (err < 0)
		free(a);
	return err;
}

int pt_bgp_withdraw(struct pt_bgp *b)
{
	struct pt_addr *a = xcalloc(1, sizeof(*a));
	int err = announce(b, a, 0);

	if (err < 0)
		free(a);
	else
		snprintf(b->msg, sizeof(b->msg), "bgp: withdrew every address (%s is empty)",
			 b->o.include);
	return err;
}
