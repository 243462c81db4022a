#!/bin/sh
# Starts one node with JVM settings sized from the container's memory limit (cgroup v2 or v1),
# so that the same image fits a 128 MiB pod as well as a 4 GiB one. Measured in BENCHMARKS.md
# ("Memory"): at 128 MiB the JVM's own native memory (classes, JIT code and compiler arenas, GC,
# threads) and SQLite take about 60 MiB, so the heap gets what is left:
#
#   heap        3/4 of the limit minus 48 MiB (128 MiB -> 48 MiB, 256 -> 144, 1 GiB -> 720)
#   collector   Serial (one thread, no remembered sets: the least native memory)
#   JIT         below 512 MiB C1 only, code cache 32 MiB: C2's compiler arenas peak at 15-25 MiB
#   malloc      MALLOC_ARENA_MAX=2 (Dockerfile): glibc would keep an arena per thread
#
# Without a limit the heap is 75 % of the machine's memory. The node sizes its record cache,
# write queue and SQLite page caches from the heap and the limit it sees (MemoryBudget).
# JAVA_OPTS is appended after these flags, so any of them can be overridden there
# (e.g. JAVA_OPTS="-Xmx80m -XX:TieredStopAtLevel=4"); DSQLITE_JVM_SIZING=off leaves them all out.
set -eu

# Where the cgroup filesystem is mounted (another root lets a test give the script any limit).
cgroup=${DSQLITE_CGROUP_DIR:-/sys/fs/cgroup}

limit_bytes() {
  for f in "$cgroup/memory.max" "$cgroup/memory/memory.limit_in_bytes"; do
    [ -r "$f" ] || continue
    v=$(cat "$f" 2>/dev/null || true)
    case "$v" in
      '' | max | *[!0-9]*) return 1 ;;
    esac
    # cgroup v1 writes "no limit" as a number near 2^63.
    [ "$v" -lt 17592186044416 ] || return 1
    echo "$v"
    return 0
  done
  return 1
}

flags="-XX:+ExitOnOutOfMemoryError"
if [ "${DSQLITE_JVM_SIZING:-on}" != "off" ]; then
  if limit=$(limit_bytes); then
    mib=$((limit / 1048576))
    heap=$((mib * 3 / 4 - 48))
    [ "$heap" -ge 24 ] || heap=24
    flags="$flags -Xmx${heap}m -XX:+UseSerialGC"
    if [ "$mib" -lt 512 ]; then
      flags="$flags -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=32m"
    fi
  else
    flags="$flags -XX:MaxRAMPercentage=75"
  fi
fi

# shellcheck disable=SC2086 # word splitting of the flag lists is intended
exec java $flags ${JAVA_OPTS:-} -jar /app/distributed-sqlite.jar "$@"
