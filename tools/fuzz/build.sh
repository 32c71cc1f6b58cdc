#!/usr/bin/env bash
# Builds the libFuzzer target tools/fuzz/FuzzJournal.swift into .build-fuzz/fuzz-journal.
#
# SwiftPM cannot link a libFuzzer executable (it renames `main`), so the
# library and its dependencies are built by SwiftPM with the fuzzer and
# address sanitizers, and the harness is linked with swiftc.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=.build-fuzz
swift build --scratch-path "$SCRATCH" --target StateJournalStorage \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address >&2
BUILD="$SCRATCH/debug"
OBJECTS=$(find "$BUILD/StateJournalStorage.build" "$BUILD/Logging.build" "$BUILD/CStateJournalCRC32C.build" "$BUILD/CStateJournalLinux.build" -name '*.o')
swiftc -sanitize=fuzzer,address -parse-as-library -g \
    -I "$BUILD/Modules" \
    -Xcc -fmodule-map-file="$BUILD/CStateJournalCRC32C.build/module.modulemap" \
    -Xcc -fmodule-map-file="$BUILD/CStateJournalLinux.build/module.modulemap" \
    -Xcc -fmodule-map-file=Sources/CLZ4/module.modulemap \
    -Xcc -ISources/CStateJournalCRC32C/include -Xcc -ISources/CStateJournalLinux/include \
    tools/fuzz/FuzzJournal.swift $OBJECTS -llz4 -o "$SCRATCH/fuzz-journal"
echo "$SCRATCH/fuzz-journal"
