# Throwaway MariaDB and PostgreSQL servers in a state directory, for the demo
# and the benchmarks. Loopback ports and unix sockets only.
# shellcheck shell=bash

# Prints a free loopback TCP port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-60000 -n 1
}

# start_mariadb DIR PORT: data in DIR/data, socket DIR/mysqld.sock.
start_mariadb() {
  local dir=$1 port=$2 user_option=()
  [ "$(id -u)" -eq 0 ] && user_option=(--user=root)
  mkdir -p "$dir"
  mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve "${user_option[@]}" >"$dir/install.log" 2>&1
  /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
    --log-bin="$dir/binlog" --server-id=1 --skip-name-resolve --innodb-buffer-pool-size=128M \
    --binlog-format=ROW --log-bin-trust-function-creators=1 \
    "${user_option[@]}" >/dev/null 2>&1 &
  echo $! >"$dir/server.pid"
  local i
  for i in $(seq 1 120); do
    mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "MariaDB did not start; see $dir/error.log" >&2
  return 1
}

# mariadb_sql DIR SQL...: runs statements as root through the socket.
mariadb_sql() {
  local dir=$1
  shift
  mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot "$@"
}

# start_postgres DIR PORT: cluster in DIR/data, socket directory DIR.
start_postgres() {
  local dir=$1 port=$2 bin run_as=()
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    # setpriv execs in place, so the pid we keep is postgres itself.
    run_as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1
  "${run_as[@]}" "$bin/postgres" -D "$dir/data" -k "$dir" -p "$port" -c listen_addresses=127.0.0.1 \
    -c wal_level=replica -c shared_preload_libraries=pg_stat_statements >"$dir/postgres.log" 2>&1 &
  echo $! >"$dir/server.pid"
  local i
  for i in $(seq 1 120); do
    "$bin/pg_isready" -q -h "$dir" -p "$port" && return 0
    sleep 0.5
  done
  echo "PostgreSQL did not start; see $dir/postgres.log" >&2
  return 1
}

# postgres_sql DIR PORT DATABASE SQL...
postgres_sql() {
  local dir=$1 port=$2 database=$3
  shift 3
  psql --no-psqlrc -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d "$database" "$@"
}

# stop_server DIR SIGNAL: stops the server whose pid is in DIR/server.pid.
stop_server() {
  local dir=$1 signal=${2:-TERM} pid i
  [ -f "$dir/server.pid" ] || return 0
  pid=$(cat "$dir/server.pid")
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
}
