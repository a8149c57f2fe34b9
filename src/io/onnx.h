/*
 * onnx.h - reading ONNX model files (ModelProto) without a protobuf library.
 *
 * A small hand-written protobuf wire-format reader decodes exactly the parts of
 * onnx.proto that inference needs: the opset imports, and the graph's nodes,
 * initializers, inputs, outputs and value_info, with their attributes, tensors and
 * tensor shapes. Unknown fields are skipped by wire type, as protobuf requires.
 *
 * Every length is bounded before use: varints are at most 10 bytes, a
 * length-delimited field must fit in its enclosing message, tensors have at most
 * IID_MAX_DIMS dimensions whose product must match the stored data exactly, and
 * nested graphs (If/Loop bodies) are not descended into. Tensors that keep their
 * data outside the file (external_data) are refused with IID_ERR_UNSUPPORTED.
 *
 * Tensor data is copied out of the file into owned buffers, so the mapping is
 * released once loading ends. Decoded dtypes: FLOAT -> F32, DOUBLE -> F64,
 * FLOAT16 -> F16, INT64 -> I64, INT32/INT16/INT8 -> I32, UINT8 -> U8, BOOL -> BOOL.
 *
 *   iid_onnx_model_t m;
 *   if (iid__onnx_load(&m, "det_10g.onnx", &err) != IID_OK) return err.code;
 *   for (int i = 0; i < m.graph.n_nodes; i++) puts(m.graph.nodes[i].op_type);
 *   iid__onnx_free(&m);
 */
#ifndef IID_IO_ONNX_H
#define IID_IO_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* TensorProto.DataType codes used in messages and Cast's "to". */
enum {
    IID_ONNX_FLOAT = 1,
    IID_ONNX_UINT8 = 2,
    IID_ONNX_INT8 = 3,
    IID_ONNX_INT16 = 5,
    IID_ONNX_INT32 = 6,
    IID_ONNX_INT64 = 7,
    IID_ONNX_BOOL = 9,
    IID_ONNX_FLOAT16 = 10,
    IID_ONNX_DOUBLE = 11
};

/* AttributeProto.AttributeType. */
typedef enum iid_onnx_attr_type {
    IID_ONNX_ATTR_UNDEFINED = 0,
    IID_ONNX_ATTR_FLOAT = 1,
    IID_ONNX_ATTR_INT = 2,
    IID_ONNX_ATTR_STRING = 3,
    IID_ONNX_ATTR_TENSOR = 4,
    IID_ONNX_ATTR_GRAPH = 5,
    IID_ONNX_ATTR_FLOATS = 6,
    IID_ONNX_ATTR_INTS = 7,
    IID_ONNX_ATTR_STRINGS = 8
} iid_onnx_attr_type_t;

/* A named constant tensor (an initializer or an attribute's value). */
typedef struct iid_onnx_tensor {
    char *name;      /* "" when the file gave none */
    int data_type;   /* the file's TensorProto.DataType code */
    iid_tensor_t value; /* owns its data */
} iid_onnx_tensor_t;

typedef struct iid_onnx_attr {
    char *name;
    iid_onnx_attr_type_t type; /* as declared, or inferred from the field present */
    float f;
    int64_t i;
    char *s;                   /* NUL-terminated copy of the bytes */
    iid_onnx_tensor_t *t;      /* owned, or NULL */
    int n_floats;
    float *floats;
    int n_ints;
    int64_t *ints;
} iid_onnx_attr_t;

typedef struct iid_onnx_node {
    char *name, *op_type, *domain;
    int n_inputs;
    char **inputs;  /* "" marks an omitted optional input */
    int n_outputs;
    char **outputs;
    int n_attrs;
    iid_onnx_attr_t *attrs;
} iid_onnx_node_t;

/* One dimension of a declared shape: a size, or a symbolic name (value -1). */
typedef struct iid_onnx_dim {
    int64_t value;
    char *param; /* NULL unless symbolic */
} iid_onnx_dim_t;

typedef struct iid_onnx_value_info {
    char *name;
    int elem_type; /* 0 when not declared */
    int ndim;      /* -1 when no shape is declared */
    iid_onnx_dim_t dims[IID_MAX_DIMS];
} iid_onnx_value_info_t;

typedef struct iid_onnx_graph {
    char *name;
    int n_nodes;
    iid_onnx_node_t *nodes;
    int n_initializers;
    iid_onnx_tensor_t *initializers;
    int n_inputs;
    iid_onnx_value_info_t *inputs; /* may include initializers (IR < 4 style) */
    int n_outputs;
    iid_onnx_value_info_t *outputs;
    int n_value_info;
    iid_onnx_value_info_t *value_info;
} iid_onnx_graph_t;

typedef struct iid_onnx_opset {
    char *domain; /* "" is the default ONNX domain */
    int64_t version;
} iid_onnx_opset_t;

typedef struct iid_onnx_model {
    char *path; /* the label used in messages */
    int64_t ir_version;
    char *producer_name;
    int n_opsets;
    iid_onnx_opset_t *opsets;
    iid_onnx_graph_t graph;
} iid_onnx_model_t;

/* Map the file at path, decode it into *m and unmap it. On failure *m is left
 * empty (safe to free) and err names the path and the malformed field. */
iid_status iid__onnx_load(iid_onnx_model_t *m, const char *path, iid_error_t *err);

/* Decode size bytes of a serialised ModelProto; label names it in messages. The
 * buffer is not referenced after the call. Same failure contract as _load. */
iid_status iid__onnx_parse(iid_onnx_model_t *m, const void *buf, size_t size, const char *label, iid_error_t *err);

/* Release everything *m owns and zero it. NULL is a no-op. */
void iid__onnx_free(iid_onnx_model_t *m);

/* The attribute called name on node n, or NULL. */
const iid_onnx_attr_t *iid__onnx_attr(const iid_onnx_node_t *n, const char *name);

/* The opset version imported for domain ("" or "ai.onnx" for the default), or 0. */
int64_t iid__onnx_opset(const iid_onnx_model_t *m, const char *domain);

/* The iid dtype an ONNX DataType code decodes to; false for unsupported codes. */
int iid__onnx_dtype(int data_type, iid_dtype_t *out);

#endif
