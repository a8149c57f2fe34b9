/* sha256.h - SHA-256 of a byte buffer as hex, shared by the unit tests and the
 * conformance runner. */
#ifndef IID_TEST_SHA256_H
#define IID_TEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of n bytes as 64 lower-case hex digits plus NUL. */
void test_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
