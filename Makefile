# osiris: one non-recursive GNU make file, out-of-tree build directory.
#
#   make              build build/osiris
#   make test         bootstrap, format check, build, every test tier, then again under ASan+UBSan
#   make demo         run the demo pipeline
#   make checksrc     clang-format check
#   make fmt          reformat the sources in place
#   make sanitize     build and test in build/asan with AddressSanitizer and UBSan
#
# Variables: BUILD (build dir), DUCKDB_DIR (libduckdb.so + duckdb.h), SAN=1 (sanitizers),
# NO_BOOTSTRAP=1 (skip scripts/bootstrap.sh in test/demo).

BUILD      ?= build
DUCKDB_DIR ?= third_party/duckdb
VERSION    := $(shell cat VERSION)
PKGS       := yaml-0.1 jansson libcrypto libmariadb libpq libcurl libpcre2-8

CC         ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARNINGS   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
              -Wwrite-strings -fno-common
CFLAGS     ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) -Isrc -Isrc/core -I$(BUILD)/gen \
              -isystem $(DUCKDB_DIR) $(PKG_CFLAGS) -DOSIRIS_VERSION='"$(VERSION)"' -MMD -MP
LIBS       := $(PKG_LIBS) -L$(DUCKDB_DIR) -lduckdb -lm

# The binary finds libduckdb.so next to itself (build/) or in ../lib/osiris (installed).
RPATH_BIN  := -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/../lib/osiris'
RPATH_TEST := -Wl,-rpath,'$$ORIGIN/..'

LIB_SRC    := $(sort $(wildcard src/core/*.c src/engine/*.c src/drivers/*.c src/remote/*.c \
                             src/report/*.c src/cli/*.c))
EMBED_IN   := $(sort components/spec.schema.json $(wildcard components/*/spec.yaml) \
                     $(wildcard src/core/*.schema.json) $(wildcard src/cli/templates/*) \
                     $(wildcard src/report/assets/*))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/embedded_data.o
UNIT_SRC   := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FMT_FILES  := $(sort $(wildcard src/*.c src/*/*.c src/*/*.h tests/*/*.c tests/*/*.h tools/*.c \
                bench/*.c))

.PHONY: all test test-tiers sanitize demo checksrc fmt bootstrap clean deps-check
.DELETE_ON_ERROR:
.SECONDARY:

# Short progress lines; V=1 shows the full commands.
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

all: deps-check $(BUILD)/osiris

deps-check:
	@pkg-config --exists $(PKGS) || { echo "missing build packages: run scripts/bootstrap.sh" >&2; exit 1; }

$(DUCKDB_DIR)/libduckdb.so $(DUCKDB_DIR)/duckdb.h:
	DUCKDB_DIR=$(if $(filter third_party/duckdb,$(DUCKDB_DIR)),,$(DUCKDB_DIR)) scripts/bootstrap.sh --duckdb

$(BUILD)/libduckdb.so: $(DUCKDB_DIR)/libduckdb.so
	@mkdir -p $(@D)
	$(Q)ln -f $< $@ 2>/dev/null || cp $< $@

$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) -std=c17 -O1 $(WARNINGS) -o $@ $<

# Validates JSON files against a schema with our validator (tests check AIOP with it).
$(BUILD)/tools/schema-check: $(BUILD)/obj/tools/schema-check.o $(BUILD)/libosiris.a $(BUILD)/libduckdb.so
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(RPATH_TEST) -o $@ $< $(BUILD)/libosiris.a $(LIBS)

$(BUILD)/gen/embedded_data.c: $(BUILD)/tools/embed $(EMBED_IN)
	@mkdir -p $(@D)
	$(call say,EMBED,$@)$(BUILD)/tools/embed $@ $(EMBED_IN)

$(BUILD)/obj/gen/embedded_data.o: $(BUILD)/gen/embedded_data.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(DUCKDB_DIR)/duckdb.h
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libosiris.a: $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(BUILD)/osiris: $(BUILD)/obj/src/main.o $(BUILD)/libosiris.a $(BUILD)/libduckdb.so
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(RPATH_BIN) -o $@ $(BUILD)/obj/src/main.o $(BUILD)/libosiris.a $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libosiris.a $(BUILD)/libduckdb.so
	@mkdir -p $(@D)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(RPATH_TEST) -o $@ $< $(BUILD)/libosiris.a $(LIBS)

# ---- tests ----

bootstrap:
	@if [ "$(NO_BOOTSTRAP)" != 1 ]; then scripts/bootstrap.sh; fi

# Runs every tier under prove with the binary of $(BUILD), with test database servers
# (tests/servers.sh starts them unless a calling make already did).
test-tiers: all $(UNIT_BIN) $(BUILD)/tools/schema-check
	$(Q)OSIRIS_BIN=$(abspath $(BUILD)/osiris) OSIRIS_BUILD=$(abspath $(BUILD)) tests/servers.sh run \
	    prove --exec '' $(PROVE_FLAGS) $(UNIT_BIN) tests/run-cases.sh $(sort $(wildcard tests/t/t*.sh))

sanitize:
	$(Q)ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MAKE) --no-print-directory BUILD=build/asan SAN=1 test-tiers

# One pair of servers for both passes; a server that does not start fails the suite.
test: bootstrap
	$(Q)$(MAKE) --no-print-directory checksrc
	$(Q)REQUIRE_SERVERS=1 tests/servers.sh run \
	    sh -c '$(MAKE) --no-print-directory test-tiers && $(MAKE) --no-print-directory sanitize'

# The demo runs in a copy of examples/movies under $(BUILD)/demo, so the repository stays clean.
demo: bootstrap all
	@rm -rf $(BUILD)/demo && mkdir -p $(BUILD)/demo && cp -R examples/movies/. $(BUILD)/demo/
	@cd $(BUILD)/demo && ../osiris init >/dev/null && ../osiris run pipelines/movies.yaml && \
	    ../osiris logs html --out report >/dev/null
	@echo
	@echo "outputs:    $(BUILD)/demo/output/director_stats.csv, director_stats.parquet"
	@echo "run record: $(BUILD)/demo/run_logs/ (osiris logs last, run from $(BUILD)/demo)"
	@echo "AI summary: $(BUILD)/demo/aiop/ (osiris logs aiop show --last --card)"
	@echo "report:     $(BUILD)/demo/report/index.html (open it in a browser)"
	@head -6 $(BUILD)/demo/output/director_stats.csv

checksrc:
	@clang-format --dry-run -Werror $(FMT_FILES)
	@echo "checksrc: $(words $(FMT_FILES)) files formatted"

fmt:
	clang-format -i $(FMT_FILES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
