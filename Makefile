# kosyncd Makefile: one plain Makefile, pkg-config, no generated configure.
#
#   make              optimised, hardened build: ./kosyncd (libraries static)
#   make static       one fully static executable: ./kosyncd-static
#                     (ARCH=arm64, armhf or armel: build/ARCH/kosyncd, with
#                     Debian's cross compiler; scripts/install-deps --cross)
#   make test-cross   the end-to-end protocol tests against each ARCH's
#                     static binary under qemu-user-static (CROSS_ARCHES)
#   make dist         dist/kosyncd-VERSION-linux-ARCH.tar.gz for amd64 and
#                     CROSS_ARCHES, with SHA256SUMS
#   make run          install missing packages, build, start on ./data
#   make test         unit + end-to-end tests under ASan/UBSan
#   make lint         cppcheck, clang-tidy, banned functions
#   make format       rewrite sources with clang-format
#   make check-format fail when a source differs from clang-format
#   make bench        benchmark (QUICK=1 for a short run; BACKEND=redis:
#                     file store and Redis backend side by side)
#   make fuzz         each fuzzer for FUZZ_SECONDS seconds
#   make deb          build/deb/kosyncd_VERSION_ARCH.deb from the static
#                     binary (ARCH=amd64 default; docs/install.md)
#   make test-deb     install, upgrade, purge it in a fresh Debian 12 root
#   make image-context  stage the static binaries for the Dockerfile
#   make test-image   build the image with buildah and run its binary
#
# Knobs: DEVELOPER=1 (or CI=true) makes warnings errors; PREFIX, DESTDIR;
# TEST_JOBS (make test, make e2e: end-to-end scripts run at once, 2).

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
ifeq ($(CC),cc)
CC = gcc
endif
FUZZ_SECONDS ?= 60
TEST_JOBS ?= 2

# Everything the project needs is installed by scripts/install-deps; these
# stamps make every target check once per build directory. Building (make,
# make static, make run) needs only the build packages; the tests, lint, the
# benchmark and the fuzzers need all of them.
DEPS_STAMP = build/.deps-build
ALL_DEPS_STAMP = build/.deps-all

SRC := $(sort $(wildcard src/*.c))
MAIN := src/main.c
LIBSRC := $(filter-out $(MAIN),$(SRC))
HDR := $(sort $(wildcard src/*.h))

# Each compile also writes which headers the object read (build/*/x.d,
# included at the end): a changed header rebuilds only what includes it.
DEPFLAGS = -MMD -MP

# _FILE_OFFSET_BITS=64: 64-bit off_t, ino_t and readdir on 32-bit ARM too
# (without it the armhf binary under qemu on ext4 saw no journal file in
# the data directory: ext4's directory offsets are 64-bit); no change on
# 64-bit systems.
STD = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-D_FILE_OFFSET_BITS=64
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
	-Wcast-qual -Wwrite-strings -Wsign-compare -Wvla -Wformat=2 \
	-Wdeclaration-after-statement
ifneq ($(DEVELOPER)$(CI),)
WARN += -Werror
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
DEFS = -DKOSYNCD_VERSION='"$(VERSION)"'

# Libraries: Debian ships static archives for all of them.
LIBS_STATIC = -Wl,-Bstatic -luv_a -lsodium -lyajl_s -lhttp_parser -lhiredis \
	-lsqlite3 -lexpat -lminizip -lz -lstb -Wl,-Bdynamic -lpthread -ldl -lrt -lm
# (one line: fuzz/run reads it)
LIBS_SHARED = -luv -lsodium -lyajl -lhttp_parser -lhiredis -lsqlite3 -lexpat -lminizip -lz -lstb -lpthread -lm

REL_CFLAGS = $(STD) $(WARN) $(DEFS) -O2 -g -D_FORTIFY_SOURCE=2 \
	-fstack-protector-strong -fPIE
REL_LDFLAGS = -pie -Wl,-z,relro,-z,now
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
TEST_CFLAGS = $(STD) $(WARN) -Werror $(DEFS) -O1 -g -fno-omit-frame-pointer \
	$(SAN) -DKOSYNCD_TESTING
TEST_LDFLAGS = $(SAN)

# make static: the host's architecture, or with ARCH=arm64|armhf|armel a
# cross build with Debian's cross compiler (crossbuild-essential-ARCH) and
# that architecture's Debian libraries, which scripts/install-deps --cross
# unpacks into CROSS_ROOT (see there why they are not installed with dpkg).
HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
ARCH ?= $(HOST_ARCH)
# $(call static_bin,A): where make static ARCH=A writes its binary.
static_bin = $(if $(filter $(HOST_ARCH),$(1)),kosyncd-static,build/$(1)/kosyncd)
CROSS_ARCHES ?= arm64 armhf armel
TRIPLET_amd64 = x86_64-linux-gnu
TRIPLET_arm64 = aarch64-linux-gnu
TRIPLET_armhf = arm-linux-gnueabihf
TRIPLET_armel = arm-linux-gnueabi
ifeq ($(ARCH),$(HOST_ARCH))
STATIC_CC = $(CC)
STATIC_STRIP = strip
STATIC_DIR = build/static
STATIC_BIN = $(call static_bin,$(ARCH))
STATIC_DEPS = $(DEPS_STAMP)
CROSS_CFLAGS =
CROSS_LDFLAGS =
else
TRIPLET := $(TRIPLET_$(ARCH))
ifeq ($(TRIPLET),)
$(error ARCH=$(ARCH): one of amd64 $(CROSS_ARCHES))
endif
CROSS_ROOT ?= /usr/local/lib/kosyncd-cross/$(ARCH)
STATIC_CC = $(TRIPLET)-gcc
STATIC_STRIP = $(TRIPLET)-strip
STATIC_DIR = build/static-$(ARCH)
STATIC_BIN = $(call static_bin,$(ARCH))
STATIC_DEPS = $(CROSS_ROOT)/.packages
CROSS_CFLAGS = -isystem $(CROSS_ROOT)/usr/include/$(TRIPLET) \
	-isystem $(CROSS_ROOT)/usr/include
CROSS_LDFLAGS = -L$(CROSS_ROOT)/usr/lib/$(TRIPLET)
endif

REL_OBJ := $(SRC:src/%.c=build/rel/%.o)
STATIC_OBJ := $(SRC:src/%.c=$(STATIC_DIR)/%.o)
TEST_OBJ := $(SRC:src/%.c=build/test/%.o)
TEST_LIBOBJ := $(LIBSRC:src/%.c=build/test/%.o)

# The web interface's files, embedded into every build as a generated C
# file (scripts/embed-web; webui.h declares what it defines).
WEB := $(sort $(wildcard web/*.html web/*.js web/*.css web/*.svg \
	web/*.webmanifest))
WEB_C := build/gen/webassets.c
REL_OBJ += build/rel/webassets.o
STATIC_OBJ += $(STATIC_DIR)/webassets.o
TEST_OBJ += build/test/webassets.o
TEST_LIBOBJ += build/test/webassets.o

# The Redis backend's Lua scripts, embedded the same way (scripts/embed-lua;
# luascripts.h declares what it defines).
LUA := $(sort $(wildcard src/lua/*.lua))
LUA_C := build/gen/luascripts.c
REL_OBJ += build/rel/luascripts.o
STATIC_OBJ += $(STATIC_DIR)/luascripts.o
TEST_OBJ += build/test/luascripts.o
TEST_LIBOBJ += build/test/luascripts.o

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/test/unit/%)

.PHONY: all static run test unit e2e lint format check-format bench fuzz \
	install clean hdr-check deps deb test-deb image-context \
	test-image test-cross dist static-bin

all: kosyncd

deps: $(ALL_DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps
	@scripts/install-deps build
	@mkdir -p build && touch $@
$(ALL_DEPS_STAMP): scripts/install-deps
	@scripts/install-deps
	@mkdir -p build && touch $@ $(DEPS_STAMP)

kosyncd: $(DEPS_STAMP) $(REL_OBJ)
	$(CC) $(REL_LDFLAGS) -o $@ $(REL_OBJ) $(LIBS_STATIC)

static: $(STATIC_BIN)
$(STATIC_BIN): $(STATIC_DEPS) $(STATIC_OBJ)
	@mkdir -p $(@D)
	$(STATIC_CC) -static -o $@ $(STATIC_OBJ) $(CROSS_LDFLAGS) -luv_a \
		-lsodium -lyajl_s -lhttp_parser -lhiredis -lsqlite3 -lexpat \
		-lminizip -lz -lstb -lpthread -ldl -lrt -lm
	$(STATIC_STRIP) $@

# A cross build needs what scripts/install-deps --cross installs; make
# does not run it (it adds dpkg architectures).
$(CROSS_ROOT)/.packages:
	@echo "make static ARCH=$(ARCH): run scripts/install-deps --cross $(ARCH) first" >&2
	@exit 1

# make -s static-bin ARCH=...: where make static ARCH=... writes the binary.
static-bin:
	@echo $(STATIC_BIN)

# make test-cross: build each CROSS_ARCHES binary, then run the
# end-to-end protocol tests on each under qemu (scripts/cross-test; about
# 8 minutes for the three on 2 cores). Not part of make test: it needs
# scripts/install-deps --cross.
test-cross:
	@for a in $(CROSS_ARCHES); do \
		$(MAKE) --no-print-directory static ARCH=$$a || exit 1; \
	done
	@scripts/cross-test $(CROSS_ARCHES)

# make dist: dist/kosyncd-VERSION-linux-ARCH.tar.gz for the host and each
# of CROSS_ARCHES (scripts/cross-dist says what is in one) and
# dist/SHA256SUMS.
dist:
	@rm -rf dist && mkdir -p dist
	@for a in $(HOST_ARCH) $(CROSS_ARCHES); do \
		$(MAKE) --no-print-directory static ARCH=$$a && \
		scripts/cross-dist $$a \
			"$$($(MAKE) -s --no-print-directory static-bin ARCH=$$a)" \
			$(VERSION) || exit 1; \
	done
	cd dist && sha256sum kosyncd-*.tar.gz >SHA256SUMS

build/rel/%.o: src/%.c build/rel/%.d | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(STATIC_DIR)/%.o: src/%.c $(STATIC_DIR)/%.d | $(STATIC_DEPS)
	@mkdir -p $(@D)
	$(STATIC_CC) $(STD) $(WARN) $(DEFS) $(CROSS_CFLAGS) -O2 \
		-D_FORTIFY_SOURCE=2 -fstack-protector-strong -DKOSYNCD_STATIC \
		$(DEPFLAGS) -c -o $@ $<

build/test/%.o: src/%.c build/test/%.d | $(ALL_DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(WEB_C): scripts/embed-web $(WEB)
	@mkdir -p $(@D)
	scripts/embed-web $(WEB) >$@.tmp && mv $@.tmp $@

build/rel/webassets.o: $(WEB_C) src/webui.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -Isrc -c -o $@ $<

$(STATIC_DIR)/webassets.o: $(WEB_C) src/webui.h | $(STATIC_DEPS)
	@mkdir -p $(@D)
	$(STATIC_CC) $(STD) $(WARN) $(DEFS) -O2 -Isrc -c -o $@ $<

build/test/webassets.o: $(WEB_C) src/webui.h | $(ALL_DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Isrc -c -o $@ $<

$(LUA_C): scripts/embed-lua $(LUA)
	@mkdir -p $(@D)
	scripts/embed-lua $(LUA) >$@.tmp && mv $@.tmp $@

build/rel/luascripts.o: $(LUA_C) src/luascripts.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -Isrc -c -o $@ $<

$(STATIC_DIR)/luascripts.o: $(LUA_C) src/luascripts.h | $(STATIC_DEPS)
	@mkdir -p $(@D)
	$(STATIC_CC) $(STD) $(WARN) $(DEFS) -O2 -Isrc -c -o $@ $<

build/test/luascripts.o: $(LUA_C) src/luascripts.h | $(ALL_DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Isrc -c -o $@ $<

# The test binary: sanitizers on, warnings are errors.
build/test/kosyncd: $(TEST_OBJ)
	$(CC) $(TEST_LDFLAGS) -o $@ $(TEST_OBJ) $(LIBS_SHARED)

# Unit tests link every module except main.c; a test may also #include the
# .c under test to reach its static functions (then it must not link it twice:
# such a test names the module in a line "UNIT_INCLUDES: src/x.c").
# tests/README says how to add one.
build/test/unit/%: tests/unit/%.c build/test/unit/%.d $(TEST_LIBOBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -MF $@.d -MT $@ -Isrc -o $@ $< \
		$(filter-out $(patsubst src/%.c,build/test/%.o,$(shell sed -n 's/.*UNIT_INCLUDES: *//p' $<)),$(TEST_LIBOBJ)) \
		$(TEST_LDFLAGS) $(LIBS_SHARED) -lcmocka

run: kosyncd
	./kosyncd --data-dir ./data

test: $(ALL_DEPS_STAMP) build/test/kosyncd $(UNIT_BIN) build/bench/floor
	@tests/run-tests -j $(TEST_JOBS)

unit: $(UNIT_BIN)
	@tests/run-tests unit

e2e: build/test/kosyncd
	@tests/run-tests -j $(TEST_JOBS) e2e

lint: $(ALL_DEPS_STAMP)
	@scripts/lint

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h \
		$(wildcard fuzz/*.c) bench/floor.c

check-format:
	@clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c \
		tests/unit/*.h $(wildcard fuzz/*.c) bench/floor.c

# hdr-check: each header compiles alone, and the includes follow the
# layers of src/LAYERS (scripts/check-layers: no include from a lower layer
# to a higher one, no cycle).
hdr-check:
	@for h in $(HDR); do \
		echo "#include \"$$h\"" | $(CC) $(STD) $(WARN) -Werror -x c \
			-fsyntax-only - || exit 1; \
	done
	@scripts/check-layers

bench: $(ALL_DEPS_STAMP) kosyncd build/bench/floor
	@bench/bench $(if $(QUICK),--quick) $(if $(BACKEND),--backend $(BACKEND))

# The floor the benchmark sets kosyncd's figures against (bench/floor.c).
build/bench/floor: bench/floor.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ bench/floor.c \
		-Wl,-Bstatic -luv_a -Wl,-Bdynamic -lpthread -ldl -lrt -lm

fuzz: $(ALL_DEPS_STAMP)
	@fuzz/run $(FUZZ_SECONDS)

# make install: the binary, the man page, the documentation and the systemd
# unit (its ExecStart names $(PREFIX)/bin/kosyncd). INSTALL_BIN picks another
# build of the binary (the tests install build/test/kosyncd).
INSTALL_BIN ?= kosyncd
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
DOCS_INSTALLED = $(wildcard docs/*.md)
install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/doc/kosyncd $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/kosyncd
	install -m 0644 docs/kosyncd.8 $(DESTDIR)$(PREFIX)/share/man/man8/kosyncd.8
	install -m 0644 $(DOCS_INSTALLED) $(DESTDIR)$(PREFIX)/share/doc/kosyncd/
	sed 's|/usr/local/bin/kosyncd|$(PREFIX)/bin/kosyncd|g' \
		contrib/kosyncd.service >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/kosyncd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/kosyncd.service

# make deb [ARCH=...]: the Debian package of the static binary of ARCH
# (make static ARCH=...: the host's is ./kosyncd-static, the others
# build/ARCH/kosyncd; DEB_BIN picks another), by packaging/deb/build.
# make test-deb: tests/pkg/deb-test on it (root, debootstrap; minutes).
DEB_ARCH = $(ARCH)
DEB_BIN ?= $(call static_bin,$(DEB_ARCH))
deb:
	$(MAKE) static ARCH=$(DEB_ARCH)
	packaging/deb/build --arch $(DEB_ARCH) --bin $(DEB_BIN) --version $(VERSION)

test-deb: deb
	tests/pkg/deb-test --arch $(DEB_ARCH) --bin $(DEB_BIN)

# make image-context: build/image/, what the Dockerfile copies: the static
# binaries built so far (amd64 always), by packaging/image/stage.
IMAGE_ARCHES = amd64 arm64 armhf armel
image-context: kosyncd-static
	packaging/image/stage $(foreach a,$(IMAGE_ARCHES),$(a)=$(call static_bin,$(a)))

# make test-image: tests/pkg/image-test (root, buildah; seconds).
test-image: image-context
	tests/pkg/image-test

clean:
	rm -rf build dist kosyncd kosyncd-static

# The header dependencies the compiler wrote (DEPFLAGS). An object without
# its .d (a first build, or one made before) is rebuilt: each .d is named
# here as a target of no rule, so a missing one counts as changed.
DEPFILES := $(SRC:src/%.c=build/rel/%.d) $(SRC:src/%.c=$(STATIC_DIR)/%.d) \
	$(SRC:src/%.c=build/test/%.d) $(UNIT_BIN:%=%.d)
$(DEPFILES):
-include $(wildcard $(DEPFILES))
