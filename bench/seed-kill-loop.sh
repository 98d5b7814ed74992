#!/bin/bash
# The seed's guard, copied from the incident write-up for the benchmark's storm (bench/report/storm.mjs):
# it ran in the same container as MetaMCP, so its own ps/grep/wc/sort/awk/xargs forks count against
# the same pids limit. The loop below is the original, character for character, except that
# MAX_PROCESSES and the sleep are parameters whose defaults are the original 15 and 30:
#   bench/seed-kill-loop.sh [MAX_PROCESSES [SECONDS]]
MAX_PROCESSES=${1:-15}
SLEEP_SECONDS=${2:-30}

while true; do
    COUNT=$(ps aux | grep -E "npm exec|@modelcontextprotocol" | grep -v grep | wc -l)
    if [ $COUNT -gt $MAX_PROCESSES ]; then
        # Kill oldest duplicate processes
        ps aux | grep -E "npm exec|@modelcontextprotocol" | grep -v grep | \
        sort -k9 | head -n $((COUNT - MAX_PROCESSES)) | \
        awk '{print $2}' | xargs -r kill -9
    fi
    sleep $SLEEP_SECONDS
done
