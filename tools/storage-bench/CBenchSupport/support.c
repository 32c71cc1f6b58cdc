#define _GNU_SOURCE
#include "CBenchSupport.h"
#include <malloc.h>
#include <unistd.h>

size_t sj_bench_malloc_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}

int sj_bench_syncfs(int fd) { return syncfs(fd); }
