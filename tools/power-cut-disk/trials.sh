#!/usr/bin/env bash
# Power cuts and failures of a disk under real file systems: `.synced` (and `.written`) journals
# written by the real ext4, XFS or Btrfs onto power-cut-disk (a FUSE file attached as a loop
# device), the power cut at a random instant (unflushed 4 KiB sectors kept in any subset) with the
# child killed at that instant, or the disk failing there while the child runs on for 0.3 s; the
# surviving image mounted again (the file system replays its own log), and every process restarted
# and checked: each acknowledged message present, in order, once (crash-campaign device-check).
# `overlay-ext4`, `overlay-xfs` and `overlay-btrfs` write the journals through an overlay whose
# upper layer is on that file system, as a container's writable layer is on its host's.
#
#   bash tools/power-cut-disk/trials.sh [--fs ext4,xfs,btrfs,overlay-ext4,...] [--trials N] [--seed S] [--sabotage]
#
# --sabotage gives the trials a disk that answers flushes without persisting anything (once the
# journals' directory is on it), every trial `.synced` and without a clean stop: acknowledged
# messages are then lost, and the run must fail.
#
# Needs root, /dev/fuse, loop devices and mkfs for each file system (Debian: fuse3 libfuse3-dev
# xfsprogs btrfs-progs). Exits 0 when no acknowledged message was lost, 1 on a loss (naming the
# seed), 77 when this machine cannot run it (saying why).
set -euo pipefail
cd "$(dirname "$0")/../.."

file_systems=ext4,xfs,btrfs,overlay-ext4,overlay-xfs,overlay-btrfs
trials=10
seed=$(date +%s)
sabotage=false
while [ $# -gt 0 ]; do
    case "$1" in
    --fs) file_systems=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --sabotage) sabotage=true; export STATEJOURNAL_DEVICE_SABOTAGE=1; shift ;;
    *) echo "usage: trials.sh [--fs ext4,xfs,btrfs,overlay-ext4,...] [--trials N] [--seed S] [--sabotage]" >&2; exit 64 ;;
    esac
done

skip() { echo "power-cut-disk trials skipped: $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "they need root (mount, losetup)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3 (apt-get install fuse3)"
pkg-config --exists fuse3 || skip "no libfuse3 headers (apt-get install libfuse3-dev)"
losetup -f >/dev/null 2>&1 || skip "no free loop device"

work=$(mktemp -d /tmp/power-cut-disk.XXXXXX)
loops=()
# Whether a file system is mounted at DIR (from the mount table: `mountpoint` stats DIR, which fails
# with EIO on an overlay whose upper file system failed).
mounted() { awk -v dir="$1" '$2 == dir { found = 1 } END { exit !found }' /proc/self/mounts; }
cleanup() {
    mounted "$work/overlay" && { umount "$work/overlay" 2>/dev/null || umount -l "$work/overlay"; }
    mounted "$work/fs" && { umount "$work/fs" 2>/dev/null || umount -l "$work/fs"; }
    for loop in "${loops[@]}"; do losetup -d "$loop" 2>/dev/null || true; done
    mountpoint -q "$work/fuse" && fusermount3 -u "$work/fuse"
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/fuse" "$work/fs"

cc -O2 -Wall -o "$work/power-cut-disk" tools/power-cut-disk/power-cut-disk.c $(pkg-config --cflags --libs fuse3)
# The build CI's campaign smokes use (its kill points inject faults), so nothing builds twice.
swift build -c release --traits FaultInjection --product statejournal-crash-campaign >/dev/null
campaign=$(swift build -c release --traits FaultInjection --show-bin-path)/statejournal-crash-campaign

attach() { # image → $loop, a loop device with 4 KiB sectors like the disk's (detached on exit)
    loop=$(losetup -f --show --sector-size 4096 "$1")
    loops+=("$loop")
}
# With an overlay (fs overlay-*), mounts it at $work/overlay, its upper layer on $work/fs.
journals_dir() {
    if [ "$below" = "$fs" ]; then echo "$work/fs/journals"; return; fi
    mkdir -p "$work/lower" "$work/overlay" "$work/fs/upper" "$work/fs/overlay-work"
    mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$work/fs/upper,workdir=$work/fs/overlay-work" \
        "$work/overlay" || { echo "power-cut-disk trials skipped: no overlay file system here" >&2; exit 77; }
    echo "$work/overlay/journals"
}
detach() {
    if mounted "$work/overlay"; then umount "$work/overlay" 2>/dev/null || umount -l "$work/overlay"; fi
    umount "$work/fs" 2>/dev/null || umount -l "$work/fs"
    losetup -d "$1"
}

failed=()
for fs in ${file_systems//,/ }; do
    below=${fs#overlay-}
    image=$work/fresh-$fs.img
    truncate -s 320M "$image"
    case "$below" in
    ext4) mkfs.ext4 -q -F -b 4096 "$image" ;;
    xfs) command -v mkfs.xfs >/dev/null || skip "no mkfs.xfs (apt-get install xfsprogs)"; mkfs.xfs -q -f -s size=4096 "$image" ;;
    btrfs) command -v mkfs.btrfs >/dev/null || skip "no mkfs.btrfs (apt-get install btrfs-progs)"; mkfs.btrfs -q -f -s 4096 "$image" >/dev/null ;;
    *) echo "unknown file system $fs (ext4, xfs, btrfs)" >&2; exit 64 ;;
    esac
    acknowledged=0
    lost=0
    empty=0
    written_lost=0
    for ((index = 0; index < trials; index++)); do
        trial_seed=$((seed + index))
        "$work/power-cut-disk" --image-in="$image" --image-out="$work/cut.img" "$work/fuse"
        attach "$work/fuse/disk"
        mount "$loop" "$work/fs"
        journals=$(journals_dir)
        mkdir "$journals"
        sync -f "$journals"
        if $sabotage; then echo lie >"$work/fuse/control"; fi
        rm -f "$work/acks"
        "$campaign" device-child "$journals" "$work/acks" "$trial_seed" "$work/fuse/control" >/dev/null 2>&1 &
        child=$!
        # After a while, the power goes at one of the next writes to reach the disk (the first to
        # the 64th): while the file system has writes in flight, not between two syncs.
        sleep "$(printf '0.%03d' $((200 + trial_seed * 7919 % 800)))"
        # Odd seeds: a power cut, the child dies with the disk (the disk kills it at the cut, before
        # anything else reaches it), so what it recorded comes from flushes that completed before.
        # Even seeds: the disk fails and the machine runs on for 0.3 s, every write and flush
        # failing: nothing acknowledged in that time may be missing either.
        if ((trial_seed % 2)); then victim=" $child" event="power cut"; else victim="" event="disk failure"; fi
        echo "cut $trial_seed $((1 + trial_seed * 104729 % 64))$victim" >"$work/fuse/control" || true
        for ((wait = 0; wait < 100; wait++)); do
            [ "$(cat "$work/fuse/control")" = armed ] || break
            sleep 0.05
        done
        if [ "$(cat "$work/fuse/control")" = armed ]; then
            [ -z "$victim" ] || kill -9 "$child" 2>/dev/null || true
            echo "cut $trial_seed" >"$work/fuse/control" || true
        fi
        cut="$event, $(cat "$work/fuse/control")"
        [ -n "$victim" ] || sleep 0.3
        kill -9 "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
        detach "$loop"
        # The loop device lets go of the disk's file asynchronously after a lazy unmount.
        for ((wait = 0; wait < 50; wait++)); do
            fusermount3 -u "$work/fuse" 2>/dev/null && break
            sleep 0.1
        done
        mounted "$work/fuse" && fusermount3 -uz "$work/fuse"
        cp --sparse=always "$work/cut.img" "$work/cut-pristine.img"
        attach "$work/cut.img"
        if ! mount "$loop" "$work/fs" 2>"$work/mount-error"; then
            # The file system itself did not survive (with --sabotage, its own metadata was lost).
            echo "$fs FAILED: seed $trial_seed: the image left by the cut does not mount: $(tr '\n' ' ' <"$work/mount-error"); $cut"
            failed+=("$fs seed $trial_seed (does not mount)")
            losetup -d "$loop"
            continue
        fi
        journals=$(journals_dir)
        if report=$("$campaign" device-check "$journals" "$work/acks" "$trial_seed" 2>&1); then
            status=ok
        else
            status=FAILED
            failed+=("$fs seed $trial_seed")
            if ! $sabotage; then
                # Kept for a look: the image the cut left (before recovery touched it) and the acknowledgements.
                mv "$work/cut-pristine.img" "/tmp/power-cut-disk-$fs-$trial_seed.img"
                cp "$work/acks" "/tmp/power-cut-disk-$fs-$trial_seed.acks"
                status="FAILED (image and acknowledgements kept in /tmp/power-cut-disk-$fs-$trial_seed.*)"
            fi
        fi
        echo "$fs $status: $report; $cut" | tr '\n' ' '
        echo
        count=$(sed -n 's/.*: \([0-9]*\) acknowledged.*/\1/p' <<<"$report" | tail -1)
        acknowledged=$((acknowledged + ${count:-0}))
        [ "${count:-0}" -gt 0 ] || empty=$((empty + 1))
        count=$(sed -n 's/.* lost \([0-9]*\),.*/\1/p' <<<"$report" | tail -1)
        lost=$((lost + ${count:-0}))
        count=$(sed -n 's/.*lost to the cut \([0-9]*\).*/\1/p' <<<"$report" | tail -1)
        written_lost=$((written_lost + ${count:-0}))
        detach "$loop"
    done
    echo "$fs: $trials trials from seed $seed (power cuts and disk failures), $acknowledged acknowledged, $lost lost ($empty cut before any acknowledgement; acknowledged .written messages lost to a cut, as allowed: $written_lost)"
    # A run in which nothing was acknowledged before its cuts proves nothing.
    [ "$empty" -lt "$trials" ] || failed+=("$fs: no trial acknowledged anything before its cut")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}; reproduce with: bash tools/power-cut-disk/trials.sh --fs FS --trials 1 --seed SEED"
    exit 1
fi
