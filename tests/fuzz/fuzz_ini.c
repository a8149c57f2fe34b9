/* fuzz_ini.c - libFuzzer harness: any bytes as a --config INI file. */
#include <stddef.h>
#include <stdint.h>

#include "io/ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_ini_t ini;
    iid_error_t err;
    if (iid__ini_parse((const char *)data, size, "fuzz", &ini, &err) == IID_OK) iid__ini_free(&ini);
    return 0;
}
