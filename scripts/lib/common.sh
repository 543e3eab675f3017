# Shared by scripts/test, scripts/demo and bench/: Debian packages and the build.
# shellcheck shell=bash

DBKEEPER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$DBKEEPER_ROOT/build}"

BUILD_PACKAGES=(
  cmake ninja-build g++ pkg-config git
  prometheus-cpp-dev libcivetweb-dev default-libmysqlclient-dev libpq-dev libzstd-dev
  libboost-program-options-dev libtomlplusplus-dev libspdlog-dev libgtest-dev libssl-dev
  libsystemd-dev nlohmann-json3-dev zlib1g-dev libcurl4-openssl-dev
  clang libclang-rt-14-dev
)
# Real components the tests and the demo run.
RUNTIME_PACKAGES=(
  mariadb-server mariadb-client mariadb-backup postgresql postgresql-client
  prometheus prometheus-alertmanager util-linux curl tzdata systemd dpkg-dev
  ceph-mon ceph-osd radosgw ceph-common openssl
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the packages that are missing; does nothing when all are there.
install_packages() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Keep the distribution's service start-up out of it: the tests start
  # their own servers, and there may be no init system to start them anyway.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_dbkeeper() {
  log "building in $BUILD_DIR"
  cmake -S "$DBKEEPER_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

# The libFuzzer targets (tests/fuzz), in a build of their own with clang,
# ASan and UBSan.
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-$DBKEEPER_ROOT/build-fuzz}"
FUZZERS=(manifest log_record state config)

build_fuzzers() {
  log "building the fuzzers in $FUZZ_BUILD_DIR (clang, ASan, UBSan)"
  cmake -S "$DBKEEPER_ROOT" -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DDBKEEPER_FUZZ=ON -DDBKEEPER_BUILD_TESTS=OFF >/dev/null
  local targets=() fuzzer
  for fuzzer in "${FUZZERS[@]}"; do targets+=("${fuzzer}_fuzzer"); done
  cmake --build "$FUZZ_BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"
}

# run_fuzzers SECONDS: each fuzzer for SECONDS over a copy of its corpus;
# a crash, leak, hang or sanitizer report fails.
run_fuzzers() {
  local seconds=$1 fuzzer work
  for fuzzer in "${FUZZERS[@]}"; do
    work="$FUZZ_BUILD_DIR/corpus/$fuzzer"
    mkdir -p "$work"
    cp -n "$DBKEEPER_ROOT/tests/fuzz/corpus/$fuzzer/"* "$work/" 2>/dev/null || true
    log "fuzzing $fuzzer for ${seconds}s"
    if ! "$FUZZ_BUILD_DIR/tests/fuzz/${fuzzer}_fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -max_len=65536 -timeout=10 -artifact_prefix="$FUZZ_BUILD_DIR/" "$work" >"$FUZZ_BUILD_DIR/$fuzzer.log" 2>&1; then
      tail -40 "$FUZZ_BUILD_DIR/$fuzzer.log"
      echo "fuzzer $fuzzer found a problem (reproducer in $FUZZ_BUILD_DIR/)" >&2
      return 1
    fi
    tail -1 "$FUZZ_BUILD_DIR/$fuzzer.log"
  done
}
