/*
 * cuda_backend.c - the "cuda" backend's table: every op family runs natively
 * on the GPU (the .cu files beside this one), so supports_op says yes to all of them and
 * the dispatcher never needs the reference loops (which could not read device
 * memory anyway). Compiled only with -DIID_CUDA=ON; the registry (backend.c)
 * lists it first, and leaves it out when available() finds no device.
 */
#include "ops/cuda/cuda_ops.h"

static int cuda_supports_op(const iid_backend_t *be, iid_op_t op) { return op >= 0 && op < IID_OP_COUNT; }

/* The uploaded copy is the binding itself: nothing beyond it to hand back. */
static void cuda_trim_weight(const iid_backend_t *be, void *owned) {}

static const iid_backend_i cuda_table = {
    .available = iid__cuda_available,
    .alloc = iid__cuda_alloc,
    .free = iid__cuda_free,
    .upload = iid__cuda_upload,
    .download = iid__cuda_download,
    .copy = iid__cuda_copy,
    .fill = iid__cuda_fill,
    .synchronize = iid__cuda_synchronize,
    .supports_op = cuda_supports_op,
    .bind_weight = iid__cuda_bind_weight,
    .release_weight = iid__cuda_release_weight,
    .trim_weight = cuda_trim_weight,
    .matmul_wt = iid__cuda_matmul_wt,
    .matmul_wn = iid__cuda_matmul_wn,
    .matmul_nt = iid__cuda_matmul_nt,
    .matmul_nn = iid__cuda_matmul_nn,
    .linear = iid__cuda_linear,
    .conv2d = iid__cuda_conv2d,
    .attention = iid__cuda_attention,
    .layer_norm = iid__cuda_layer_norm,
    .group_norm = iid__cuda_group_norm,
    .group_norm_silu = iid__cuda_group_norm_silu,
    .batch_norm = iid__cuda_batch_norm,
    .unary = iid__cuda_unary,
    .scale = iid__cuda_scale,
    .add = iid__cuda_add,
    .lerp = iid__cuda_lerp,
    .div_scalar = iid__cuda_div_scalar,
    .div_plane = iid__cuda_div_plane,
    .blend_tile = iid__cuda_blend_tile,
    .mul_plane = iid__cuda_mul_plane,
    .add_channel_bias = iid__cuda_add_channel_bias,
    .masked_add = iid__cuda_masked_add,
    .softmax_rows = iid__cuda_softmax_rows,
    .geglu = iid__cuda_geglu,
    .maxpool2d = iid__cuda_maxpool2d,
    .avgpool2d = iid__cuda_avgpool2d,
    .upsample_nearest2x = iid__cuda_upsample_nearest2x,
    .resize_plane = iid__cuda_resize_plane,
    .permute021 = iid__cuda_permute021,
    .concat_axis1 = iid__cuda_concat_axis1,
    .copy_rows = iid__cuda_copy_rows,
    .gather_rows = iid__cuda_gather_rows,
    .timestep_embedding = iid__cuda_timestep_embedding,
    .image_u8_to_f32 = iid__cuda_image_u8_to_f32,
};

const iid_backend_t iid__backend_cuda = {
    .name = "cuda",
    .description = "NVIDIA GPU: bf16 weights, cuBLASLt GEMM, im2col convolution, flash attention (f32 activations)",
    .host_memory = 0,
    .i = &cuda_table,
    .ctx = NULL,
};
