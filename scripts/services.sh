#!/usr/bin/env bash
# PostgreSQL and nats-server (JetStream) on 127.0.0.1 for trying a scale-out deployment by hand (docs/scale-out.md).
# The automated tests do not need this: tests/Self.Network.Distributed.Tests starts and stops its own servers.
#
#   scripts/services.sh start    install the Debian packages when missing, start both servers, print the settings
#   scripts/services.sh stop     stop both servers (their data stays in the data folder)
#   scripts/services.sh status   say what is running
#   scripts/services.sh env      print the settings as shell exports
#
# Environment: SELF_SERVICES_DIR (default ./.self-services), PG_PORT (55432), NATS_PORT (54222).
# PostgreSQL refuses to run as root: as root its server runs as the 'postgres' user the Debian package creates.
set -euo pipefail

DIR="$(realpath -m "${SELF_SERVICES_DIR:-./.self-services}")"
PG_PORT="${PG_PORT:-55432}"
NATS_PORT="${NATS_PORT:-54222}"
PG_DATA="$DIR/postgres"
NATS_DIR="$DIR/nats"
PACKAGES=(postgresql nats-server)

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "PostgreSQL binaries not found under /usr/lib/postgresql (Debian package 'postgresql')" >&2
    exit 1
  fi
  echo "$bin"
}

install_packages() {
  local need=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${need[*]} — run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  # The packages start system-wide services on the default ports; this script runs its own on other ports.
}

pg_running() { [ -f "$PG_DATA/postmaster.pid" ] && as_postgres "$(pg_bin)/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
nats_running() { [ -f "$NATS_DIR/nats.pid" ] && kill -0 "$(cat "$NATS_DIR/nats.pid")" 2>/dev/null; }

start_postgres() {
  local bin
  bin="$(pg_bin)"
  if pg_running; then echo "postgres already running on 127.0.0.1:$PG_PORT"; return; fi
  mkdir -p "$DIR"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
    chmod 700 "$PG_DATA"
    as_postgres "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
  fi
  as_postgres "$bin/pg_ctl" start -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DATA" >/dev/null
  echo "postgres listening on 127.0.0.1:$PG_PORT (data $PG_DATA)"
}

start_nats() {
  if nats_running; then echo "nats-server already running on 127.0.0.1:$NATS_PORT"; return; fi
  mkdir -p "$NATS_DIR"
  # max_payload: the relay accepts frames of up to 1 MiB, and the default limit (1 MB) leaves no room for headers.
  cat >"$NATS_DIR/nats.conf" <<EOF
listen: "127.0.0.1:$NATS_PORT"
max_payload: 2MB
pid_file: "$NATS_DIR/nats.pid"
log_file: "$NATS_DIR/nats.log"
jetstream {
  store_dir: "$NATS_DIR/jetstream"
}
EOF
  nohup nats-server -c "$NATS_DIR/nats.conf" >/dev/null 2>&1 &
  for _ in $(seq 1 100); do
    nats_running && (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  nats_running || { echo "nats-server did not start; see $NATS_DIR/nats.log" >&2; exit 1; }
  echo "nats-server listening on 127.0.0.1:$NATS_PORT (JetStream in $NATS_DIR/jetstream)"
}

print_env() {
  echo "export SELF_POSTGRES='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres'"
  echo "export SELF_NATS_URL='nats://127.0.0.1:$NATS_PORT'"
  echo "# the distributed tests can use these instead of starting their own servers:"
  echo "export SELF_TEST_POSTGRES=\"\$SELF_POSTGRES\" SELF_TEST_NATS_URL=\"\$SELF_NATS_URL\""
}

case "${1:-}" in
  start)
    install_packages
    start_postgres
    start_nats
    print_env
    ;;
  stop)
    if pg_running; then as_postgres "$(pg_bin)/pg_ctl" stop -D "$PG_DATA" -m fast >/dev/null && echo "postgres stopped"; fi
    if nats_running; then
      pid="$(cat "$NATS_DIR/nats.pid")"
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "nats-server stopped"
    fi
    ;;
  status)
    if pg_running; then echo "postgres: running on 127.0.0.1:$PG_PORT"; else echo "postgres: stopped"; fi
    if nats_running; then echo "nats-server: running on 127.0.0.1:$NATS_PORT"; else echo "nats-server: stopped"; fi
    ;;
  env)
    print_env
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
