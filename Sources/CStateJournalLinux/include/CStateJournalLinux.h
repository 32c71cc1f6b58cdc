#ifndef STATEJOURNAL_LINUX_H
#define STATEJOURNAL_LINUX_H

/// syncfs(2): commits the file system that holds `fd`. -1 and errno on failure.
int sj_syncfs(int fd);


/// The errno of the calling thread.
int sj_errno(void);


/// flock(2); Swift sees only the struct of the same name.
int sj_flock(int fd, int operation);

/// fstatfs(2)'s f_type for `fd` in `*type`: 0, or -1 and errno.
int sj_file_system_type(int fd, long *type);

/// Names the calling thread (at most 15 bytes are kept).
void sj_set_thread_name(const char *name);
#endif
