#!/usr/bin/env bash
# The power-cut-disk trials with an oracle instead of StateJournal: on the same disk, which fails
# (every write and flush refused, not a power cut) at one of the next 1-64 writes 0.3-0.9 s in,
# the C program appender.c appends and syncs 16 files, confirming each sync with CHECK; the
# surviving image is mounted again and every file must hold what was acknowledged. It tells what
# the kernel's file systems do, independent of the library: whether an `fdatasync` that returns 0
# can be followed by the loss of what it covered, and which confirmation call catches it
# (docs/FORMAT.md, "Sync rounds").
#
#   bash tools/power-cut-disk/oracle/trials.sh --fs ext4|xfs|btrfs|overlay-ext4|... \
#       [--check none|fchown|fallocate|pwrite0] [--trials N] [--seed S]
#
# Needs what tools/power-cut-disk/trials.sh needs. Prints the trials that lost records and a total;
# exits 0 (a loss is a finding about the kernel, not a failure of this script), 77 when this
# machine cannot run it.
set -euo pipefail
cd "$(dirname "$0")/../../.."

fs=btrfs check=none trials=20 seed=$(date +%s)
while [ $# -gt 0 ]; do
    case "$1" in
    --fs) fs=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "usage: trials.sh --fs FS [--check none|fchown|fallocate|pwrite0] [--trials N] [--seed S]" >&2; exit 64 ;;
    esac
done
skip() { echo "oracle trials skipped: $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "they need root (mount, losetup)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
pkg-config --exists fuse3 || skip "no libfuse3 headers (apt-get install libfuse3-dev)"

work=$(mktemp -d /tmp/power-cut-oracle.XXXXXX)
loop=""
mounted() { awk -v dir="$1" '$2 == dir { found = 1 } END { exit !found }' /proc/self/mounts; }
cleanup() {
    mounted "$work/overlay" && umount -l "$work/overlay"
    mounted "$work/fs" && umount -l "$work/fs"
    [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
    mounted "$work/fuse" && fusermount3 -uz "$work/fuse"
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/fuse" "$work/fs" "$work/overlay" "$work/lower"
cc -O2 -Wall -o "$work/power-cut-disk" tools/power-cut-disk/power-cut-disk.c $(pkg-config --cflags --libs fuse3)
cc -O2 -Wall -pthread -o "$work/appender" tools/power-cut-disk/oracle/appender.c
below=${fs#overlay-}
truncate -s 320M "$work/fresh.img"
case "$below" in
ext4) mkfs.ext4 -q -F -b 4096 "$work/fresh.img" ;;
xfs) mkfs.xfs -q -f -s size=4096 "$work/fresh.img" ;;
btrfs) mkfs.btrfs -q -f -s 4096 "$work/fresh.img" >/dev/null ;;
*) echo "unknown file system $fs" >&2; exit 64 ;;
esac
files_under() { if [ "$below" = "$fs" ]; then echo "$1/files"; else echo "$1/upper/files"; fi; }

losing=0 lost=0 acknowledged=0
for ((index = 0; index < trials; index++)); do
    trial_seed=$((seed + index))
    "$work/power-cut-disk" --image-in="$work/fresh.img" --image-out="$work/cut.img" "$work/fuse"
    loop=$(losetup -f --show --sector-size 4096 "$work/fuse/disk")
    mount "$loop" "$work/fs"
    files=$work/fs/files
    if [ "$below" != "$fs" ]; then
        mkdir -p "$work/fs/upper" "$work/fs/work"
        mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$work/fs/upper,workdir=$work/fs/work" "$work/overlay"
        files=$work/overlay/files
    fi
    mkdir "$files"
    sync -f "$files"
    rm -rf "$work/acks"
    mkdir "$work/acks"
    "$work/appender" "$files" "$work/acks" 16 "$check" &
    child=$!
    sleep "$(printf '0.%03d' $((300 + trial_seed * 7919 % 600)))"
    echo "cut $trial_seed $((1 + trial_seed * 104729 % 64))" >"$work/fuse/control"
    for ((wait = 0; wait < 100; wait++)); do
        [ "$(cat "$work/fuse/control")" = armed ] || break
        sleep 0.05
    done
    [ "$(cat "$work/fuse/control")" != armed ] || echo "cut $trial_seed" >"$work/fuse/control"
    sleep 0.3
    kill -9 "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    if mounted "$work/overlay"; then umount "$work/overlay" 2>/dev/null || umount -l "$work/overlay"; fi
    umount "$work/fs" 2>/dev/null || umount -l "$work/fs"
    losetup -d "$loop"
    loop=""
    for ((wait = 0; wait < 50; wait++)); do
        fusermount3 -u "$work/fuse" 2>/dev/null && break
        sleep 0.1
    done
    mounted "$work/fuse" && fusermount3 -uz "$work/fuse"
    loop=$(losetup -f --show --sector-size 4096 "$work/cut.img")
    if ! mount "$loop" "$work/fs" 2>/dev/null; then
        echo "$fs trial $trial_seed: the image left by the failure does not mount"
        losetup -d "$loop"
        loop=""
        continue
    fi
    trial_lost=0
    for ack in "$work/acks"/*; do
        size_acknowledged=$(head -c 19 "$ack" | sed 's/^0*//')
        size_acknowledged=${size_acknowledged:-0}
        size=$(stat -c %s "$(files_under "$work/fs")/f$(basename "$ack")" 2>/dev/null || echo 0)
        acknowledged=$((acknowledged + size_acknowledged / 100))
        if [ "$size" -lt "$size_acknowledged" ]; then trial_lost=$((trial_lost + (size_acknowledged - size) / 100)); fi
    done
    if [ "$trial_lost" -gt 0 ]; then
        losing=$((losing + 1))
        echo "$fs trial $trial_seed: $trial_lost acknowledged record(s) lost"
    fi
    lost=$((lost + trial_lost))
    umount "$work/fs"
    losetup -d "$loop"
    loop=""
done
echo "$fs, check $check: $trials trials from seed $seed, $acknowledged records acknowledged, $lost lost in $losing trial(s)"
