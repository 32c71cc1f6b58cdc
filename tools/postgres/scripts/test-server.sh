#!/usr/bin/env bash
# A throwaway PostgreSQL server for StateJournalPostgres's tests and benchmarks.
#
#   eval "$(tools/postgres/scripts/test-server.sh start)"   # starts it; exports STATEJOURNAL_POSTGRES_URL and STATEJOURNAL_POSTGRES_DATA
#   tools/postgres/scripts/test-server.sh crash-restart     # stops it in immediate mode (a crash) and starts it again
#   tools/postgres/scripts/test-server.sh stop              # stops the server of $STATEJOURNAL_POSTGRES_DATA (immediate mode)
#
# The data directory is a new temporary one; the server listens on 127.0.0.1 on a free port,
# trusts local connections and runs as the `postgres` user when started by root (initdb refuses
# root). Needs Debian's `postgresql` package.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "test-server.sh: PostgreSQL is not installed (apt-get install -y postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

case "${1:-start}" in
start)
    data=$(mktemp -d /tmp/statejournal-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$data" -U statejournal --auth=trust -E UTF8 --no-locale >"$data.initdb.log" 2>&1 \
        || { cat "$data.initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-h 127.0.0.1 -p $port -k $data -c max_connections=200 -c shared_buffers=256MB -c fsync=on" start >/dev/null
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U statejournal statejournal
    echo "export STATEJOURNAL_POSTGRES_URL=postgres://statejournal@127.0.0.1:$port/statejournal"
    echo "export STATEJOURNAL_POSTGRES_DATA=$data"
    echo "export STATEJOURNAL_POSTGRES_BIN=$bin"
    ;;
crash-restart)
    # A crash of the server: immediate stop (no checkpoint, no flush of what is not durable),
    # then a start on the same port, which recovers from the WAL.
    data=${STATEJOURNAL_POSTGRES_DATA:?set STATEJOURNAL_POSTGRES_DATA (from start)}
    port=${STATEJOURNAL_POSTGRES_URL##*:}
    port=${port%%/*}
    as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-h 127.0.0.1 -p $port -k $data -c max_connections=200 -c shared_buffers=256MB -c fsync=on" start >/dev/null
    ;;
stop)
    data=${STATEJOURNAL_POSTGRES_DATA:?set STATEJOURNAL_POSTGRES_DATA (from start)}
    as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null || true
    rm -rf "$data" "$data.initdb.log"
    ;;
*)
    echo "usage: test-server.sh start|crash-restart|stop" >&2
    exit 2
    ;;
esac
