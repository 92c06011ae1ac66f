#!/usr/bin/env bash
# Deterministic cost of one TCP echo request (issue 10): runs the balrog echo server (or the
# balrog client) of bench_tcp_echo under callgrind with the cache simulator, the other side
# native, zeroes the counters once the connections are up, dumps them a few seconds later and
# prints instructions, D1 misses and LL misses per request (totals / calls of
# net::stream::write_all: one per request on either side).
#
#   bench/runtime/echo_cache_misses.sh [server|client] [connections] [binary]
#
# Defaults: server, 1000, build/release/bench/bench_tcp_echo. The simulated caches are this
# project's VMs' (32 KiB 8-way D1; the 512 KiB L2 as LL). Needs valgrind; takes ~40 s.
set -euo pipefail
side=${1:-server}
conns=${2:-1000}
bin=${3:-build/release/bench/bench_tcp_echo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vg=(valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=524288,8,64
    --callgrind-out-file="$work/cg.out")
mkfifo "$work/stdin"
port() {
  for _ in $(seq 200); do
    p=$(awk '/^port/{print $2}' "$work/server.out" 2>/dev/null || true)
    if [ -n "$p" ]; then echo "$p"; return; fi
    sleep 0.2
  done
  echo "echo_cache_misses: the server printed no port" >&2
  exit 1
}
if [ "$side" = server ]; then
  "${vg[@]}" "$bin" --server balrog --connections "$conns" <"$work/stdin" >"$work/server.out" \
    2>"$work/valgrind.err" &
  measured=$!
  exec 4>"$work/stdin"
  "$bin" --client balrog --port "$(port)" --connections "$conns" --seconds 14 \
    >"$work/client.out" &
  other=$!
  settle=6
else
  "$bin" --server balrog --connections "$conns" <"$work/stdin" >"$work/server.out" &
  exec 4>"$work/stdin"
  "${vg[@]}" "$bin" --client balrog --port "$(port)" --connections "$conns" --seconds 14 \
    >"$work/client.out" 2>"$work/valgrind.err" &
  measured=$!
  other=$measured
  settle=7
fi
sleep "$settle"
callgrind_control -z "$measured" >/dev/null 2>&1
sleep 6
callgrind_control -d "$measured" >/dev/null 2>&1
wait "$other"
exec 4>&-
wait
/usr/bin/python3 - "$work/cg.out.1" <<'PY'
import re, sys
names, calls, cur, totals, events = {}, 0, "", None, None
for line in open(sys.argv[1]):
    if line.startswith("events:"):
        events = line.split()[1:]
    elif line.startswith(("summary:", "totals:")):
        totals = [int(x) for x in line.split()[1:]]
    elif m := re.match(r"cfn=\((\d+)\)(?: (.*))?", line):
        if m.group(2):
            names[m.group(1)] = m.group(2)
        cur = names[m.group(1)]
    elif m := re.match(r"fn=\((\d+)\) (.*)", line):
        names[m.group(1)] = m.group(2).rstrip()
    elif line.startswith("calls=") and cur.startswith("balrog::net::stream::write_all"):
        calls += int(line.split("=")[1].split()[0])
t = dict(zip(events, totals))
print(f"requests {calls}  per request: instructions {t['Ir'] / calls:.1f}  "
      f"D1 misses {(t['D1mr'] + t['D1mw']) / calls:.2f}  LL misses {(t['DLmr'] + t['DLmw']) / calls:.2f}")
PY
