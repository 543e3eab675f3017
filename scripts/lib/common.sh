# Shared by scripts/test, scripts/demo and bench/: Debian packages and the build.
# shellcheck shell=bash

DBKEEPER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$DBKEEPER_ROOT/build}"

BUILD_PACKAGES=(
  cmake ninja-build g++ pkg-config git
  prometheus-cpp-dev libcivetweb-dev default-libmysqlclient-dev libpq-dev libzstd-dev
  libboost-program-options-dev libtomlplusplus-dev libspdlog-dev libgtest-dev libssl-dev
  libsystemd-dev nlohmann-json3-dev zlib1g-dev
)
# Real components the tests and the demo run.
RUNTIME_PACKAGES=(
  mariadb-server mariadb-client mariadb-backup postgresql postgresql-client
  prometheus prometheus-alertmanager util-linux curl tzdata systemd dpkg-dev
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
