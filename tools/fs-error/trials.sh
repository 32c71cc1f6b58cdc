#!/usr/bin/env bash
# File systems that fail under live journals, on the real ext4 and XFS: journals written
# (crash-campaign device-child: 1, 8 or 64 processes, `.synced` in two trials of three, `.written`
# in the third, every sync method, snapshots every 7 or 50 messages or none) onto a loop-mounted
# image, which 0.3-1.3 s in either hits an error (ext4 mounted `errors=remount-ro`, the error raised
# through /sys/fs/ext4/DEV/trigger_fs_error: the file system aborts its journal and turns
# read-only, as it does on a corrupted block or a failed metadata write) or is shut down
# (`xfs_io -x -c shutdown`, ext4 and XFS: FS_IOC_SHUTDOWN without a log flush, as on a fatal
# error). The child runs on for 1-2 s against it and must still be running (no crash of the OS
# process); it is killed with SIGKILL, the file system unmounted and mounted again (it replays its
# own log), and every process restarted and checked (device-check): each acknowledged `.synced`
# message present, in order, once, and no process that cannot start. `.written` messages may be
# lost, never reordered (what the file system had not committed is gone, as in a crash of the
# kernel). The check is power-cut-disk's, whose --sabotage proves it fails on a loss.
# `overlay-ext4` and `overlay-xfs` write the journals through an overlay whose upper layer is on
# the failing file system, as a container's writable layer is on its host's (the error and the
# shutdown hit the file system below; the check reads through the overlay, mounted again).
#
#   bash tools/fs-error/trials.sh [--fs ext4,xfs,overlay-ext4,overlay-xfs] [--trials N] [--seed S]
#
# Needs root (mount, losetup), loop devices, mkfs.ext4, and for XFS mkfs.xfs and xfs_io (Debian:
# xfsprogs). Exits 0 when every trial passed, 1 on a failure (naming the seed and keeping the
# image in /tmp), 77 when this machine cannot run it (saying why).
set -euo pipefail
cd "$(dirname "$0")/../.."

source tools/loop-disk.sh
loop_disk_setup fs-error ext4,xfs,overlay-ext4,overlay-xfs "$@"
command -v xfs_io >/dev/null || skip "no xfs_io (apt-get install xfsprogs)"
export STATEJOURNAL_DEVICE_FAILING=1

for fs in ${file_systems//,/ }; do
    acknowledged=0
    bitten=0
    for ((index = 0; index < trials; index++)); do
        trial_seed=$((seed + index))
        below=${fs#overlay-}
        if [ "$below" = ext4 ]; then mount_image ext4 -o errors=remount-ro; else mount_image "$below"; fi
        if [ "$below" != "$fs" ]; then mount_overlay; fi
        mkdir "$journals"
        rm -f "$work/acks"
        "$campaign" device-child "$journals" "$work/acks" "$trial_seed" >/dev/null 2>&1 &
        child=$!
        sleep "$(printf '0.%03d' $((300 + trial_seed * 7919 % 700)))"
        if [ "$below" = ext4 ] && [ $((trial_seed % 2)) = 0 ]; then
            event="an error (errors=remount-ro)"
            echo "statejournal fs-error trial $trial_seed" >"/sys/fs/ext4/$(basename "$loop")/trigger_fs_error"
        else
            event="a shutdown"
            xfs_io -x -c shutdown "$work/fs"
        fi
        sleep "$(printf '1.%03d' $((trial_seed * 15485863 % 1000)))"
        alive=yes
        kill -0 "$child" 2>/dev/null || alive=no
        kill -9 "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
        child=""
        # Each sender that stopped wrote why into the acknowledgements file (a line the check skips).
        refused=$(grep -cE "EROFS|EIO" "$work/acks" 2>/dev/null || true)
        stopped=$(grep -c "^stopped " "$work/acks" 2>/dev/null || true)
        if [ "$refused" -gt 0 ]; then bitten=$((bitten + 1)); fi
        state="$event; $stopped sender(s) stopped, $refused by EROFS or EIO"
        remount_image
        failure=""
        [ "$alive" = yes ] || failure="the child OS process ended before it was killed (it must run on against a failing file system)"
        end_trial "$fs" "$trial_seed" "$state" "$failure"
    done
    echo "$fs: $trials trials, $bitten refused a sender with EROFS or EIO, $acknowledged acknowledged"
done
finish_trials
