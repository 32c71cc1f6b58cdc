# What the trials that write journals onto a loop-mounted file system share (tools/full-disk,
# tools/fs-error), sourced by their trials.sh after `set -euo pipefail` and `cd` to the repository:
#
#   loop_disk_setup NAME DEFAULT_FILE_SYSTEMS "$@"
#
# reads --fs, --trials and --seed into $file_systems, $trials and $seed; checks that this machine can
# run the trials (root, mounting) or exits 77 saying why (`skip REASON` does the same later); makes
# $work (removed on exit, with $child killed and the file system unmounted); builds the crash
# campaign into $campaign. Then `mount_image FS [mount option]`, `mount_overlay` (an overlay over
# it, as a container's writable layer), `remount_image`, `unmount_fs`, `end_trial FS SEED STATE
# [FAILURE]` after each trial and `finish_trials` at the end. The trial's journals are in
# $journals: $work/fs/journals, or $work/overlay/journals on an overlay.

loop_disk_setup() {
    trials_name=$1
    file_systems=$2
    local all=$2
    shift 2
    trials=5
    seed=$(date +%s)
    while [ $# -gt 0 ]; do
        case "$1" in
        --fs) file_systems=$2; shift 2 ;;
        --trials) trials=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        *) echo "usage: trials.sh [--fs $all] [--trials N] [--seed S]" >&2; exit 64 ;;
        esac
    done
    [ "$(id -u)" = 0 ] || skip "they need root (mount, losetup)"
    work=$(mktemp -d "/tmp/$trials_name.XXXXXX")
    mkdir -p "$work/fs"
    if ! mount -t tmpfs -o size=1m tmpfs "$work/fs" 2>/dev/null; then rm -rf "$work"; skip "mounting is not permitted here"; fi
    umount "$work/fs"
    loop=""
    child=""
    overlay=no
    journals=$work/fs/journals
    failed=()
    trap loop_disk_cleanup EXIT
    # The build CI's campaign smokes use (its kill points inject faults), so nothing builds twice.
    swift build -c release --traits FaultInjection --product statejournal-crash-campaign >/dev/null
    campaign=$(swift build -c release --traits FaultInjection --show-bin-path)/statejournal-crash-campaign
}

skip() { echo "$trials_name trials skipped: $1"; exit 77; }

# Whether a file system is mounted at DIR (from the mount table: `mountpoint` stats DIR, which fails
# with EIO on an overlay whose upper file system was shut down).
mounted() { awk -v dir="$1" '$2 == dir { found = 1 } END { exit !found }' /proc/self/mounts; }

loop_disk_cleanup() {
    [ -z "$child" ] || kill -9 "$child" 2>/dev/null || true
    mounted "$work/overlay" && { umount "$work/overlay" 2>/dev/null || umount -l "$work/overlay"; }
    mounted "$work/fs" && { umount "$work/fs" 2>/dev/null || umount -l "$work/fs"; }
    [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
    rm -rf "$work"
}

# Makes a fresh FS (ext4, xfs, btrfs) in $work/disk.img and mounts it at $work/fs, with the mount
# options given after it.
mount_image() {
    local image=$work/disk.img
    rm -f "$image"
    truncate -s 320M "$image"
    case "$1" in
    ext4) mkfs.ext4 -q -F -b 4096 "$image" ;;
    xfs) command -v mkfs.xfs >/dev/null || skip "no mkfs.xfs (apt-get install xfsprogs)"; mkfs.xfs -q -f "$image" ;;
    btrfs) command -v mkfs.btrfs >/dev/null || skip "no mkfs.btrfs (apt-get install btrfs-progs)"; mkfs.btrfs -q -f "$image" >/dev/null ;;
    *) echo "unknown file system $1" >&2; exit 64 ;;
    esac
    shift
    losetup -f >/dev/null 2>&1 || skip "no free loop device"
    loop=$(losetup -f --show "$image")
    mount "$@" "$loop" "$work/fs"
    overlay=no
    journals=$work/fs/journals
}

# Mounts an overlay at $work/overlay whose upper (writable) layer is on the image at $work/fs, over
# an empty lower layer, as a container's writable layer is on its host's file system; the journals
# go there. Again after a remount_image.
mount_overlay() {
    mkdir -p "$work/lower" "$work/overlay" "$work/fs/upper" "$work/fs/overlay-work"
    mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$work/fs/upper,workdir=$work/fs/overlay-work" \
        "$work/overlay" 2>/dev/null || skip "no overlay file system here"
    overlay=yes
    journals=$work/overlay/journals
}

# Unmounts $work/fs and the overlay over it (and detaches its loop device).
unmount_fs() {
    if mounted "$work/overlay"; then umount "$work/overlay" 2>/dev/null || umount -l "$work/overlay"; fi
    umount "$work/fs" 2>/dev/null || umount -l "$work/fs"
    if [ -n "$loop" ]; then losetup -d "$loop"; loop=""; fi
}

# Unmounts the image and mounts it again: the file system replays its own log, and what is read
# then is what it kept, not pages of the killed writer's.
remount_image() {
    unmount_fs
    loop=$(losetup -f --show "$work/disk.img")
    mount "$loop" "$work/fs"
    if [ "$overlay" = yes ]; then mount_overlay; fi
}

# The acknowledgements recorded in FILE (its lines but those of senders that stopped).
acknowledged_in() {
    local count
    # grep -c prints 0 and fails when nothing matches, and prints nothing when there is no file.
    count=$(grep -vc "^stopped " "$1" 2>/dev/null) || true
    echo "${count:-0}"
}

# Ends the trial of FS with SEED: checks it (device-check of the mounted journals against
# $work/acks, unless the caller already found FAILURE), prints its line after STATE, keeps what a
# failure left in /tmp (the acknowledgements, and the image unless on tmpfs), adds its
# acknowledgements to $acknowledged, and unmounts.
end_trial() {
    local fs=$1 trial_seed=$2 state=$3 status=FAILED report kept
    if [ -n "${4:-}" ]; then
        report=$4
    elif report=$("$campaign" device-check "$journals" "$work/acks" "$trial_seed" 2>&1); then
        status=ok
    fi
    if [ "$status" != ok ]; then
        failed+=("$fs seed $trial_seed")
        kept=/tmp/$trials_name-$fs-$trial_seed
        cp "$work/acks" "$kept.acks"
        if [ "$fs" = tmpfs ]; then
            status="FAILED (acknowledgements kept in $kept.*)"
        else
            unmount_fs
            cp --sparse=always "$work/disk.img" "$kept.img"
            status="FAILED (acknowledgements and image kept in $kept.*)"
        fi
    fi
    acknowledged=$((acknowledged + $(acknowledged_in "$work/acks")))
    echo "$fs $status: $state; $(tail -1 <<<"$report" | cut -c1-400)"
    [ "$status" = ok ] || grep -v "^seed $trial_seed: .*acknowledged" <<<"$report" | head -5 || true
    if mounted "$work/fs"; then unmount_fs; fi
}

# Says whether every trial passed, and exits 1 if one did not.
finish_trials() {
    if [ ${#failed[@]} -gt 0 ]; then
        echo "$trials_name trials FAILED: ${failed[*]}"
        exit 1
    fi
    echo "$trials_name trials: every acknowledged message found"
}
