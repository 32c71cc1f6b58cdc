#define _GNU_SOURCE
#include "CCompareSupport.h"
#include <lz4.h>
#include <malloc.h>
#include <unistd.h>

int sj_compare_syncfs(int fd) { return syncfs(fd); }

int sj_compare_lz4_compress(const char *source, char *out, int size, int capacity) {
    return LZ4_compress_default(source, out, size, capacity);
}

int sj_compare_lz4_decompress(const char *source, char *out, int compressedSize, int capacity) {
    return LZ4_decompress_safe(source, out, compressedSize, capacity);
}

int sj_compare_lz4_bound(int size) { return LZ4_compressBound(size); }

size_t sj_compare_malloc_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}
