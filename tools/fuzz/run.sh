#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 60): the journal target seeded from
# fixtures/, the compact round-trip target seeded with compact values.
#
#     tools/fuzz/run.sh 1800              # the long run, both targets
#     tools/fuzz/run.sh 60                # the smoke run of .ci/run
#     tools/fuzz/run.sh 600 roundtrip     # one target
#
# Findings (crash-*, leak-*, timeout-*, oom-*) land in .build-fuzz/findings.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN="${1:-60}"
TARGETS="${2:-journal roundtrip}"
mkdir -p .build-fuzz/findings
for TARGET in $TARGETS; do
    FUZZER=$(tools/fuzz/build.sh "$TARGET" | tail -1)
    CORPUS=.build-fuzz/corpus-$TARGET
    mkdir -p "$CORPUS"
    if [ "$TARGET" = journal ]; then
        cp -n fixtures/v1/*.journal fixtures/v1/*.snapshot fixtures/encoding-v1/*.journal "$CORPUS"/ 2>/dev/null || true
    else
        cp -n tools/fuzz/seeds/*.compact "$CORPUS"/ 2>/dev/null || true
    fi
    "$FUZZER" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
        -artifact_prefix=.build-fuzz/findings/"$TARGET"- -print_final_stats=1
done
