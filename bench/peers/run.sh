#!/usr/bin/env bash
# rill next to Redis Streams and PostgreSQL, in one command: starts a private
# Redis and PostgreSQL on 127.0.0.1 (temp dirs, free ports), runs each
# `rill load` row against a fresh rill-core (temp data dir, ipc), the rebuild
# benchmark, and peer-load against both peers; prints one table (rill, peer,
# ratio, target, met?). Stops every server it started (by pid) and removes
# its temp dirs on exit, Ctrl-C included.
#
#   bench/peers/run.sh [--quick] [--unix] [--out DIR] [BIN_DIR]   (default build/bin)
#
#   --quick    2 s per throughput row, 3 s of latency, 200k events to read
#              back (< 2 min); default 5 s, 10 s, 1M events (< 10 min)
#   --unix     peer-load reaches Redis and PostgreSQL over unix sockets (as
#              rill's clients use ipc) instead of TCP on 127.0.0.1
#   --out DIR  keep every raw JSON result (all percentiles) in DIR
#
# Needs bench/peers/setup.sh (Redis, PostgreSQL, hiredis, libpq) and a build
# with peer-load (BIN_DIR/peer-load, built when hiredis and libpq are found).
# Run as root (PostgreSQL runs as the postgres user) or as a user who can
# run initdb/pg_ctl itself.
set -euo pipefail
QUICK=0
UNIX=0
OUT=""
BIN=build/bin
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --unix) UNIX=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) BIN=$1 ;;
  esac
  shift
done
if ((QUICK)); then SECS=2; LAT_SECS=3; EVENTS=200000; else SECS=5; LAT_SECS=10; EVENTS=1000000; fi
BATCH=64
RATE=20000
PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)  # the newest installed
for b in rill-core rill bench_projection peer-load; do
  [[ -x $BIN/$b ]] || { echo "run.sh: no $BIN/$b (build it; peer-load needs bench/peers/setup.sh)" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "run.sh: no redis-server (bench/peers/setup.sh)" >&2; exit 2; }
[[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] || { echo "run.sh: no PostgreSQL (bench/peers/setup.sh)" >&2; exit 2; }
BIN=$(cd "$BIN" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rill-peers-XXXXXX")
chmod 755 "$WORK"
CORE_PID="" PROJ_PID="" REDIS_PID="" PG_DATA="" PG_PID=""
as_pg() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pid() {  # pid: TERM, wait up to 10 s, then KILL
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  if [[ -n $PROJ_PID ]]; then stop_pid "$PROJ_PID"; wait "$PROJ_PID" 2>/dev/null || true; fi
  if [[ -n $CORE_PID ]]; then stop_pid "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true; fi
  if [[ -n $REDIS_PID ]]; then stop_pid "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; fi
  if [[ -n $PG_DATA ]]; then
    as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 20 stop >/dev/null 2>&1 || true
    [[ -n $PG_PID ]] && stop_pid "$PG_PID"
  fi
  CORE_PID="" PROJ_PID="" REDIS_PID="" PG_DATA=""
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

START_UPTIME=$(uptime)
COMMIT=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo "?")
git -C "$(dirname "$0")" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (+ uncommitted changes in the tree)"

# ---------------------------------------------------------------- servers
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
# No RDB snapshots (save ""): rill has no background snapshot of its journal either.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
  --unixsocket "$WORK/redis/redis.sock" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PG_PORT=$(free_port)
mkdir -p "$WORK/pg"
((EUID == 0)) && chown postgres: "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 --no-instructions \
  >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
PG_DATA=$WORK/pg/data
as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/log" -w -t 30 \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null ||
  { cat "$WORK/pg/log" >&2; exit 1; }
PG_PID=$(head -1 "$PG_DATA/postmaster.pid")
for _ in $(seq 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1
done
log "redis pid $REDIS_PID port $REDIS_PORT; postgres pid $PG_PID port $PG_PORT; work dir $WORK"

# ---------------------------------------------------------------- rill
start_core() {  # data dir, extra rill-core args...
  local d=$1; shift
  mkdir -p "$d"
  "$BIN/rill-core" --data "$d" "$@" >"$d.log" 2>&1 &
  CORE_PID=$!
  for _ in $(seq 100); do [[ -S $d/run/command ]] && return 0; sleep 0.1; done
  echo "run.sh: rill-core did not start (see $d.log)" >&2; cat "$d.log" >&2; exit 1
}
rill_row() {  # name, core args (one string), load args...
  local name=$1 core_args=$2; shift 2
  local d=$WORK/rill-$name
  log "rill $name: rill-core $core_args; rill load $*"
  # shellcheck disable=SC2086
  start_core "$d" $core_args
  if [[ -n ${PROJ:-} ]]; then  # a rill-proj hosting $PROJ next to rill-core
    "$BIN/rill-proj" --data "$d" --models "$PROJ" >"$d.proj.log" 2>&1 &
    PROJ_PID=$!
    for _ in $(seq 100); do [[ -S $d/run/model.$PROJ ]] && break; sleep 0.1; done
    sleep 0.5  # its first catch-up
  fi
  timeout 300 "$BIN/rill" load --data "$d" --json "$@" >"$WORK/rill-$name.json" 2>"$WORK/rill-$name.err" || true
  if [[ -n $PROJ_PID ]]; then stop_pid "$PROJ_PID"; wait "$PROJ_PID" 2>/dev/null || true; PROJ_PID=""; fi
  stop_pid "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true; CORE_PID=""
  rm -rf "$d" "$d.proj.log"
}
rill_row one       ""             --window 1 --duration "$SECS"
rill_row pipelined ""             --window 1000 --duration "$SECS"
rill_row batched   ""             --batch "$BATCH" --window 16 --duration "$SECS"
rill_row durable   "--sync batch" --window 1000 --duration "$SECS"
rill_row latency   ""             --rate "$RATE" --window 1000 --visible --duration "$LAT_SECS"
rill_row tailer    ""             --rate "$RATE" --window 1000 --visible-journal --duration "$LAT_SECS"
PROJ=customers rill_row readyourwrites "" --rate "$RATE" --window 1000 --mix create:50,update:50 \
  --after-model customers --duration "$LAT_SECS"
log "rill rebuild: bench_projection, $EVENTS events"
RILL_BENCH_EVENTS=$EVENTS TMPDIR=$WORK timeout 400 "$BIN/bench_projection" \
  --benchmark_filter='BM_read_journal|BM_rebuild_split/(customers|orders)|BM_rebuild_domain_model/(customers|orders)/depth:8|BM_rebuild_running_model/(customers|orders)' --benchmark_format=json \
  >"$WORK/rill-rebuild.json" 2>"$WORK/rill-rebuild.err" || true

# ---------------------------------------------------------------- peers
peer_row() {  # system, row, extra args...
  local sys=$1 row=$2; shift 2
  local port=$REDIS_PORT host=127.0.0.1
  [[ $sys == postgres ]] && port=$PG_PORT
  if ((UNIX)); then host=$WORK/redis/redis.sock; [[ $sys == postgres ]] && host=$WORK/pg; fi
  log "$sys $row"
  timeout 300 "$BIN/peer-load" --system "$sys" --host "$host" --port "$port" --row "$row" "$@" \
    >"$WORK/$sys-$row.json" 2>"$WORK/$sys-$row.err" || true
}
for sys in redis postgres; do
  peer_row "$sys" one --duration "$SECS"
  peer_row "$sys" pipelined --batch "$BATCH" --duration "$SECS"
  peer_row "$sys" latency --rate "$RATE" --duration "$LAT_SECS"
  peer_row "$sys" catchup --events "$EVENTS"
  peer_row "$sys" durable --batch "$BATCH" --duration "$SECS"
done
END_UPTIME=$(uptime)
if [[ -n $OUT ]]; then mkdir -p "$OUT"; cp "$WORK"/*.json "$OUT"/; fi

# ---------------------------------------------------------------- table
echo "rill vs peers: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, $(nproc) CPUs"
echo "load before: ${START_UPTIME#*load average: }; after: ${END_UPTIME#*load average: }"
echo "command: bench/peers/run.sh $( ((QUICK)) && echo '--quick ')$( ((UNIX)) && echo '--unix ')$BIN; peers over $( ((UNIX)) && echo 'unix sockets' || echo 'tcp 127.0.0.1'), rill over ipc"
python3 - "$WORK" "$BATCH" "$RATE" "$EVENTS" <<'PY'
import json, sys, os
work, batch, rate, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

why = {}  # name -> why it failed
def load(name):
    try:
        with open(os.path.join(work, name + ".json")) as f:
            j = json.load(f)
    except Exception:
        try:
            with open(os.path.join(work, name + ".err")) as f:
                why[name] = " ".join(f.read().split()[-30:]) or "no output"
        except Exception:
            why[name] = "no output"
        return None
    if j.get("fatal"):
        why[name] = j["fatal"]
        return None
    return j

def rate_txt(v):
    if v is None: return "failed"
    return f"{v / 1e6:.2f} M/s" if v >= 1e6 else f"{v / 1e3:.1f} k/s"

def us_txt(v):
    if v is None: return "failed"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} us"

def tput(j):
    return j["throughput"] if j and j.get("throughput") else None

def lat(j, key, q):
    if not j or key not in j or not j[key].get("count"): return None
    return j[key][q]

def rebuild():
    try:
        with open(os.path.join(work, "rill-rebuild.json")) as f:
            b = json.load(f)["benchmarks"]
    except Exception:
        return None, None, None, None
    def slower(prefix):
        v = [x["events/s"] for x in b if x["name"].startswith(prefix) and "events/s" in x]
        return min(v) if v else None
    scan = [x["events/s"] for x in b if x["name"].startswith("BM_read_journal") and "events/s" in x]
    return (slower("BM_rebuild_domain_model"), (scan[0] if scan else None), slower("BM_rebuild_split"),
            slower("BM_rebuild_running_model"))

r = {n: load("rill-" + n) for n in ["one", "pipelined", "batched", "durable", "latency", "tailer", "readyourwrites"]}
p = {(s, n): load(f"{s}-{n}") for s in ["redis", "postgres"]
     for n in ["one", "pipelined", "durable", "latency", "catchup"]}
rb, scan, rb_split, rb_running = rebuild()

rows = []  # row, rill value, peer value, higher-is-better, kind, target factor, target text
def add(row, rv, pv, kind, factor=None, target="-", peer_name=""):
    if kind == "rate":
        ratio = rv / pv if rv and pv else None
        rtxt, ptxt = rate_txt(rv), rate_txt(pv)
        met = "-" if factor is None or ratio is None else ("yes" if ratio >= factor else "NO")
    else:  # latency: lower is better, target is rill <= factor * peer
        ratio = rv / pv if rv is not None and pv else None
        rtxt, ptxt = us_txt(rv), us_txt(pv)
        met = "-" if factor is None or ratio is None else ("yes" if ratio <= factor else "NO")
    rows.append([row, rtxt, peer_name + ": " + ptxt, "-" if ratio is None else f"{ratio:.2f}x", target, met])

add("one in flight, acked", tput(r["one"]), tput(p["redis", "one"]), "rate", peer_name="Redis XADD")
add("one in flight, acked", tput(r["one"]), tput(p["postgres", "one"]), "rate", peer_name="PG INSERT")
add("pipelined, acked", tput(r["pipelined"]), tput(p["redis", "pipelined"]), "rate", 2.0, ">= 2x",
    f"Redis pipeline {batch}")
add("pipelined, acked", tput(r["pipelined"]), tput(p["postgres", "pipelined"]), "rate",
    peer_name=f"PG {batch} rows/tx")
bt = tput(r["batched"])
rows.append([f"batched by {batch}", rate_txt(bt), "-", "-", ">= 1 M/s",
             "-" if bt is None else ("yes" if bt >= 1e6 else "NO")])
add(f"batched by {batch}", bt, tput(p["redis", "pipelined"]), "rate", peer_name=f"Redis pipeline {batch}")
add("durable", tput(r["durable"]), tput(p["redis", "durable"]), "rate", 3.0, ">= 3x",
    f"Redis always, pipeline {batch}")
add("durable", tput(r["durable"]), tput(p["postgres", "durable"]), "rate", 2.0, ">= 2x",
    f"PG sync on, {batch} rows/tx")
for q, factor, t in [("p50", 1.0, "<= 1x"), ("p99", 0.5, "<= 0.5x")]:
    add(f"append -> subscriber {q} @ {rate // 1000}k/s", lat(r["latency"], "visible_us", q),
        lat(p["redis", "latency"], "visible_us", q), "lat", factor, t, "Redis XADD->XREAD")
    add(f"append -> subscriber {q} @ {rate // 1000}k/s", lat(r["latency"], "visible_us", q),
        lat(p["postgres", "latency"], "visible_us", q), "lat", peer_name="PG NOTIFY->LISTEN")
for q, factor, t in [("p50", 1.0, "<= 1x"), ("p99", 0.5, "<= 0.5x")]:
    add(f"append -> same-host journal tailer {q} @ {rate // 1000}k/s",
        lat(r["tailer"], "visible_journal_us", q), lat(p["redis", "latency"], "visible_us", q), "lat",
        factor, t, "Redis XADD->XREAD")
for q in ["p50", "p99"]:
    add(f"command -> customers answers `after` {q} @ {rate // 1000}k/s",
        lat(r["readyourwrites"], "after_us", q), lat(p["redis", "latency"], "visible_us", q), "lat",
        1.0, "<= 1x", "Redis XADD->XREAD")
add(f"rebuild / catch-up {events // 1000}k", rb, tput(p["postgres", "catchup"]), "rate", 10.0, ">= 10x",
    "PG paged SELECT")
add(f"rebuild / catch-up {events // 1000}k", rb, tput(p["redis", "catchup"]), "rate",
    peer_name="Redis XRANGE paged")

head = ["row", "rill", "peer", "rill/peer", "target", "met?"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for x in rows:
    print("| " + " | ".join(x) + " |")

# What the table leaves out: every run's own latencies and counts.
notes = []
for n, j in r.items():
    if j:
        l = (j.get("visible_us") if n == "latency" else j.get("visible_journal_us") if n == "tailer"
             else j.get("after_us") if n == "readyourwrites" else j["latency_us"])
        extra = f", events seen {l.get('count')}/{j.get('ok')}" if n in ("latency", "tailer") else ""
        if n == "readyourwrites":
            extra = f", samples {l.get('count')}, timeouts {l.get('timeouts')}, ack p50 {us_txt(j['latency_us']['p50'])}"
        notes.append(f"rill {n}: {rate_txt(j['throughput'])}, p50 {us_txt(l['p50'])}, p90 {us_txt(l['p90'])}, "
                     f"p99 {us_txt(l['p99'])}, max {us_txt(l['max'])}, ok/failed/lost {j['ok']}/{j['failed']}/{j['lost']}{extra}")
    else:
        notes.append(f"rill {n}: FAILED: {why.get('rill-' + n, '?')}")
for (s, n), j in p.items():
    if j:
        l = j.get("visible_us") or j.get("latency_us")
        notes.append(f"{s} {n}: {rate_txt(j['throughput'])}, p50 {us_txt(l['p50'])}, p90 {us_txt(l['p90'])}, "
                     f"p99 {us_txt(l['p99'])}, max {us_txt(l['max'])}, failed {j['failed']}")
    else:
        notes.append(f"{s} {n}: FAILED: {why.get(s + '-' + n, '?')}")
if scan: notes.append(f"rill journal scan (no decode): {rate_txt(scan)}; rebuild figure = the slower of customers and orders "
                      f"on one thread (decode 8 ahead + prefetch, as rebuild_job by default); "
                      f"with rebuild_threads 2 (split_apply): {rate_txt(rb_split) if rb_split else '-'}; "
                      f"a running model's rebuild (clone_empty sized from the live state, as `rill rebuild`): "
                      f"{rate_txt(rb_running) if rb_running else '-'}")
print()
print("latencies: per request (batch / pipeline / transaction for batched rows); latency rows: intended send -> seen by the subscriber"
      " (rill: a SUB socket on the feed; tailer: a reader of the mapped journal woken by its bell);"
      " readyourwrites: a probe client of its own sends a command, waits for the ack, asks rill-proj customers with"
      " after = its seq: command sent -> answer (at most 1 sample/ms, on top of the 20k/s)")
for n in notes:
    print("  " + n)
PY
