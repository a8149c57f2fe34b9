/* fuzz_png_text.c - libFuzzer harness: any bytes as a PNG whose 'parameters' text
 * chunk is read back (tEXt, zTXt, iTXt, before or after the image data). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/png_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value;
    iid_error_t err;
    if (iid__png_text_decode(data, size, "fuzz", "parameters", &value, &err) == IID_OK) free(value);
    return 0;
}
