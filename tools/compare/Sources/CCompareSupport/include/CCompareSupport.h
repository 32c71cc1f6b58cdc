#ifndef STATEJOURNAL_COMPARE_SUPPORT_H
#define STATEJOURNAL_COMPARE_SUPPORT_H
#include <stddef.h>

/// syncfs(2), which Glibc's Swift module hides behind _GNU_SOURCE.
int sj_compare_syncfs(int fd);

/// LZ4 block compression of `size` bytes into `out` (capacity `capacity`); the compressed size, 0 on failure.
int sj_compare_lz4_compress(const char *source, char *out, int size, int capacity);

/// LZ4 block decompression; the decompressed size, negative on malformed input.
int sj_compare_lz4_decompress(const char *source, char *out, int compressedSize, int capacity);

/// The worst-case compressed size of `size` bytes.
int sj_compare_lz4_bound(int size);

/// Bytes malloc has handed out and not had back (mallinfo2: uordblks + hblkhd).
size_t sj_compare_malloc_in_use(void);

#endif
