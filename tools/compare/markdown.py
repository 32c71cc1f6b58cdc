#!/usr/bin/env python3
"""The tables of docs/PERFORMANCE.md's run section, from the JSON of one full comparison run.

    swift run -c release --package-path tools/compare statejournal-compare --json compare.json
    python3 tools/compare/markdown.py compare.json
"""
import json
import sys


def rate(value):
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def append_table(figures, shape, title):
    rows = {}
    order = []
    for f in figures:
        if f["shape"] != shape:
            continue
        key = (f["system"], f["encoding"], f["guarantee"])
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][f["processes"]] = f
    processes = sorted({f["processes"] for f in figures})
    print(f"**{title}** (messages/s; in brackets, ×the fastest peer of at least the same guarantee)")
    print()
    print("| system | encoding | guarantee | " + " | ".join(
        f"{p} process" + ("" if p == 1 else "es") for p in processes) + " | B/msg on disk (64) |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in processes) + " | --- |")
    # StateJournal first, as the tool prints them.
    order.sort(key=lambda k: (not k[0].startswith("StateJournal"),))
    for key in order:
        system, encoding, guarantee = key
        ours = system.startswith("StateJournal")
        cells = []
        for p in processes:
            f = rows[key].get(p)
            if f is None:
                cells.append("—")
            elif ours:
                cells.append(f"**{rate(f['messagesPerSecond'])}** ({f['ratioToBestPeer']:.2f}×)")
            else:
                cells.append(rate(f["messagesPerSecond"]))
        on_disk = rows[key].get(64, {}).get("bytesOnDiskPerMessage")
        name = f"**{system}**" if ours else system
        disk_cell = f"{on_disk:.0f}" if on_disk is not None else "—"
        print(f"| {name} | {encoding} | {guarantee} | " + " | ".join(cells) + f" | {disk_cell} |")
    print()


def replay_table(figures, processes, per_process, title):
    print(f"**{title}**")
    print()
    print("| system | encoding | msg/s | to running | first message | B/msg on disk | ×best peer |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for f in figures:
        if f["processes"] != processes or f["messagesPerProcess"] != per_process:
            continue
        ours = f["system"].startswith("StateJournal")
        snapshot = "snapshot" in f["system"]
        if snapshot and processes == 1:
            rate_cell = "(state from a snapshot)"
        else:
            rate_cell = rate(f["messagesPerSecond"])
        first = f.get("firstMessageMilliseconds")
        first_cell = "—" if first is None or snapshot else f"{first:.1f} ms"
        on_disk = "—" if snapshot else f"{f['bytesOnDiskPerMessage']:.1f}"
        ratio = ""
        if ours and not (snapshot and processes == 1):
            ratio = f"{f['ratioToBestPeer']:.2f}×"
        print(f"| {f['system']} | {f['encoding']} | {rate_cell} | {f['secondsToRunning']:.3f} s | {first_cell}"
              f" | {on_disk} | {ratio} |")
    print()


def main():
    data = json.load(open(sys.argv[1]))
    append_table(data["append"], "await-one", "Append, await-one")
    append_table(data["append"], "pipelined", "Append, pipelined (16 in flight per process)")
    replay_table(data["replay"], 1, 1_000_000, "Replay, 1 process × 1,000,000 messages")
    replay_table(data["replay"], 1000, 1000, "Replay, 1,000 processes × 1,000 messages")
    print("**Targets (PRODUCT.md §5), this run**")
    print()
    print("| | target | measured |")
    print("| --- | --- | --- |")
    for t in data["targets"]:
        print(f"| {'met' if t['met'] else '**missed**'} | {t['claim']} | {t['measured']} |")


main()
