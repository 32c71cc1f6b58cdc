#ifndef STATEJOURNAL_CRC32C_H
#define STATEJOURNAL_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SSE4.2 `crc32` instruction, else 0.
int sj_crc32c_hardware_available(void);

/// Continues a CRC32C (Castagnoli). `crc` is a finished CRC (0 to start);
/// the result is finished too. Only call when `sj_crc32c_hardware_available()`.
uint32_t sj_crc32c_hardware(uint32_t crc, const void *bytes, size_t count);
#endif
