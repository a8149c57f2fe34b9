/* fuzz_pickle.c - libFuzzer harness: any bytes through the data-only pickle VM and flattener. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_pk_tensor_t *t;
    int n;
    iid_error_t err;
    if (iid__pickle_state_dict(data, size, "fuzz.pkl", &t, &n, &err) == IID_OK) {
        size_t sink = 0;
        for (int i = 0; i < n; i++) sink += strlen(t[i].name) + strlen(t[i].key) + (size_t)t[i].ndim;
        (void)sink;
        iid__pk_tensors_free(t, n);
    } else if (strchr(err.msg, '\n')) {
        __builtin_trap(); /* every refusal is one line */
    }
    return 0;
}
