/*
 * crc32c.h: CRC-32C (Castagnoli), computed in software.
 *
 * The checksum the journal puts on every record. Reflected polynomial
 * 0x82F63B78, initial value and final xor 0xFFFFFFFF, as in iSCSI, ext4 and
 * LevelDB: crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Not responsible for hardware acceleration: the slice-by-8 tables give
 * about 1-2 GB/s, far more than a journal record rate needs.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd, so that any module may use it.
 */
#ifndef KOSYNCD_CRC32C_H
#define KOSYNCD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Return the CRC-32C of len bytes at data, continuing from crc, the value
 * returned for the bytes before them (0 to start). So
 * crc32c(crc32c(0, a, n), b, m) is the checksum of a followed by b.
 * Thread-safe.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
