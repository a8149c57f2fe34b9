/*
 * onnx_ops.h - the ONNX operator kernels the graph executor dispatches to.
 *
 * One table maps an op_type to its kernel and its input arity; the kernels live
 * in one file per family (onnx_ops_math.c: element-wise and broadcasting ops,
 * onnx_ops_nn.c: Conv, pooling, normalisation, Gemm/MatMul, onnx_ops_shape.c:
 * shape arithmetic, data movement and Resize). All kernels compute in f32 on the
 * float path and int64 on the shape path: the executor converts every constant to
 * F32 or I64 when it loads a model, and Cast produces only those two.
 *
 * A kernel reads its inputs (NULL marks an omitted optional input), allocates
 * *out with iid__tensor_alloc, and reports failures through iid__onnx_op_fail(),
 * which names the model file, the node and its op_type. Tensors are host memory
 * (the graph runs on a host backend); the convolution, matrix products, pooling,
 * batch norm and activations go through the backend table (c->be), the shape and
 * broadcasting arithmetic is done here.
 */
#ifndef IID_OPS_ONNX_OPS_H
#define IID_OPS_ONNX_OPS_H

#include "core/tensor.h"
#include "io/onnx.h"
#include "ops/backend.h"

typedef struct iid_onnx_op_ctx {
    const iid_backend_t *be;     /* runs the heavy kernels (Conv, MatMul, pooling, ...) */
    const char *path;            /* model file, for messages */
    const iid_onnx_node_t *node; /* attributes and names */
    int64_t opset;               /* the default domain's opset version */
    iid_error_t *err;
} iid_onnx_op_ctx_t;

typedef iid_status (*iid_onnx_kernel_fn)(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n_in,
                                         iid_tensor_t *out);

typedef struct iid_onnx_op {
    const char *op_type;
    iid_onnx_kernel_fn run;
    int min_inputs, max_inputs;
} iid_onnx_op_t;

/* The kernel for op_type in the default domain, or NULL when we do not implement it. */
const iid_onnx_op_t *iid__onnx_op_find(const char *op_type);

/* Fill c->err with "<path>: node '<name>' (<op_type>): <message>" and return code. */
iid_status iid__onnx_op_fail(const iid_onnx_op_ctx_t *c, iid_status code, const char *fmt, ...) IID_PRINTF(3, 4);

/* Attribute helpers: the value, or def when the attribute is absent. */
int64_t iid__onnx_attr_int(const iid_onnx_node_t *n, const char *name, int64_t def);
float iid__onnx_attr_float(const iid_onnx_node_t *n, const char *name, float def);
const char *iid__onnx_attr_str(const iid_onnx_node_t *n, const char *name, const char *def);
/* An INTS attribute: its count (0 when absent) and values. */
int iid__onnx_attr_ints(const iid_onnx_node_t *n, const char *name, const int64_t **vals);

/* Check that input i exists and has dtype dt (F32 or I64) and at least/most the
 * given rank (-1 for no bound). */
iid_status iid__onnx_need(const iid_onnx_op_ctx_t *c, const iid_tensor_t *const *in, int n_in, int i, iid_dtype_t dt,
                          int min_rank, int max_rank);

/* Kernels, one per op_type (declared here so the table and the tests see them). */
iid_status iid__onnx_add(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_sub(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_mul(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_div(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_prelu(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_relu(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_sigmoid(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_identity(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_cast(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_constant(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);

iid_status iid__onnx_conv(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_maxpool(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_avgpool(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_batchnorm(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_gemm(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_matmul(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_flatten(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);

iid_status iid__onnx_shape(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_gather(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_unsqueeze(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_squeeze(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_slice(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_concat(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_reshape(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_transpose(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);
iid_status iid__onnx_resize(const iid_onnx_op_ctx_t *, const iid_tensor_t *const *, int, iid_tensor_t *);

#endif
