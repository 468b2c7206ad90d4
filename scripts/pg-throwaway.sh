#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks (CI uses it; so can you).
#   scripts/pg-throwaway.sh start DIR   initdb into DIR, start it on a unix socket in DIR/sock,
#                                       print the DATABASE_URL (superuser portal) on stdout
#   scripts/pg-throwaway.sh url DIR [ROLE]  the URL for ROLE: portal (superuser, the default),
#                                       portal_owner (owns the tables: DATABASE_OWNER_URL) or
#                                       portal_app (owns nothing: DATABASE_URL, as in production)
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
  printf 'postgres://%s@%s/postgres\n' "${1:-portal}" "$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$sock")"
}
# The two roles of the production setup (README "Running in production"): the owner may create
# the test database; the runtime role gets its grants from migrate.
create_roles() {
  as_pg "$PGBIN/psql" -q -h "$sock" -U portal -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE portal_owner LOGIN CREATEDB" \
    -c "CREATE ROLE portal_app LOGIN" >/dev/null
}

case "$cmd" in
  start)
    mkdir -p "$sock"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
    as_pg "$PGBIN/initdb" -D "$data" -U portal --auth=trust -E UTF8 >/dev/null
    start_server
    create_roles
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
  url) url "${3:-portal}" ;;
  *) echo "usage: $0 start|stop|restart DIR | url DIR [ROLE]" >&2; exit 2 ;;
esac
