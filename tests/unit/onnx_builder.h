/*
 * onnx_builder.h - a tiny protobuf writer for building ONNX models in tests.
 *
 * A pb_t is a growable byte buffer; pb_msg() appends a nested message (key,
 * length, bytes) so models are written inside out:
 *
 *   pb_t node = {0}; pb_str(&node, 1, "x"); pb_str(&node, 2, "y"); pb_str(&node, 4, "Relu");
 *   pb_t graph = {0}; pb_msg(&graph, 1, &node);
 *
 * Field numbers are onnx.proto's. Header-only (static inline functions) so each test
 * that needs it includes it without another library.
 */
#ifndef IID_TEST_ONNX_BUILDER_H
#define IID_TEST_ONNX_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pb {
    unsigned char *p;
    size_t n, cap;
} pb_t;

static inline void pb_bytes(pb_t *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static inline void pb_varint(pb_t *b, uint64_t v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        pb_bytes(b, &c, 1);
    } while (v);
}

static inline void pb_key(pb_t *b, unsigned field, unsigned wire) { pb_varint(b, (uint64_t)field << 3 | wire); }

static inline void pb_int(pb_t *b, unsigned field, int64_t v)
{
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

static inline void pb_float(pb_t *b, unsigned field, float v)
{
    pb_key(b, field, 5);
    pb_bytes(b, &v, 4);
}

static inline void pb_blob(pb_t *b, unsigned field, const void *d, size_t n)
{
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_bytes(b, d, n);
}

static inline void pb_str(pb_t *b, unsigned field, const char *s) { pb_blob(b, field, s, strlen(s)); }

/* Append msg as a nested message and free it. */
static inline void pb_msg(pb_t *b, unsigned field, pb_t *msg)
{
    pb_blob(b, field, msg->p, msg->n);
    free(msg->p);
    memset(msg, 0, sizeof *msg);
}

/* TensorProto with float raw_data. */
static inline void pb_tensor_f32(pb_t *t, const char *name, const int64_t *dims, int nd, const float *v, size_t n)
{
    for (int i = 0; i < nd; i++) pb_int(t, 1, dims[i]);
    pb_int(t, 2, 1);
    pb_str(t, 8, name);
    pb_blob(t, 9, v, n * sizeof(float));
}

/* ValueInfoProto of a float tensor with the given dims (-1 = symbolic "N"). */
static inline void pb_value_info(pb_t *vi, const char *name, const int64_t *dims, int nd)
{
    pb_t shape = {0}, tt = {0}, type = {0};
    for (int i = 0; i < nd; i++) {
        pb_t dim = {0};
        if (dims[i] < 0) pb_str(&dim, 2, "N");
        else pb_int(&dim, 1, dims[i]);
        pb_msg(&shape, 1, &dim);
    }
    pb_int(&tt, 1, 1);
    pb_msg(&tt, 2, &shape);
    pb_msg(&type, 1, &tt);
    pb_str(vi, 1, name);
    pb_msg(vi, 2, &type);
}

#endif
