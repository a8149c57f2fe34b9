/* fuzz_torch_zip.c - libFuzzer harness: whole-file bytes through the weights dispatcher
 * (torch zip via libzip, or safetensors), reading every tensor it accepts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/torch_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_safetensors_t st;
    iid_error_t err;
    if (iid__weights_parse(&st, data, size, "fuzz.bin", &err) == IID_OK) {
        unsigned sink = 0;
        for (int i = 0; i < st.count; i++) {
            const unsigned char *p = st.tensors[i].data;
            for (size_t k = 0; k < st.tensors[i].nbytes; k++) sink += p[k]; /* ASan checks every byte */
        }
        (void)sink;
        iid__st_close(&st);
    } else if (strchr(err.msg, '\n')) {
        __builtin_trap(); /* every refusal is one line */
    }
    return 0;
}
