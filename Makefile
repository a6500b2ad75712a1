# SPDX-License-Identifier: MIT
# inforeg - top-level build. `make` builds everything under build/; `make run` starts
# the daemon in the foreground; `make test` builds and runs every test; `make fuzz`
# runs the libFuzzer targets (tests/fuzz/*.c) for a long while.
#
# Packages: `make run`, `make test` and `make deps` install the missing Debian packages
# (scripts/install-deps.sh, apt-get); every other goal only checks with pkg-config
# (scripts/check-deps.sh) and names what is missing.
#
# Variables: V=1 (verbose), SAN=address,undefined | SAN=thread (sanitized tests,
# built into build-san-*/), FUZZ=1 (libFuzzer build in build-fuzz/), FUZZ_SECONDS
# (per target, `make fuzz`), PREFIX (install), CC, BPF_CLANG, LLVM_STRIP, BPF_CFLAGS
# (-DIR_SEQ_FENCED: the seqlock as non-x86 targets build it), QUICK=1 (`make bench`,
# `make experiment`: the short forms), OUT (`make bench`: results directory).

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

VERSION   := 0.1.0
PREFIX    ?= /usr/local
CC        ?= gcc
BPF_CLANG ?= clang
BPFTOOL   ?= bpftool
LLVM_STRIP ?= llvm-strip
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

comma := ,
BUILD ?= build
ifeq ($(FUZZ),1)
# libFuzzer: every object instrumented for coverage and ASan; the fuzz targets link
# the fuzzer's main() (clang; Debian's libclang-rt-14-dev has the runtime).
B := $(BUILD)-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer
FUZZ_LDFLAGS := -fsanitize=fuzzer,address
CC := clang
else ifeq ($(SAN),)
B := $(BUILD)
SANFLAGS :=
else
B := $(BUILD)-san-$(subst $(comma),-,$(SAN))
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer
# Sanitizer builds use clang: gcc 12 rejects atomic_thread_fence under -fsanitize=thread
# (-Wtsan) and reports false -Wformat-overflow "argument is null" under
# -fsanitize=undefined; the normal build stays gcc with -Werror.
CC := clang
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2)
endif

# Installing goals get the apt stamp; the rest only the pkg-config check.
ifneq ($(filter run test deps,$(MAKECMDGOALS)),)
DEPS_STAMP := $(B)/.deps-ok
else
DEPS_STAMP := $(B)/.deps-checked
endif
CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -D_GNU_SOURCE \
	-DINFOREG_VERSION_STR='"$(VERSION)"' -DH2O_USE_EPOLL=1 \
	-Iinclude -Ishm -Idaemon -Idaemon/rules -Iapi -Ikernel -Iextender -I$(B)/kernel \
	-I/usr/include/lua5.4
CFLAGS_ALL := $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)
# the scheduler extender links none of the daemon: h2o to serve, libcurl to ask the nodes
EXT_LIBS    := -lcurl -lh2o-evloop -lssl -lcrypto -ljansson -lpthread -lm
DAEMON_LIBS := -luring -lbpf -lelf -lz -lh2o-evloop -lssl -lcrypto -ljansson -llua5.4 -lpthread -lm

# One pattern per room: daemon/ (the process), daemon/ROOM/ (one kind of source
# each: procfs, ebpf, rules, devices), api/ (REST), cli/ (the inforeg tool), shm/.
SHM_SRCS    := $(sort $(wildcard shm/*.c))
# the CLI's `inforeg score` evaluates score rules itself: it links the pure Lua parts of
# the rules room (daemon/rules/lua_*.c: no daemon state)
CLI_SRCS    := $(sort $(wildcard cli/*.c daemon/rules/lua_*.c))
DAEMON_SRCS := $(sort $(wildcard daemon/*.c daemon/*/*.c api/*.c))
# extender/: the kube-scheduler extender, its own program
EXT_SRCS    := $(sort $(wildcard extender/*.c))
BPF_SRCS    := $(sort $(wildcard kernel/*.bpf.c))
SKELS       := $(patsubst kernel/%.bpf.c,$(B)/kernel/%.skel.h,$(BPF_SRCS))
# tests/test_*.c: unit and stress tests, also built under sanitizers;
# tests/it_*.c: integration programs (real daemon), normal build only.
TEST_SRCS   := $(sort $(wildcard tests/test_*.c))
# tests/test_*.cpp: C++ programs against the public headers (g++, and clang++ as a
# second compiler; clang++ under sanitizers)
CXX_TEST_SRCS := $(sort $(wildcard tests/test_*.cpp))
IT_SRCS     := $(sort $(wildcard tests/it_*.c))
# tests/fake_*.c: stand-in shared libraries (fake_nvml.so for the nvml provider)
FAKE_SRCS   := $(sort $(wildcard tests/fake_*.c))
# tests/helper_*.c: programs integration scripts start (stand-in servers), not tests.
HELPER_SRCS := $(sort $(wildcard tests/helper_*.c))
BENCH_SRCS  := $(sort $(wildcard bench/*.c))
# tests/fuzz/NAME.c: a libFuzzer target, seed corpus in tests/fuzz/NAME/
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
SHM_OBJS    := $(call obj,$(SHM_SRCS))
DAEMON_OBJS := $(call obj,$(DAEMON_SRCS))
# every daemon object but main(), for tests that drive collectors and the API directly
DAEMON_LIB_OBJS := $(filter-out $(B)/obj/daemon/main.o,$(DAEMON_OBJS))
EXT_OBJS    := $(call obj,$(EXT_SRCS))
# every extender object but main(), for its tests, helpers and bench
EXT_LIB_OBJS := $(filter-out $(B)/obj/extender/main.o,$(EXT_OBJS))
CXX_TESTS   := $(patsubst tests/%.cpp,$(B)/tests/%,$(CXX_TEST_SRCS))
TESTS       := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS)) $(CXX_TESTS)
ITESTS      := $(patsubst tests/%.c,$(B)/tests/%,$(IT_SRCS))
BENCHES     := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
FAKES       := $(patsubst tests/%.c,$(B)/tests/%.so,$(FAKE_SRCS))
HELPERS     := $(patsubst tests/%.c,$(B)/tests/%,$(HELPER_SRCS))
FUZZERS     := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))

BINS := $(B)/bin/inforegd $(B)/bin/inforeg $(B)/bin/inforeg-extender
LIBS := $(B)/lib/libinforeg.a $(B)/lib/libinforeg.so
all: $(BINS) $(LIBS) $(B)/inforeg.pc
# the benches too: `make test` runs the quick harness (tests/it_bench_quick.sh)
tests: $(TESTS) $(FAKES) $(if $(SAN),,$(ITESTS) $(HELPERS) $(BENCHES))
benches: $(BENCHES) $(FAKES) $(if $(SAN),,$(HELPERS))

.PHONY: all deps run test tests benches bench experiment install clean check-format fuzzers fuzz

deps: $(DEPS_STAMP)
$(B)/.deps-ok: scripts/debian-packages.txt scripts/install-deps.sh
	$(Q)scripts/install-deps.sh
	$(Q)mkdir -p $(@D) && touch $@
$(B)/.deps-checked: scripts/check-deps.sh
	$(Q)CC='$(CC)' scripts/check-deps.sh
	$(Q)mkdir -p $(@D) && touch $@

# Everything compiled needs the packages; order-only so a new stamp rebuilds nothing.
$(B)/obj/%.o: %.c | $(DEPS_STAMP)
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# ---- eBPF: vmlinux.h from the running kernel's BTF, .bpf.c -> .bpf.o -> .skel.h ----
$(B)/kernel/vmlinux.h: | $(DEPS_STAMP)
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ]; then \
		$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@; \
	else \
		echo "no /sys/kernel/btf/vmlinux: using kernel/vmlinux_fallback_$(ARCH).h.gz" >&2; \
		gzip -dc kernel/vmlinux_fallback_$(ARCH).h.gz > $@; \
	fi

# Each kernel/NAME.bpf.c is one object with its own skeleton (NAME_bpf), loaded and failed
# alone by daemon/ebpf/loader.c. -mcpu=v3: the fetch atomics of the per-CPU seqlock
# (kernel/inforeg.bpf.h). The object is stripped of DWARF (llvm-strip -g keeps .BTF and
# .BTF.ext, which CO-RE needs) before the skeleton embeds it in the daemon: 714 KB of
# debug info otherwise, mapped and read at every start. BPF_CFLAGS=-DIR_SEQ_FENCED builds
# the seqlock as every non-x86 target does.
BPF_CFLAGS ?=
$(B)/kernel/%.bpf.o: kernel/%.bpf.c $(wildcard kernel/*.h) $(B)/kernel/vmlinux.h
	$(call msg,BPF,$<)
	$(Q)$(BPF_CLANG) -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror $(BPF_CFLAGS) \
		-Ikernel -I$(B)/kernel -c $< -o $@.full
	$(Q)$(LLVM_STRIP) -g -o $@ $@.full && rm -f $@.full

$(B)/kernel/%.skel.h: $(B)/kernel/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(DAEMON_OBJS) $(call obj,$(TEST_SRCS) $(IT_SRCS) $(BENCH_SRCS) $(HELPER_SRCS) $(FUZZ_SRCS) $(FAKE_SRCS)): | $(SKELS)
# the dashboard page is embedded with .incbin, which -MMD does not see
$(B)/obj/api/dashboard.o: api/dashboard.html

# ---- libraries and programs ----
$(B)/lib/libinforeg.a: $(SHM_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D) && rm -f $@ && ar rcs $@ $^

$(B)/lib/libinforeg.so: $(SHM_OBJS) shm/libinforeg.map
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -Wl,-soname,libinforeg.so.0 -Wl,--version-script=shm/libinforeg.map \
		$(LDFLAGS_ALL) -o $@ $(SHM_OBJS) -lpthread

# inforeg.pc for PREFIX $(1), written to $(2)
write_pc = printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: inforeg\nDescription: inforeg node information registry client\nVersion: %s\nLibs: -L$${libdir} -linforeg\nLibs.private: -lpthread\nCflags: -I$${includedir}\n' '$(1)' '$(VERSION)' > $(2)

$(B)/inforeg.pc: Makefile
	$(Q)mkdir -p $(@D)
	$(Q)$(call write_pc,$(PREFIX),$@)

$(B)/bin/inforegd: $(DAEMON_OBJS) $(B)/lib/libinforeg.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(DAEMON_OBJS) $(B)/lib/libinforeg.a $(DAEMON_LIBS)

$(B)/bin/inforeg: $(call obj,$(CLI_SRCS)) $(B)/lib/libinforeg.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -ljansson -llua5.4 -lpthread -lm

$(B)/bin/inforeg-extender: $(EXT_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(EXT_OBJS) $(EXT_LIBS)

# The extender's tests (test_extender_*, it_extender_*), the helpers and bench/extender_*
# link the extender's objects, not the daemon's (make picks the rule with the shorter stem).
define link_ext
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(EXT_LIB_OBJS) $(EXT_LIBS)
endef
$(B)/tests/test_extender_%: $(B)/obj/tests/test_extender_%.o $(EXT_LIB_OBJS)
	$(link_ext)
$(B)/tests/it_extender_%: $(B)/obj/tests/it_extender_%.o $(EXT_LIB_OBJS)
	$(link_ext)
$(B)/tests/helper_%: $(B)/obj/tests/helper_%.o $(EXT_LIB_OBJS)
	$(link_ext)
$(B)/bench/extender_%: $(B)/obj/bench/extender_%.o $(EXT_LIB_OBJS)
	$(link_ext)

# Tests and benches link the client library and every daemon object but main().
$(B)/tests/%: $(B)/obj/tests/%.o $(DAEMON_LIB_OBJS) $(B)/lib/libinforeg.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(DAEMON_LIB_OBJS) $(B)/lib/libinforeg.a $(DAEMON_LIBS)

CXX_TEST_CXX := $(if $(SAN),clang++,g++)
CXXFLAGS_TEST := -std=c++17 -O2 -g -Wall -Wextra -Werror -Iinclude
$(CXX_TESTS): $(B)/tests/%: tests/%.cpp include/inforeg.h include/inforeg_layout.h $(B)/lib/libinforeg.a
	$(call msg,CXX,$<)
	$(Q)mkdir -p $(@D)
	$(Q)clang++ $(CXXFLAGS_TEST) -fsyntax-only $<
	$(Q)$(CXX_TEST_CXX) $(CXXFLAGS_TEST) $(SANFLAGS) $(LDFLAGS_ALL) -o $@ $< $(B)/lib/libinforeg.a -lpthread

$(B)/tests/%.so: $(B)/obj/tests/%.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared $(LDFLAGS_ALL) -o $@ $< -lpthread

$(B)/bench/%: $(B)/obj/bench/%.o $(DAEMON_LIB_OBJS) $(B)/lib/libinforeg.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(DAEMON_LIB_OBJS) $(B)/lib/libinforeg.a $(DAEMON_LIBS)

# libFuzzer targets: only in the FUZZ=1 build (`make fuzzers` makes it); the
# extender's (tests/fuzz/extender_*.c) link the extender's objects.
$(B)/fuzz/extender_%: $(B)/obj/tests/fuzz/extender_%.o $(EXT_LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FUZZ_LDFLAGS) $(LDFLAGS) -o $@ $< $(EXT_LIB_OBJS) $(EXT_LIBS)
$(B)/fuzz/%: $(B)/obj/tests/fuzz/%.o $(DAEMON_LIB_OBJS) $(B)/lib/libinforeg.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FUZZ_LDFLAGS) $(LDFLAGS) -o $@ $< $(DAEMON_LIB_OBJS) $(B)/lib/libinforeg.a $(DAEMON_LIBS)

ifeq ($(FUZZ),1)
fuzzers: $(FUZZERS)
else
fuzzers:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD) FUZZ=1 fuzzers
endif

# A long run of every target (FUZZ_SECONDS each); `make test` runs each ~10 s.
FUZZ_SECONDS ?= 600
fuzz: fuzzers
	$(Q)tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# ---- the two commands ----
SHM ?= inforeg
run: all
	$(B)/bin/inforegd --shm $(SHM) $(RUNFLAGS)

# Runs every test (unit, stress, integration; sanitizer builds of the unit and
# stress tests) and ends with "N passed, N failed, N skipped".
test: all tests
ifeq ($(SAN),)
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD) SAN=address,undefined tests $(BUILD)-san-address-undefined/bin/inforegd $(BUILD)-san-address-undefined/bin/inforeg $(BUILD)-san-address-undefined/bin/inforeg-extender
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD) SAN=thread tests $(BUILD)-san-thread/bin/inforegd $(BUILD)-san-thread/bin/inforeg $(BUILD)-san-thread/bin/inforeg-extender
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD) FUZZ=1 fuzzers
endif
	$(Q)tests/run.sh $(B)

# Every benchmark through bench/harness.py (registry: bench/benches.conf): a full run
# writes bench/results/latest.md, latest.json and the plots; QUICK=1 is the smoke run
# (under 3 minutes, into $(B)/bench-quick/); OUT=DIR writes elsewhere. Root for all.
bench: all benches | $(DEPS_STAMP)
	$(Q)QUICK=$(QUICK) bench/run.sh $(B) $(if $(OUT),--out $(OUT))

# The scheduling experiment (root: it makes cgroups); QUICK=1 is the short form.
experiment: all benches | $(DEPS_STAMP)
	$(Q)QUICK=$(QUICK) /usr/bin/python3 bench/experiment.py --build $(B)

# Installs the programs, libraries, headers and inforeg.pc, the man pages, the bash
# completion, the systemd unit (PREFIX/lib/systemd/system, pointing at PREFIX/bin), the
# README and sample configuration (PREFIX/share/doc/inforeg); runs ldconfig when
# installing for real (no DESTDIR) as root, so that programs find libinforeg.so.0.
DOC_FILES := README.md deploy/inforegd.conf $(wildcard docs/*.md)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/inforeg
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(B)/lib/libinforeg.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(B)/lib/libinforeg.so $(DESTDIR)$(PREFIX)/lib/libinforeg.so.0
	ln -sf libinforeg.so.0 $(DESTDIR)$(PREFIX)/lib/libinforeg.so
	install -m 0644 include/inforeg.h include/inforeg_layout.h $(DESTDIR)$(PREFIX)/include/
	$(call write_pc,$(PREFIX),$(DESTDIR)$(PREFIX)/lib/pkgconfig/inforeg.pc)
	install -m 0644 cli/inforeg.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 shm/libinforeg.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 0644 daemon/inforegd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 cli/inforeg.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/inforeg
	sed 's|@PREFIX@|$(PREFIX)|g' deploy/inforegd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/inforegd.service
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(PREFIX)/share/doc/inforeg/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo "ldconfig (libinforeg.so.0 in $(PREFIX)/lib)"; ldconfig; fi

check-format:
	clang-format --dry-run --Werror $(SHM_SRCS) $(DAEMON_SRCS) $(CLI_SRCS) $(EXT_SRCS) extender/*.h include/*.h

clean:
	rm -rf $(BUILD) $(BUILD)-san-* $(BUILD)-fuzz

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
