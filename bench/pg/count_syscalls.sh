#!/usr/bin/env bash
# System calls per query at concurrency 1: the driver (balrog) vs blocking libpq, counted with
# `strace -c -f` over a whole bench_pg_client run (no warm-up, so every query is counted; the
# connect's few calls are noise over thousands of queries). Counts, not time: run it on a busy
# machine too.
#
#   bench/pg/count_syscalls.sh build/release/bench/bench_pg_client "host=127.0.0.1 port=N user=postgres"
#
# (scripts/pg-cluster start DIR prints a conninfo; use host=127.0.0.1 for TCP.)
set -euo pipefail
bin=$1
conninfo=$2
seconds=${3:-2}
for mode in libpq balrog; do
  out=$(mktemp)
  line=$(strace -f -c -o "$out" "$bin" --mode "$mode" --conninfo "$conninfo" --query select1 \
    --clients 1 --warm-up 0 --seconds "$seconds" | grep queries)
  # "connect_s X cpu_s Y queries Q seconds S": the counted window; strace saw the whole run,
  # which with no warm-up is the window plus its last query.
  queries=$(echo "$line" | tr ' ' '\n' | grep -A1 '^queries$' | tail -1)
  echo "$mode: $queries queries"
  awk -v q="$queries" '$NF ~ /^(sendto|recvfrom|poll|ppoll|epoll_wait|epoll_pwait|epoll_pwait2|epoll_ctl|read|write)$/ && $4 ~ /^[0-9]+$/ {
      printf "  %-13s %8d  %5.2f per query\n", $NF, $4, $4 / q; t += $4 }
    END { printf "  %-13s %8d  %5.2f per query\n", "(these)", t, t / q }' "$out"
  rm -f "$out"
done
