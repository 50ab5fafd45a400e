#!/bin/sh
# Runs one JVM so that it never outlives its owner.
#   usage: watchdog.sh <pid-file> <grace-seconds> <watch-stdin: 1|0> <java> [args...]
# WATCHDOG_IDLE_THREADS (optional): comma-separated shell patterns of the JVM's thread names, as /proc shows
# them (15 characters); matching threads run at nice 19, so they use CPU nothing else wants (see below).
# WATCHDOG_TIMER_SLACK_NS (optional): the JVM's timer slack, which every thread it starts inherits. Cassandra's
# idle request workers poll for work in sleeps of 10 µs..1 ms; each one is a wake-up, and a second of them is a
# large share of two cores (docs/decisions.md, "Timer slack"). With a larger slack the kernel lets them last
# longer and wakes them together. A kernel without /proc/<pid>/timerslack_ns gets the default and a log line.
# With watch-stdin=1 the owner (a Node process) holds the write end of our stdin pipe; the kernel closes it
# however the owner ends (exit, crash, SIGKILL), and EOF here makes us stop the JVM: SIGTERM, then SIGKILL
# after the grace period. A detached runtime passes 0 and is stopped through its pid file instead.
set -u
pidfile=$1
grace=$2
watch=$3
shift 3

# Background jobs of a non-interactive shell get /dev/null as stdin; keep the owner's pipe on fd 3.
exec 3<&0
# A subshell that execs the JVM: its pid is the JVM's, and only it gets the slack (/proc/self is the subshell).
(
  if [ -n "${WATCHDOG_TIMER_SLACK_NS:-}" ]; then
    { echo "$WATCHDOG_TIMER_SLACK_NS" >/proc/self/timerslack_ns; } 2>/dev/null ||
      echo "watchdog: could not set the timer slack to $WATCHDOG_TIMER_SLACK_NS ns; the kernel's default stays" >&2
  fi
  exec "$@"
) </dev/null 3<&- &
jvm=$!
echo "$jvm" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"

stop_jvm() {
  kill -TERM "$jvm" 2>/dev/null
  i=0
  while kill -0 "$jvm" 2>/dev/null && [ "$i" -lt "$grace" ]; do
    sleep 1
    i=$((i + 1))
  done
  kill -KILL "$jvm" 2>/dev/null
}

watcher=
if [ "$watch" = 1 ]; then
  # `read` is a builtin, so killing this subshell leaves no reader process behind.
  { while read -r _; do :; done; stop_jvm; } <&3 &
  watcher=$!
fi
exec 3<&-

# Background work of the JVM that must not take a core from the request path on a small machine: Cassandra's
# compaction holds a whole core for seconds, which on two cores shared with Kafka and the functions stalls
# every write behind it, and so does a burst of JIT compilation (docs/decisions.md, "Background JVM work at
# idle priority"). Pool threads come and go (a compaction often starts on a new one), so new threads are
# looked at every half second; each thread is looked at once it has its name.
nicer=
if [ -n "${WATCHDOG_IDLE_THREADS:-}" ]; then
  {
    seen=' '
    while kill -0 "$jvm" 2>/dev/null; do
      for task in /proc/"$jvm"/task/*; do
        tid=${task##*/}
        case $seen in *" $tid "*) continue ;; esac
        name=
        read -r name <"$task/comm" 2>/dev/null || continue
        # Until the JVM names a new thread it shows the launcher's name: look again next time.
        [ "$name" = java ] && continue
        seen="$seen$tid "
        rest=$WATCHDOG_IDLE_THREADS,
        while [ -n "$rest" ]; do
          pattern=${rest%%,*}
          rest=${rest#*,}
          # shellcheck disable=SC2254 # the pattern is the point
          case $name in
            $pattern)
              renice -n 19 -p "$tid" >/dev/null 2>&1
              break
              ;;
          esac
        done
      done
      sleep 0.5
    done
  } </dev/null &
  nicer=$!
fi

trap 'kill -TERM "$jvm" 2>/dev/null' TERM INT HUP
status=0
while :; do
  wait "$jvm"
  status=$?
  kill -0 "$jvm" 2>/dev/null || break
done
[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
[ -n "$nicer" ] && kill "$nicer" 2>/dev/null
exit "$status"
