/* fuzz_safetensors.c - libFuzzer harness: any bytes through the safetensors indexer. */
#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_safetensors_t st;
    iid_error_t err;
    if (iid__st_parse(&st, data, size, "fuzz", &err) == IID_OK) {
        float sink = 0.0f;
        for (int i = 0; i < st.count; i++) {
            const iid_st_tensor_t *t = &st.tensors[i];
            if (t->nbytes && t->nbytes <= 4096 && t->dtype <= IID_DTYPE_BF16) {
                float buf[1024];
                if (iid__st_read_f32(t, buf, &err) == IID_OK) sink += buf[0];
            }
        }
        (void)sink;
        iid__st_close(&st);
    }
    return 0;
}
