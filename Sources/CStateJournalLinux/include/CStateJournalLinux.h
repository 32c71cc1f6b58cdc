#ifndef STATEJOURNAL_LINUX_H
#define STATEJOURNAL_LINUX_H

/// syncfs(2): commits the file system that holds `fd`. -1 and errno on failure.
int sj_syncfs(int fd);

/// sync_file_range(2) over the whole file with SYNC_FILE_RANGE_WAIT_AFTER:
/// waits for write-back in flight and returns (once per open file) a
/// write-back error of the file not yet reported to this descriptor. Writes
/// and flushes nothing. -1 and errno on failure.
int sj_writeback_error(int fd);

/// fallocate(2) with FALLOC_FL_KEEP_SIZE over `length` bytes at `offset`: allocates what is not
/// allocated yet and changes neither the size nor a byte. 0, or -1 and errno (EOPNOTSUPP where
/// the file system has no fallocate).
int sj_fallocate_keep_size(int fd, long long offset, long long length);

/// The errno of the calling thread.
int sj_errno(void);


/// flock(2); Swift sees only the struct of the same name.
int sj_flock(int fd, int operation);

/// fstatfs(2)'s f_type for `fd` in `*type`: 0, or -1 and errno.
int sj_file_system_type(int fd, long *type);

/// An open-file-description byte-range lock (F_OFD_SETLK) of one byte at `offset`:
/// `mode` 1 takes it exclusively, 0 releases it. 0, or -1 and errno (EAGAIN: held elsewhere).
int sj_ofd_lock(int fd, long long offset, int mode);

/// Whether another open file description holds a lock on the byte at `offset` (F_OFD_GETLK):
/// 1 yes, 0 no, -1 and errno.
int sj_ofd_held(int fd, long long offset);

/// The device and inode of what `path` names (following symbolic links): 0, or -1 and errno.
/// `statx` asking for the inode alone, so that the check leaves the file's time stamps unqueried
/// (with multigrain time stamps, a query makes the file's next write update its inode).
int sj_path_identity(const char *path, unsigned long long *device, unsigned long long *inode);

/// inotify_init1 with IN_NONBLOCK | IN_CLOEXEC: a descriptor, or -1 and errno.
int sj_inotify_open(void);

/// Watches `directory` (not following a symbolic link) for its own move or removal, and with
/// `names` non-zero for every name created, removed or moved in it: a watch descriptor, or -1.
int sj_inotify_watch(int fd, const char *directory, int names);

/// inotify_rm_watch: 0, or -1 and errno.
int sj_inotify_unwatch(int fd, int wd);

/// IN_IGNORED: the event a watch gets when it ends (its directory removed or unmounted).
unsigned int sj_inotify_ignored_mask(void);

/// The events about a watched directory itself: moved, removed, unmounted, watch ended.
unsigned int sj_inotify_self_mask(void);

/// poll(2) without waiting: `first` for input, `second` (or -1 for none) for POLLPRI. The
/// number of ready descriptors, or -1 and errno; their revents in `*first_events` and
/// `*second_events`.
int sj_poll_two(int first, int second, short *first_events, short *second_events);

/// Names the calling thread (at most 15 bytes are kept).
void sj_set_thread_name(const char *name);

/// Tells the CPU the caller is in a spin-wait loop (x86 `pause`, Arm `yield`): the other
/// hyperthread gets the core's resources, and leaving the loop costs no memory-order flush.
static inline void sj_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
#endif
