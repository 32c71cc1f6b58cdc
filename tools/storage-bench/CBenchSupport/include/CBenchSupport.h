#ifndef STATEJOURNAL_BENCH_SUPPORT_H
#define STATEJOURNAL_BENCH_SUPPORT_H
#include <stddef.h>
/// Bytes malloc has handed out and not had back, heap and mmapped (mallinfo2 uordblks + hblkhd).
size_t sj_bench_malloc_in_use(void);
/// syncfs(2) for the physical-limit figures.
int sj_bench_syncfs(int fd);
#endif
