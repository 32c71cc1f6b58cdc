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
