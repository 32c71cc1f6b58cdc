#!/usr/bin/env bash
# Disks that fill up, under the real ext4, XFS, Btrfs and tmpfs: journals written (crash-campaign
# device-child: 1, 8 or 64 processes, `.synced` or `.written`, every sync method, snapshots every 7
# or 50 messages or none) onto a file system that is filled, while they are written, to 0–256
# KiB left, so that it refuses them space; the writer killed with SIGKILL after 1–2 s more; the
# space freed, the file system unmounted and mounted again; every process restarted and checked
# (device-check): each acknowledged message present, in order, once, `.written` ones too (no power
# cut here), and no process that cannot start. The check is power-cut-disk's, whose --sabotage
# proves it fails on a loss. `overlay-ext4` and `overlay-xfs` write the journals through an overlay
# whose upper layer is on that file system (a container's writable layer), which is filled.
#
#   bash tools/full-disk/trials.sh [--fs ext4,xfs,btrfs,tmpfs,overlay-ext4,overlay-xfs] [--trials N] [--seed S]
#
# Needs root (mount, losetup), loop devices and mkfs for each file system (Debian: xfsprogs
# btrfs-progs). Exits 0 when every trial passed, 1 on a failure (naming the seed and keeping the
# image in /tmp), 77 when this machine cannot run it (saying why).
set -euo pipefail
cd "$(dirname "$0")/../.."

source tools/loop-disk.sh
loop_disk_setup full-disk ext4,xfs,btrfs,tmpfs,overlay-ext4,overlay-xfs "$@"
export STATEJOURNAL_DEVICE_FULL=1

mount_fs() { # $1: file system; mounts a fresh one at $work/fs (and an overlay over it for overlay-*)
    if [ "$1" = tmpfs ]; then
        mount -t tmpfs -o size=64m tmpfs "$work/fs"
        overlay=no
        journals=$work/fs/journals
    else
        mount_image "${1#overlay-}"
        if [ "${1#overlay-}" != "$1" ]; then mount_overlay; fi
    fi
}

# Leaves about $1 KiB free on $work/fs: fills it until a write is refused (as root, which may use
# what a file system reserves for root, as the journals' writer does here), then gives back $1 KiB.
fill() {
    local avail
    avail=$(df --output=avail -k "$work/fs" | tail -1 | tr -d ' ')
    if [ "$avail" -gt 1024 ]; then fallocate -l "$(((avail - 1024) * 1024))" "$work/fs/filler" 2>/dev/null || true; fi
    dd if=/dev/zero of="$work/fs/filler-end" bs=64k status=none 2>/dev/null || true
    dd if=/dev/zero of="$work/fs/filler-end" bs=4k oflag=append conv=notrunc status=none 2>/dev/null || true
    local size
    size=$(stat -c %s "$work/fs/filler-end" 2>/dev/null || echo 0)
    if [ "$size" -gt $(($1 * 1024)) ]; then truncate -s $((size - $1 * 1024)) "$work/fs/filler-end"; else rm -f "$work/fs/filler-end"; fi
}

for fs in ${file_systems//,/ }; do
    acknowledged=0
    full=0
    for ((index = 0; index < trials; index++)); do
        trial_seed=$((seed + index))
        mount_fs "$fs"
        mkdir "$journals"
        rm -f "$work/acks"
        "$campaign" device-child "$journals" "$work/acks" "$trial_seed" >/dev/null 2>&1 &
        child=$!
        # The disk fills up while the journals are open and written: 0.3–1.3 s in, all but 0–256
        # KiB taken; the writer runs on for 1–2 s against it.
        sleep "$(printf '0.%03d' $((300 + trial_seed * 7919 % 700)))"
        fill $((trial_seed * 104729 % 257))
        sleep "$(printf '1.%03d' $((trial_seed * 15485863 % 1000)))"
        kill -9 "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
        left=$(df --output=avail -k "$work/fs" | tail -1 | tr -d ' ')
        # Each sender that stopped wrote why into the acknowledgements file (a line the check skips).
        refused=$(grep -c "ENOSPC" "$work/acks" 2>/dev/null || true)
        stopped=$(grep -c "^stopped " "$work/acks" 2>/dev/null || true)
        if [ "$refused" -gt 0 ]; then full=$((full + 1)); fi
        state="$left KiB left, $stopped sender(s) stopped, $refused by ENOSPC"
        rm -f "$work/fs/filler" "$work/fs/filler-end"
        [ "$fs" = tmpfs ] || remount_image
        end_trial "$fs" "$trial_seed" "$state"
    done
    echo "$fs: $trials trials, $full refused space (ENOSPC) to a sender, $acknowledged acknowledged"
done
finish_trials
