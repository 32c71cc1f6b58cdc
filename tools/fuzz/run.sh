#!/usr/bin/env bash
# Runs the journal fuzzer for SECONDS (default 60), seeded from fixtures/.
#
#     tools/fuzz/run.sh 1800        # the long run
#     tools/fuzz/run.sh 60          # the smoke run of .ci/run
#
# Findings (crash-*, leak-*, timeout-*, oom-*) land in .build-fuzz/findings.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN="${1:-60}"
FUZZER=$(tools/fuzz/build.sh | tail -1)
CORPUS=.build-fuzz/corpus
mkdir -p "$CORPUS" .build-fuzz/findings
cp -n fixtures/v1/*.journal fixtures/v1/*.snapshot "$CORPUS"/ 2>/dev/null || true
"$FUZZER" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=.build-fuzz/findings/ -print_final_stats=1
