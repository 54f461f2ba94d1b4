# safessh: build, test, install.  GNU make.
#
#   make              build ./build/safessh
#   make check        unit tests (cmocka) and regress tests (real sshd)
#   make check-asan   the same under AddressSanitizer + UBSan
#   make valgrind     the unit tests under valgrind
#   make bench        benchmarks (hyperfine); prints ratio tables
#   make demo         the demo against a throwaway local sshd
#   make install      PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(SHAREDIR)/bash-completion/completions
ZSHCOMPDIR ?= $(SHAREDIR)/zsh/site-functions
FISHCOMPDIR ?= $(SHAREDIR)/fish/vendor_completions.d
FISHCONFDIR ?= $(SHAREDIR)/fish/vendor_conf.d
EXAMPLEDIR ?= $(SHAREDIR)/doc/safessh/examples

O	?= build
CC	?= cc
PKG_CONFIG ?= pkg-config
INSTALL	?= install

CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wwrite-strings -Wno-unused-parameter
STD	= -std=c11 -D_GNU_SOURCE

# pkg-config name:Debian package
DEPS	= libbsd-overlay:libbsd-dev inih:libinih-dev hiredis:libhiredis-dev
TESTDEPS = cmocka:libcmocka-dev

define need
$(if $(shell $(PKG_CONFIG) --exists $(word 1,$(subst :, ,$(1))) && echo y),,\
$(error missing $(word 1,$(subst :, ,$(1))): install the Debian package \
$(word 2,$(subst :, ,$(1))) (apt-get install $(word 2,$(subst :, ,$(1))))))
endef

ifeq ($(filter clean uninstall,$(MAKECMDGOALS)),)
$(foreach d,$(DEPS),$(call need,$(d)))
endif

LIBS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbsd-overlay inih hiredis 2>/dev/null)
LIBS_LDLIBS := $(shell $(PKG_CONFIG) --libs libbsd-overlay inih hiredis 2>/dev/null)

ALL_CFLAGS = $(STD) $(WARN) -Ilib $(LIBS_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)

LIBSRC	= $(sort $(wildcard lib/*.c))
LIBOBJ	= $(LIBSRC:%.c=$(O)/%.o)
LIBA	= $(O)/libsafessh.a

UNITSRC	= $(sort $(wildcard tests/unit/test_*.c))
UNITBIN	= $(UNITSRC:%.c=$(O)/%)

PROG	= $(O)/safessh

all: $(PROG)

$(O)/%.o: %.c lib/safessh.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

$(PROG): $(O)/safessh.o $(LIBA)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(O)/safessh.o $(LIBA) \
	    $(LIBS_LDLIBS)

# Unit tests: each tests/unit/test_X.c is one cmocka program.
$(O)/tests/unit/%: tests/unit/%.c tests/unit/fixture.h $(LIBA)
	$(foreach d,$(TESTDEPS),$(call need,$(d)))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) \
	    $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS_LDLIBS) \
	    $(shell $(PKG_CONFIG) --libs cmocka)

units: $(UNITBIN)

# Helper programs the regress tests drive (tests/regress/*.c).
HELPSRC	= $(sort $(wildcard tests/regress/*.c))
HELPBIN	= $(HELPSRC:%.c=$(O)/%)
$(O)/tests/regress/%: tests/regress/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS_LDLIBS)

check: all units $(HELPBIN)
	O=$(O) sh tests/run-unit.sh $(UNITBIN)
	O=$(O) bash tests/regress/run.sh

check-unit: units
	O=$(O) sh tests/run-unit.sh $(UNITBIN)

check-asan:
	$(MAKE) O=build-asan EXTRA_CFLAGS="-O1 -g -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" check

valgrind: units
	O=$(O) VALGRIND=1 sh tests/run-unit.sh $(UNITBIN)

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang into
# build-fuzz with the library under ASan+UBSan.  "make fuzz-run
# FUZZTIME=N" runs each for N seconds on its seed corpus (read-only,
# tests/fuzz/corpus/NAME) plus a scratch corpus in build-fuzz; crashes
# land in build-fuzz/crashes/.
FUZZCC	?= clang
FUZZTIME ?= 20
FUZZSAN	= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZSRC	= $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZBIN	= $(FUZZSRC:%.c=$(O)/%)

fuzz:
	$(MAKE) O=build-fuzz CC=$(FUZZCC) EXTRA_CFLAGS="-O1 -g $(FUZZSAN) \
	    -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" fuzz-bins

fuzz-bins: $(FUZZBIN)

$(O)/tests/fuzz/%: tests/fuzz/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(ALL_LDFLAGS) -o $@ $< \
	    $(LIBA) $(LIBS_LDLIBS)

fuzz-run: fuzz
	FUZZTIME=$(FUZZTIME) sh tests/fuzz/run.sh $(FUZZSRC:tests/fuzz/%.c=%)

bench: all $(HELPBIN)
	O=$(O) bash bench/run.sh

demo: all
	O=$(O) bash tests/demo.sh

lint:
	mandoc -Tlint -Wwarning man/safessh.1 man/safessh.conf.5

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
	    $(DESTDIR)$(FISHCONFDIR) $(DESTDIR)$(EXAMPLEDIR)
	$(INSTALL) -m 0755 $(PROG) $(DESTDIR)$(BINDIR)/safessh
	$(INSTALL) -m 0644 man/safessh.1 $(DESTDIR)$(MANDIR)/man1/safessh.1
	$(INSTALL) -m 0644 man/safessh.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/safessh.conf.5
	# bash: also under the names of ssh, scp and sftp, ahead of the
	# system's, so that "ssh <TAB>" follows safessh when ssh is safessh
	# (it hands over to the system's ssh completion otherwise).
	for c in safessh ssh scp sftp; do \
		$(INSTALL) -m 0644 completions/safessh.bash \
		    $(DESTDIR)$(BASHCOMPDIR)/$$c || exit 1; \
	done
	$(INSTALL) -m 0644 completions/_safessh $(DESTDIR)$(ZSHCOMPDIR)/_safessh
	$(INSTALL) -m 0644 completions/safessh.fish \
	    $(DESTDIR)$(FISHCOMPDIR)/safessh.fish
	$(INSTALL) -m 0644 completions/safessh-ssh.fish \
	    $(DESTDIR)$(FISHCONFDIR)/safessh.fish
	$(INSTALL) -m 0644 conf/safessh.conf \
	    $(DESTDIR)$(EXAMPLEDIR)/safessh.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/safessh \
	    $(DESTDIR)$(MANDIR)/man1/safessh.1 \
	    $(DESTDIR)$(MANDIR)/man5/safessh.conf.5 \
	    $(DESTDIR)$(BASHCOMPDIR)/safessh $(DESTDIR)$(BASHCOMPDIR)/ssh \
	    $(DESTDIR)$(BASHCOMPDIR)/scp $(DESTDIR)$(BASHCOMPDIR)/sftp \
	    $(DESTDIR)$(ZSHCOMPDIR)/_safessh \
	    $(DESTDIR)$(FISHCOMPDIR)/safessh.fish \
	    $(DESTDIR)$(FISHCONFDIR)/safessh.fish \
	    $(DESTDIR)$(EXAMPLEDIR)/safessh.conf
	-rmdir $(DESTDIR)$(EXAMPLEDIR) 2>/dev/null

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all units check check-unit check-asan valgrind bench demo lint \
	fuzz fuzz-bins fuzz-run \
	install uninstall clean
