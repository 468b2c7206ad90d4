#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks (CI uses it; so can you).
#   scripts/pg-throwaway.sh start DIR   initdb into DIR, start it on a unix socket in DIR/sock,
#                                       print the DATABASE_URL on stdout
#   scripts/pg-throwaway.sh stop DIR    stop it and delete DIR
#   scripts/pg-throwaway.sh restart DIR stop and start again, keeping the data
# initdb refuses to run as root, so as root the server runs as the postgres system user.
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?start, stop or restart}
dir=${2:?directory}
data="$dir/data"
sock="$dir/sock"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
start_server() {
  as_pg "$PGBIN/pg_ctl" -D "$data" -w -t 60 -l "$dir/server.log" \
    -o "-k $sock -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
}
url() {
  printf 'postgres://portal@%s/postgres\n' "$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$sock")"
}

case "$cmd" in
  start)
    mkdir -p "$sock"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
    as_pg "$PGBIN/initdb" -D "$data" -U portal --auth=trust -E UTF8 >/dev/null
    start_server
    url
    ;;
  restart)
    as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    start_server
    ;;
  stop)
    as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  url) url ;;
  *) echo "usage: $0 start|stop|restart|url DIR" >&2; exit 2 ;;
esac
