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


def visible_through_state_journal(folder: pathlib.Path) -> None:
    """Symbols `import StateJournal` brings: its own, plus what StateJournal/Exports.swift re-exports."""
    exports = pathlib.Path("Sources/StateJournal/Exports.swift")
    total = 0
    types = 0
    if exports.exists():
        names: dict[str, set[str]] = collections.defaultdict(set)
        for line in exports.read_text().splitlines():
            parts = line.split()
            if line.startswith("@_exported") and len(parts) >= 5:
                module, name = parts[-1].split(".")
                names[module].add(name)
        for module, wanted in names.items():
            path = folder / f"{module}.symbols.json"
            if not path.exists():
                continue
            for symbol in json.loads(path.read_text())["symbols"]:
                if symbol.get("accessLevel") in ("public", "open") and symbol["pathComponents"][0] in wanted:
                    total += 1
                    types += len(symbol["pathComponents"]) == 1
    else:
        for symbol in json.loads((folder / "StateJournalStorage.symbols.json").read_text())["symbols"]:
            if symbol.get("accessLevel") in ("public", "open"):
                total += 1
                types += symbol["kind"]["displayName"] in ("Structure", "Class", "Enumeration", "Protocol", "Type Alias")
    own = [
        s for s in json.loads((folder / "StateJournal.symbols.json").read_text())["symbols"]
        if s.get("accessLevel") in ("public", "open")
    ]
    print(f"import StateJournal: {len(own) + total} symbols ({len(own)} its own, {total} re-exported in {types} types)")


if __name__ == "__main__":
    visible_through_state_journal(
        pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".build/x86_64-unknown-linux-gnu/symbolgraph"))
