# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# portier: make builds build/portier (BPF object embedded as a skeleton).
#   make            build              make test    all tests (root)
#   make deps       Debian packages    make demo    the netns demo (root)
#   make install    PREFIX, DESTDIR    make fuzz    libFuzzer, FUZZ_SECONDS
#   make deb        the Debian package (build/deb/), DEB_VERSION
#   make vmlinux    regenerate vmlinux.h from this kernel's BTF
#   make bench      benchmarks (root)  V=1          show full commands

PREFIX ?= /usr/local
DESTDIR ?=
# The systemd unit goes where systemd looks for units of this prefix
# (/usr/local/lib/systemd/system; the package puts it in /lib/systemd/system).
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
BUILD := build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg = @printf '  %-8s %s\n'
endif

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
USER_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -Iinclude -Iuser -I$(BUILD) \
	-DPORTIER_VERSION='"$(VERSION)"' -D_GNU_SOURCE
LIBS := -lbpf -lelf -lz -lyaml -ljansson -lmicrohttpd
# -mcpu=v3: atomic fetch-and-add (round-robin, SNAT port cursor) needs BPF v3.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 $(WARN) -I. -Iinclude -Ibpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(USER_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
PROG_SRCS := $(wildcard tests/prog/test_*.c)
PROG_BINS := $(patsubst tests/prog/%.c,$(BUILD)/tests/%,$(PROG_SRCS))
TEST_HELPERS := $(wildcard tests/lib/*.c)
TEST_HEADERS := $(wildcard tests/lib/*.h)

.DELETE_ON_ERROR:
# Keep the BPF objects and skeletons (intermediate files of the chain).
.SECONDARY:
.PHONY: all deps test unit-test prog-test e2e-test demo bench fuzz install \
	uninstall vmlinux clean tests deb

all: $(BUILD)/portier

deps:
	$(Q)tools/deps.sh

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) vmlinux.h | $(BUILD)
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BUILD)/obj/%.o: user/%.c $(wildcard user/*.h) $(wildcard include/*.h) $(SKELS) | $(BUILD)/obj
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/portier: $(USER_OBJS)
	$(msg) LINK $@
	$(Q)$(CC) $(USER_CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(TEST_HELPERS) $(TEST_HEADERS) | $(BUILD)/tests
	$(msg) CC $@
	$(Q)$(CC) $(USER_CFLAGS) -Itests/lib $< $(TEST_HELPERS) $(LIB_OBJS) $(LIBS) -lcmocka -o $@

$(BUILD)/tests/%: tests/prog/%.c $(LIB_OBJS) $(TEST_HELPERS) $(TEST_HEADERS) | $(BUILD)/tests
	$(msg) CC $@
	$(Q)$(CC) $(USER_CFLAGS) -Itests/lib $< $(TEST_HELPERS) $(LIB_OBJS) $(LIBS) -lcmocka -o $@

# Per-packet cost of the XDP program (BPF_PROG_TEST_RUN, root): the test
# helpers and the data plane code, no cmocka.
$(BUILD)/pktcost: tools/pktcost.c $(LIB_OBJS) $(TEST_HELPERS) $(TEST_HEADERS) | $(BUILD)
	$(msg) CC $@
	$(Q)$(CC) $(USER_CFLAGS) -Itests/lib $< $(TEST_HELPERS) $(LIB_OBJS) $(LIBS) -o $@

# Time to build and load the Maglev tables of many routes (root).
$(BUILD)/tablecost: tools/tablecost.c $(LIB_OBJS) | $(BUILD)
	$(msg) CC $@
	$(Q)$(CC) $(USER_CFLAGS) $< $(LIB_OBJS) $(LIBS) -o $@

# Fills the pinned connection table from userspace (tests/e2e/test_cli.sh).
$(BUILD)/ctfill: tools/ctfill.c $(LIB_OBJS) | $(BUILD)
	$(msg) CC $@
	$(Q)$(CC) $(USER_CFLAGS) $< $(LIB_OBJS) $(LIBS) -o $@

# The benchmark's packet generator, sink and bare-redirect loader.
$(BUILD)/trafgen: tools/trafgen.c bpf/trafgen.h $(SKELS) | $(BUILD)
	$(msg) CC $@
	$(Q)$(CC) $(USER_CFLAGS) -Ibpf $< $(LIBS) -o $@

# The flow sync test's lossy link: a tc classifier (tests/e2e/test_flowsync.sh).
$(BUILD)/tests/lossy.bpf.o: tests/e2e/lossy.bpf.c vmlinux.h | $(BUILD)/tests
	$(msg) CLANG $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

tests: $(BUILD)/portier $(UNIT_BINS) $(PROG_BINS) $(BUILD)/pktcost $(BUILD)/trafgen \
	$(BUILD)/ctfill $(BUILD)/tablecost $(BUILD)/tests/lossy.bpf.o

# The whole suite: unit, BPF program and end-to-end tests; ends with
# "N passed, N failed".
test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tests/run.sh

unit-test: tests
	$(Q)BUILD=$(BUILD) tests/run.sh unit

prog-test: tests
	$(Q)BUILD=$(BUILD) tests/run.sh prog

e2e-test: tests
	$(Q)BUILD=$(BUILD) tests/run.sh e2e

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/portier
	$(Q)PORTIER_BIN=$(abspath $(BUILD))/portier tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tools/bench.sh

# libFuzzer targets under ASan+UBSan; FUZZ_SECONDS bounds each run.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_USER := $(filter-out user/main.c,$(USER_SRCS))
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -Iinclude -Iuser -I$(BUILD) -D_GNU_SOURCE $(WARN)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_USER) $(TEST_HELPERS) $(wildcard user/*.h) $(SKELS)
	$(Q)mkdir -p $(BUILD)/fuzz
	$(msg) FUZZ $@
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Itests/lib $< $(FUZZ_USER) $(TEST_HELPERS) $(LIBS) -o $@

fuzz: deps $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# The binary, man page, bash completion, the systemd unit (its ExecStart
# names this PREFIX's binary) and /etc/default/portier (only if absent: it
# is the operator's).
install: $(BUILD)/portier
	install -D -m 0755 $(BUILD)/portier $(DESTDIR)$(PREFIX)/sbin/portier
	install -D -m 0644 docs/portier.8 $(DESTDIR)$(PREFIX)/share/man/man8/portier.8
	install -D -m 0644 tools/portier.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/portier
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' deploy/systemd/portier.service.in >$(DESTDIR)$(UNITDIR)/portier.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/portier.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/portier ] || \
		install -D -m 0644 deploy/systemd/portier.default $(DESTDIR)$(SYSCONFDIR)/default/portier

# /etc/default/portier is left: it is the operator's.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/portier $(DESTDIR)$(PREFIX)/share/man/man8/portier.8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/portier \
		$(DESTDIR)$(UNITDIR)/portier.service

# The Debian package, with debhelper (debian/), built from a copy of this
# tree in build/deb/src (so the build neither touches build/ nor writes
# outside the tree); the .deb lands in build/deb/. DEB_VERSION defaults to
# 0.1.0+N.gHASH (N commits), newer for every commit.
DEB_VERSION ?= $(shell tools/deb-version.sh)
DEB_DIR = $(abspath $(BUILD))/deb
# (The sub-make of debian/rules gets none of these variables: its BUILD is
# the copy's build/.)
deb:
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)tar --exclude=./build --exclude='./build-*' --exclude=./.git -cf - . | tar -C $(DEB_DIR)/src -xf -
	$(Q)rm -rf $(DEB_DIR)/src/$(BUILD)
	$(Q)tools/deb-changelog.sh "$(DEB_VERSION)" >$(DEB_DIR)/src/debian/changelog
	$(msg) DEB $(DEB_DIR)/portier_$(DEB_VERSION)_*.deb
	$(Q)cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES dpkg-buildpackage -b -us -uc -j2 >$(DEB_DIR)/build.log 2>&1 || \
		{ tail -30 $(DEB_DIR)/build.log; echo "make deb: dpkg-buildpackage failed; the whole log is $(DEB_DIR)/build.log" >&2; exit 1; }
	$(Q)ls $(DEB_DIR)/*.deb

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

clean:
	rm -rf $(BUILD)
