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
