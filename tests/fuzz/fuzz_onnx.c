/* fuzz_onnx.c - libFuzzer harness: any bytes through the ONNX reader, then graph
 * preparation (name resolution, topological sort, kernel binding, liveness)
 * without running anything. */
#include <stddef.h>
#include <stdint.h>

#include "io/onnx.h"
#include "ops/onnx/onnx_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_onnx_model_t m;
    iid_onnx_net_t net;
    iid_error_t err;
    if (iid__onnx_parse(&m, data, size, "fuzz.onnx", &err) != IID_OK) return 0;
    if (iid__onnx_net_init(&net, &m, &err) == IID_OK) iid__onnx_net_free(&net);
    iid__onnx_free(&m); /* zeroed by net_init; a no-op then */
    return 0;
}
