// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * nofile.c - raise the soft file-descriptor limit to the hard one when the
 * daemon needs more than the soft one (as Go's runtime does at start). Safe
 * for portier: nothing in it uses select(), whose sets stop at 1023.
 */
#include <errno.h>
#include <sys/resource.h>

#include "nofile.h"

int pt_nofile_raise(uint64_t need, uint64_t *have)
{
	struct rlimit rl;

	*have = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	*have = rl.rlim_cur;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need || rl.rlim_cur == rl.rlim_max)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	*have = rl.rlim_cur;
	return 0;
}
