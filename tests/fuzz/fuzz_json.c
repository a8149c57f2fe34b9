/* fuzz_json.c - libFuzzer harness: any bytes as a model config.json. */
#include <stddef.h>
#include <stdint.h>

#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_json_t j;
    iid_error_t err;
    if (iid__json_parse(&j, (const char *)data, size, "fuzz", &err) != IID_OK) return 0;
    long long v, arr[8];
    int n;
    double d;
    const char *s;
    int b;
    iid__json_int_opt(&j, "hidden_size", &v, &err);
    iid__json_double_opt(&j, "layer_norm_eps", &d, &err);
    iid__json_string_opt(&j, "hidden_act", &s, &err);
    iid__json_bool_opt(&j, "force_zeros_for_empty_prompt", &b, &err);
    iid__json_int_array(&j, "block_out_channels", arr, 8, &n, 1, &err);
    iid__json_free(&j);
    return 0;
}
