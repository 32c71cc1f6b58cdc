#!/usr/bin/env bash
# Builds a libFuzzer target into .build-fuzz/fuzz-TARGET and prints its path:
#
#     tools/fuzz/build.sh journal     # FuzzJournal.swift: reader, recovery, repair, decoder (the default)
#     tools/fuzz/build.sh roundtrip   # FuzzCompactRoundTrip.swift: compact encoding round trips
#
# SwiftPM cannot link a libFuzzer executable (it renames `main`), so the
# library and its dependencies are built by SwiftPM with the fuzzer and
# address sanitizers, and the harness is linked with swiftc.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${1:-journal}"
case "$TARGET" in
    journal) SOURCE=tools/fuzz/FuzzJournal.swift ;;
    roundtrip) SOURCE=tools/fuzz/FuzzCompactRoundTrip.swift ;;
    *) echo "unknown fuzz target $TARGET (journal, roundtrip)" >&2; exit 64 ;;
esac
SCRATCH=.build-fuzz
swift build --scratch-path "$SCRATCH" --target StateJournalStorage \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address >&2
BUILD="$SCRATCH/debug"
OBJECTS=$(find "$BUILD/StateJournalStorage.build" "$BUILD/StateJournalSystem.build" "$BUILD/StateJournalEncoding.build" \
    "$BUILD/Logging.build" "$BUILD/CStateJournalCRC32C.build" "$BUILD/CStateJournalLinux.build" -name '*.o')
# The harness uses the package's `package` declarations (inspection, repair): it is compiled
# under the package name SwiftPM gave the modules.
PACKAGE_NAME=$(grep -o '"-module-name","StateJournalStorage"[^]]*' "$SCRATCH/debug.yaml" |
    grep -o '"-package-name","[^"]*"' | head -1 | cut -d'"' -f4)
swiftc -sanitize=fuzzer,address -parse-as-library -g -package-name "$PACKAGE_NAME" \
    -I "$BUILD/Modules" \
    -Xcc -fmodule-map-file="$BUILD/CStateJournalCRC32C.build/module.modulemap" \
    -Xcc -fmodule-map-file="$BUILD/CStateJournalLinux.build/module.modulemap" \
    -Xcc -fmodule-map-file=Sources/CLZ4/module.modulemap \
    -Xcc -ISources/CStateJournalCRC32C/include -Xcc -ISources/CStateJournalLinux/include \
    "$SOURCE" $OBJECTS -llz4 -o "$SCRATCH/fuzz-$TARGET"
echo "$SCRATCH/fuzz-$TARGET"
