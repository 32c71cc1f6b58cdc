#define _GNU_SOURCE
#include "CStateJournalLinux.h"
#include <errno.h>
#include <unistd.h>

int sj_syncfs(int fd) {
#if defined(__linux__)
    return syncfs(fd);
#else
    (void)fd;
    sync();
    return 0;
#endif
}

int sj_errno(void) { return errno; }

#include <fcntl.h>
int sj_writeback_error(int fd) {
#if defined(__linux__)
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_AFTER);
#else
    (void)fd;
    return 0;
#endif
}

int sj_fallocate_keep_size(int fd, long long offset, long long length) {
#if defined(__linux__)
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
#else
    (void)fd;
    (void)offset;
    (void)length;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

#include <sys/file.h>
int sj_flock(int fd, int operation) { return flock(fd, operation); }

#include <pthread.h>
void sj_set_thread_name(const char *name) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

#if defined(__linux__)
#include <sys/vfs.h>
#endif
int sj_file_system_type(int fd, long *type) {
#if defined(__linux__)
    struct statfs s;
    if (fstatfs(fd, &s) != 0) return -1;
    *type = (long)s.f_type;
    return 0;
#else
    (void)fd;
    *type = 0;
    return 0;
#endif
}

#include <fcntl.h>
#include <string.h>
int sj_ofd_lock(int fd, long long offset, int mode) {
#if defined(__linux__) && defined(F_OFD_SETLK)
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = mode ? F_WRLCK : F_UNLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = (off_t)offset;
    lock.l_len = 1;
    return fcntl(fd, F_OFD_SETLK, &lock);
#else
    (void)fd; (void)offset; (void)mode;
    return 0;
#endif
}

int sj_ofd_held(int fd, long long offset) {
#if defined(__linux__) && defined(F_OFD_GETLK)
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = (off_t)offset;
    lock.l_len = 1;
    if (fcntl(fd, F_OFD_GETLK, &lock) != 0) return -1;
    return lock.l_type == F_UNLCK ? 0 : 1;
#else
    (void)fd; (void)offset;
    return 0;
#endif
}

#include <sys/stat.h>
#include <sys/sysmacros.h>
int sj_path_identity(const char *path, unsigned long long *device, unsigned long long *inode) {
#if defined(__linux__) && defined(STATX_INO)
    struct statx s;
    // Only the inode is asked for: asking for no time stamp keeps the kernel from marking the
    // file's change time as queried, which would make its next write dirty the inode.
    if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_INO, &s) != 0) return -1;
    *device = (unsigned long long)makedev(s.stx_dev_major, s.stx_dev_minor);
    *inode = (unsigned long long)s.stx_ino;
    return 0;
#else
    struct stat s;
    if (stat(path, &s) != 0) return -1;
    *device = (unsigned long long)s.st_dev;
    *inode = (unsigned long long)s.st_ino;
    return 0;
#endif
}

#include <poll.h>
#include <sys/inotify.h>
int sj_inotify_open(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }

int sj_inotify_watch(int fd, const char *directory, int names) {
    // A directory's own move or removal always; with `names`, every name created, removed or
    // moved in it too. Symbolic links are not followed (the caller's path has none).
    // IN_MASK_ADD: the kernel keeps one watch per directory, and a directory can be both a
    // journal directory and an ancestor of another; its mask only grows.
    uint32_t mask = IN_MOVE_SELF | IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD;
    if (names) mask |= IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
    return inotify_add_watch(fd, directory, mask);
}

int sj_inotify_unwatch(int fd, int wd) { return inotify_rm_watch(fd, wd); }

unsigned int sj_inotify_ignored_mask(void) { return IN_IGNORED; }

unsigned int sj_inotify_self_mask(void) { return IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT; }

int sj_poll_two(int first, int second, short *first_events, short *second_events) {
    struct pollfd fds[2] = {{.fd = first, .events = POLLIN}, {.fd = second, .events = POLLPRI}};
    int count = second >= 0 ? 2 : 1;
    int result = poll(fds, (nfds_t)count, 0);
    if (result < 0) return -1;
    *first_events = fds[0].revents;
    *second_events = count == 2 ? fds[1].revents : 0;
    return result;
}
