/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * nofile.h - the process's file-descriptor limit (RLIMIT_NOFILE): the
 * daemon raises it at start so the metrics server has room for thousands
 * of connections (docs/observability.md, "The endpoint under abuse").
 */
#ifndef PORTIER_NOFILE_H
#define PORTIER_NOFILE_H

#include <stdint.h>

/* If the soft limit is below need, raise it to the hard limit. *have is the
 * soft limit afterwards (below need if the hard limit is). Returns 0, or
 * -errno if the limit could not be read or raised (*have is then what it
 * is). Prints nothing. */
int pt_nofile_raise(uint64_t need, uint64_t *have);

#endif
