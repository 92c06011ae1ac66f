#!/usr/bin/env bash
# System calls per query at concurrency 1: the driver (balrog: a fiber; balrog-sync: a plain
# thread, sync mode) vs blocking libpq, counted with
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
for mode in libpq balrog balrog-sync; do
  out=$(mktemp)
  line=$(strace -f -c -o "$out" "$bin" --mode "$mode" --conninfo "$conninfo" --query select1 \
    --clients 1 --warm-up 0 --seconds "$seconds" | grep queries)
  # "connect_s X cpu_s Y queries Q seconds S": the counted window; strace saw the whole run,
  # which with no warm-up is the window plus its last query.
  queries=$(echo "$line" | tr ' ' '\n' | grep -A1 '^queries$' | tail -1)
  echo "$mode: $queries queries"
  # Every system call strace saw, not a list of I/O calls: a list left out the idle spin's
  # sched_yield (4 per query until the spin learned to rest). Calls made fewer than once per
  # 20 queries (set-up, the watchdog's ticks) are summed in "(rare)".
  awk -v q="$queries" '$4 ~ /^[0-9]+$/ && $NF != "total" {
      if ($4 * 20 >= q) printf "  %-13s %8d  %5.2f per query\n", $NF, $4, $4 / q
      else r += $4
      t += $4 }
    END { printf "  %-13s %8d  %5.2f per query\n  %-13s %8d  %5.2f per query\n", "(rare)", r, r / q, "(all)", t, t / q }' "$out"
  rm -f "$out"
done
