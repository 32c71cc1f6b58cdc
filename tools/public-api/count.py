#!/usr/bin/env python3
"""Counts the public symbols of each library module from `swift package dump-symbol-graph`.

Usage: swift package dump-symbol-graph --minimum-access-level public
       python3 tools/public-api/count.py .build/x86_64-unknown-linux-gnu/symbolgraph
"""
import collections
import json
import pathlib
import sys

MODULES = ["StateJournal", "StateJournalStorage", "StateJournalEncoding", "StateJournalTesting"]


def main() -> None:
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".build/x86_64-unknown-linux-gnu/symbolgraph")
    for module in MODULES:
        path = folder / f"{module}.symbols.json"
        if not path.exists():
            continue
        graph = json.loads(path.read_text())
        kinds = collections.Counter()
        for symbol in graph["symbols"]:
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            kinds[symbol["kind"]["displayName"]] += 1
        types = sum(kinds[k] for k in ("Structure", "Class", "Enumeration", "Protocol", "Type Alias", "Actor"))
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        print(f"{module}: {sum(kinds.values())} symbols, {types} types ({detail})")


if __name__ == "__main__":
    main()
