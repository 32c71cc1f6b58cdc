// power-cut-disk: a disk whose power can be cut, for real file systems to run on.
//
// A FUSE file system holding one file, `disk`, of a fixed size. Attached as a loop device and
// formatted (ext4, XFS, Btrfs), it is a block device for the kernel's own file system code: the
// journals under test are written, synced and renamed by the real ext4, XFS or Btrfs, and this
// program sees only what reaches a disk. It models a disk with a volatile write cache, from what
// a disk promises and nothing of what StateJournal does:
//
// - a write is volatile until the next flush (the loop driver turns a block-layer flush, and a
//   FUA write, into an fsync of the backing file, which arrives here as FUSE_FSYNC);
// - a flush makes every write before it durable;
// - at a power cut, each sector written since the last flush persists or not, chosen at random
//   per sector (its latest contents or its contents at the last flush), in any combination:
//   nothing about the order of writes is kept. A sector is 4096 bytes, the atomic unit of
//   today's disks; attach the loop device with the same logical sector size
//   (`losetup --sector-size 4096`), so that the file system knows what it may rely on;
// - after the cut the disk is dead: every write and flush fails with EIO, so nothing the kernel
//   does afterwards can be mistaken for durable.
//
// The cut is asked for by writing `cut SEED` to the file `control`: the surviving image is
// written to the path given with --image-out before the write returns. `cut SEED N` arms it
// instead: the power goes right after the N-th write that reaches the disk from then on, so that
// the cut lands while the file system has writes in flight. `cut SEED N PID` also kills the
// process PID (SIGKILL) at the instant of the cut, before anything else reaches the disk, as a
// power cut stops the machine's programs: nothing it records afterwards can come from a flush
// that completed after the cut. Reading `control` answers `armed`
// until then, and after the cut the number of volatile sectors and how many of them persisted.
// `lie` makes the disk answer every later flush without persisting anything (a disk, or a FUSE
// file system's syncfs, that lies): trials.sh --sabotage uses it to show that its check fails.
//
// Build:  cc -O2 -Wall -o /tmp/power-cut-disk tools/power-cut-disk/power-cut-disk.c $(pkg-config --cflags --libs fuse3)
// Run:    /tmp/power-cut-disk --image-in fresh.img --image-out cut.img MOUNTPOINT   (-f to stay in the foreground)
// tools/power-cut-disk/trials.sh runs the library's power-cut trials on it.
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SECTOR = 4096 };

static struct {
    const char *image_in, *image_out;
    uint64_t size, sectors;
    uint8_t *durable;   // what the disk holds for certain: everything up to the last flush
    uint8_t *current;   // what reads return: the latest write of every sector
    uint8_t *volatile_; // per sector: written since the last flush
    uint64_t volatile_count;
    int dead, lies;
    uint64_t armed_seed, writes_until_cut; // armed when writes_until_cut > 0
    pid_t victim;                          // killed at the cut, when > 0
    char answer[256];
    pthread_mutex_t lock;
} disk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct options {
    const char *image_in, *image_out;
} options;

static const struct fuse_opt option_spec[] = {
    {"--image-in=%s", offsetof(struct options, image_in), 1},
    {"--image-out=%s", offsetof(struct options, image_out), 1},
    FUSE_OPT_END,
};

// splitmix64: the sectors a cut keeps follow from its seed alone.
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int write_all(int fd, const uint8_t *bytes, uint64_t count) {
    uint64_t done = 0;
    while (done < count) {
        ssize_t n = pwrite(fd, bytes + done, count - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (uint64_t)n;
    }
    return 0;
}

// With the lock held: the power goes. The image that survives is written out.
static int cut(uint64_t seed) {
    if (disk.dead) return -EIO;
    // The lock is held: no flush can complete between the cut and the kill.
    if (disk.victim > 0) kill(disk.victim, SIGKILL);
    uint64_t state = seed, kept = 0;
    for (uint64_t s = 0; s < disk.sectors; s++) {
        if (!disk.volatile_[s]) continue;
        if (next_random(&state) & 1) {
            memcpy(disk.durable + s * SECTOR, disk.current + s * SECTOR, SECTOR);
            kept++;
        }
    }
    disk.dead = 1;
    int fd = open(disk.image_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -errno;
    // Not synced: the image is read back by the same machine, which keeps running.
    int failed = write_all(fd, disk.durable, disk.size) != 0;
    int code = errno;
    close(fd);
    if (failed) return -code;
    snprintf(disk.answer, sizeof disk.answer, "cut: %" PRIu64 " volatile sectors, %" PRIu64 " persisted\n",
        disk.volatile_count, kept);
    return 0;
}

static int is(const char *path, const char *name) { return path[0] == '/' && strcmp(path + 1, name) == 0; }

static int do_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    (void)fi;
    memset(st, 0, sizeof *st);
    if (strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else if (is(path, "disk")) {
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        st->st_size = (off_t)disk.size;
    } else if (is(path, "control")) {
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        pthread_mutex_lock(&disk.lock);
        st->st_size = (off_t)strlen(disk.answer);
        pthread_mutex_unlock(&disk.lock);
    } else {
        return -ENOENT;
    }
    return 0;
}

static int do_readdir(const char *path, void *buffer, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info *fi,
    enum fuse_readdir_flags flags) {
    (void)offset, (void)fi, (void)flags;
    if (strcmp(path, "/") != 0) return -ENOENT;
    fill(buffer, ".", NULL, 0, 0);
    fill(buffer, "..", NULL, 0, 0);
    fill(buffer, "disk", NULL, 0, 0);
    fill(buffer, "control", NULL, 0, 0);
    return 0;
}

static int do_open(const char *path, struct fuse_file_info *fi) {
    if (!is(path, "disk") && !is(path, "control")) return -ENOENT;
    // No page cache of ours in front of the disk: every read and write reaches this program.
    fi->direct_io = 1;
    return 0;
}

static int do_read(const char *path, char *buffer, size_t count, off_t offset, struct fuse_file_info *fi) {
    (void)fi;
    pthread_mutex_lock(&disk.lock);
    const uint8_t *source = disk.current;
    uint64_t size = disk.size;
    if (is(path, "control")) {
        source = (const uint8_t *)disk.answer;
        size = strlen(disk.answer);
    }
    size_t n = 0;
    if ((uint64_t)offset < size) {
        n = count;
        if ((uint64_t)offset + n > size) n = (size_t)(size - (uint64_t)offset);
        memcpy(buffer, source + offset, n);
    }
    pthread_mutex_unlock(&disk.lock);
    return (int)n;
}

static int do_write(const char *path, const char *bytes, size_t count, off_t offset, struct fuse_file_info *fi) {
    (void)fi;
    int result = (int)count;
    pthread_mutex_lock(&disk.lock);
    if (is(path, "control")) {
        char command[64] = {0};
        memcpy(command, bytes, count < sizeof command - 1 ? count : sizeof command - 1);
        uint64_t seed, after;
        int victim = 0;
        int fields = sscanf(command, "cut %" SCNu64 " %" SCNu64 " %d", &seed, &after, &victim);
        if (fields == 3) disk.victim = victim;
        if (fields == 2 && after > 0 && !disk.dead) {
            disk.armed_seed = seed;
            disk.writes_until_cut = after;
            snprintf(disk.answer, sizeof disk.answer, "armed\n");
        } else if (fields >= 1) {
            int code = cut(seed);
            if (code != 0) result = code;
        } else if (strncmp(command, "lie", 3) == 0) {
            disk.lies = 1;
        } else {
            result = -EINVAL;
        }
    } else if (disk.dead) {
        result = -EIO;
    } else if ((uint64_t)offset + count > disk.size) {
        result = -ENOSPC;
    } else {
        memcpy(disk.current + offset, bytes, count);
        for (uint64_t s = (uint64_t)offset / SECTOR; s * SECTOR < (uint64_t)offset + count; s++) {
            if (!disk.volatile_[s]) disk.volatile_count++;
            disk.volatile_[s] = 1;
        }
        if (disk.writes_until_cut > 0 && --disk.writes_until_cut == 0) {
            // This write was received; the power goes before it is answered.
            int code = cut(disk.armed_seed);
            result = code != 0 ? code : -EIO;
        }
    }
    pthread_mutex_unlock(&disk.lock);
    return result;
}

static int do_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)datasync, (void)fi;
    if (!is(path, "disk")) return 0;
    int result = 0;
    pthread_mutex_lock(&disk.lock);
    if (disk.dead) {
        result = -EIO;
    } else if (!disk.lies) {
        for (uint64_t s = 0; s < disk.sectors && disk.volatile_count > 0; s++) {
            if (!disk.volatile_[s]) continue;
            memcpy(disk.durable + s * SECTOR, disk.current + s * SECTOR, SECTOR);
            disk.volatile_[s] = 0;
            disk.volatile_count--;
        }
    }
    pthread_mutex_unlock(&disk.lock);
    return result;
}

static int do_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    (void)fi;
    // The control file is truncated by `echo cut N > control`; the disk's size is fixed.
    if (is(path, "control")) return 0;
    return (uint64_t)size == disk.size ? 0 : -EPERM;
}

static const struct fuse_operations operations = {
    .getattr = do_getattr,
    .readdir = do_readdir,
    .open = do_open,
    .read = do_read,
    .write = do_write,
    .fsync = do_fsync,
    .truncate = do_truncate,
};

int main(int argc, char **argv) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    if (fuse_opt_parse(&args, &options, option_spec, NULL) == -1) return 2;
    if (!options.image_in || !options.image_out) {
        fprintf(stderr, "usage: power-cut-disk --image-in=FILE --image-out=FILE [-f] MOUNTPOINT\n");
        return 2;
    }
    disk.image_in = options.image_in;
    disk.image_out = options.image_out;
    int fd = open(disk.image_in, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size % SECTOR != 0) {
        fprintf(stderr, "power-cut-disk: %s: not a readable image of whole sectors\n", disk.image_in);
        return 1;
    }
    disk.size = (uint64_t)st.st_size;
    disk.sectors = disk.size / SECTOR;
    disk.durable = malloc(disk.size);
    disk.current = malloc(disk.size);
    disk.volatile_ = calloc(disk.sectors, 1);
    if (!disk.durable || !disk.current || !disk.volatile_) {
        fprintf(stderr, "power-cut-disk: out of memory for %" PRIu64 " bytes\n", disk.size);
        return 1;
    }
    for (uint64_t done = 0; done < disk.size;) {
        ssize_t n = pread(fd, disk.durable + done, disk.size - done, (off_t)done);
        if (n <= 0) {
            fprintf(stderr, "power-cut-disk: reading %s failed\n", disk.image_in);
            return 1;
        }
        done += (uint64_t)n;
    }
    close(fd);
    memcpy(disk.current, disk.durable, disk.size);
    int result = fuse_main(args.argc, args.argv, &operations, NULL);
    fuse_opt_free_args(&args);
    return result;
}
