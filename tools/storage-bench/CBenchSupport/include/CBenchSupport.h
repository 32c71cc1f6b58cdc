#ifndef STATEJOURNAL_BENCH_SUPPORT_H
#define STATEJOURNAL_BENCH_SUPPORT_H
#include <stddef.h>
/// Bytes malloc has handed out and not had back (mallinfo2().uordblks).
size_t sj_bench_malloc_in_use(void);
#endif
