// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * fuzz_xdp.c - libFuzzer target: the XDP program's packet path. Each input
 * is decoded by tests/lib/xdpfuzz.c (xf_one: a seed frame of some kind,
 * cut, extended, bytes set) and run through BPF_PROG_TEST_RUN in a private
 * network namespace; an input that breaks an invariant of the harness
 * (a rewrite of a frame the program drops or does not own, a checksum that
 * no longer verifies, an ICMP error translated beyond its addresses, ports
 * and checksums, a fragmentation needed not byte for byte what it must
 * be, a TTL off by more than one, a malformed frame forwarded, a frame of
 * the SYN proxy with a checksum that does not verify, ...), or leaves the
 * connection table inconsistent, or evicts an established entry of the
 * full table (filled at start and every FILL_EVERY inputs), aborts with
 * the broken invariant. The
 * program runs in the kernel, so libFuzzer's coverage sees only the
 * harness: the structured input, not coverage, does the steering. The
 * fixed-seed run of the suite is tests/prog/test_xdp_fuzz.c. Needs root.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "testnet.h"
#include "xdpfuzz.h"

#define TABLE_EVERY	256	/* inputs between two table checks */
#define FILL_EVERY	20000	/* inputs between two fills of the table */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *err;

	if (tn_enter("fuzz_xdp") || xf_setup())
		exit(1);
	if ((err = xf_fill_table())) {
		fprintf(stderr, "fuzz_xdp: %s\n", err);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	const char *err = xf_one(data, size);

	if (!err && ++runs % TABLE_EVERY == 0)
		err = xf_check_table();
	if (!err && runs % FILL_EVERY == 0 && !(err = xf_check_fill()))
		err = xf_fill_table();
	if (err) {
		fprintf(stderr, "fuzz_xdp: %s\n", err);
		abort();
	}
	return 0;
}
