/* test_onnx.c - the ONNX reader and graph executor on hand-built models, malformed
 * files, and (when the kit is present) the kit's real models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx.h"
#include "ops/onnx/onnx_graph.h"
#include "onnx_builder.h"
#include "support.h"

/* Build: y = Relu(x * w), x [N, 3] symbolic batch, w = {1, 2, 3}; nodes written in
 * reverse order so the executor has to sort them. extra_node_op adds a node of
 * that op_type reading y (NULL for none). */
static pb_t build_model(const char *extra_node_op)
{
    pb_t model = {0}, graph = {0}, n0 = {0}, n1 = {0}, init = {0}, in = {0}, out = {0}, opset = {0}, attr = {0};
    int64_t wd[1] = {3}, xd[2] = {-1, 3}, yd[2] = {-1, 3};
    float w[3] = {1, 2, 3};
    pb_str(&n1, 1, "m");
    pb_str(&n1, 2, "y");
    pb_str(&n1, 3, "relu0");
    pb_str(&n1, 4, "Relu");
    pb_msg(&graph, 1, &n1);
    pb_str(&n0, 1, "x");
    pb_str(&n0, 1, "w");
    pb_str(&n0, 2, "m");
    pb_str(&n0, 3, "mul0");
    pb_str(&n0, 4, "Mul");
    pb_str(&attr, 1, "unused_ints"); /* packed ints, float and string attributes */
    int64_t ints[3] = {2, -1, 300};
    pb_t packed = {0};
    for (int i = 0; i < 3; i++) pb_varint(&packed, (uint64_t)ints[i]);
    pb_msg(&attr, 8, &packed);
    pb_int(&attr, 20, 7);
    pb_msg(&n0, 5, &attr);
    pb_str(&attr, 1, "alpha");
    pb_float(&attr, 2, 0.25f);
    pb_int(&attr, 20, 1);
    pb_msg(&n0, 5, &attr);
    pb_str(&attr, 1, "mode");
    pb_str(&attr, 4, "nearest");
    pb_int(&attr, 20, 3);
    pb_msg(&n0, 5, &attr);
    pb_msg(&graph, 1, &n0);
    if (extra_node_op) {
        pb_t n2 = {0};
        pb_str(&n2, 1, "y");
        pb_str(&n2, 2, "z");
        pb_str(&n2, 3, "extra");
        pb_str(&n2, 4, extra_node_op);
        pb_msg(&graph, 1, &n2);
    }
    pb_str(&graph, 2, "tiny");
    pb_tensor_f32(&init, "w", wd, 1, w, 3);
    pb_msg(&graph, 5, &init);
    pb_value_info(&in, "x", xd, 2);
    pb_msg(&graph, 11, &in);
    pb_value_info(&out, "y", yd, 2);
    pb_msg(&graph, 12, &out);
    pb_int(&model, 1, 7);
    pb_str(&model, 2, "unit-test");
    pb_int(&opset, 2, 11);
    pb_msg(&model, 8, &opset);
    pb_msg(&model, 7, &graph);
    return model;
}

static void test_parse_fields(void **state)
{
    (void)state;
    pb_t b = build_model(NULL);
    iid_onnx_model_t m;
    iid_error_t err;
    assert_int_equal(iid__onnx_parse(&m, b.p, b.n, "tiny.onnx", &err), IID_OK);
    assert_int_equal(m.ir_version, 7);
    assert_int_equal(iid__onnx_opset(&m, ""), 11);
    assert_int_equal(iid__onnx_opset(&m, "ai.onnx"), 11);
    assert_string_equal(m.producer_name, "unit-test");
    assert_int_equal(m.graph.n_nodes, 2);
    const iid_onnx_node_t *mul = &m.graph.nodes[1];
    assert_string_equal(mul->op_type, "Mul");
    assert_int_equal(mul->n_inputs, 2);
    assert_string_equal(mul->inputs[1], "w");
    const iid_onnx_attr_t *a = iid__onnx_attr(mul, "unused_ints");
    assert_non_null(a);
    assert_int_equal(a->type, IID_ONNX_ATTR_INTS);
    assert_int_equal(a->n_ints, 3);
    assert_int_equal(a->ints[1], -1);
    assert_int_equal(a->ints[2], 300);
    assert_true(iid__onnx_attr(mul, "alpha")->f == 0.25f);
    assert_string_equal(iid__onnx_attr(mul, "mode")->s, "nearest");
    assert_null(iid__onnx_attr(mul, "missing"));
    assert_int_equal(m.graph.n_initializers, 1);
    assert_int_equal(m.graph.initializers[0].value.dtype, IID_DTYPE_F32);
    assert_true(((float *)m.graph.initializers[0].value.data)[2] == 3.0f);
    assert_int_equal(m.graph.inputs[0].ndim, 2);
    assert_string_equal(m.graph.inputs[0].dims[0].param, "N");
    assert_int_equal(m.graph.inputs[0].dims[1].value, 3);
    iid__onnx_free(&m);
    iid__onnx_free(&m); /* twice is fine: freed models are zeroed */
    iid__onnx_free(NULL);
    free(b.p);
}

static void test_run_sorted_graph(void **state)
{
    (void)state;
    pb_t b = build_model(NULL);
    iid_onnx_model_t m;
    iid_onnx_net_t net;
    iid_error_t err;
    assert_int_equal(iid__onnx_parse(&m, b.p, b.n, "tiny.onnx", &err), IID_OK);
    assert_int_equal(iid__onnx_net_init(&net, &m, &err), IID_OK);
    assert_int_equal(net.n_inputs, 1);
    assert_int_equal(net.n_outputs, 1);
    assert_string_equal(iid__onnx_net_output_name(&net, 0), "y");
    assert_string_equal(net.steps[0].node->op_type, "Mul"); /* sorted before Relu */
    float xv[6] = {-1, 1, 2, 3, -4, 0.5f}, want[6] = {0, 2, 6, 3, 0, 1.5f};
    int64_t xs[2] = {2, 3};
    iid_tensor_t x, y;
    iid__tensor_view(&x, IID_DTYPE_F32, 2, xs, xv);
    const iid_tensor_t *in[1] = {&x};
    for (int rep = 0; rep < 2; rep++) { /* the net is reusable */
        assert_int_equal(iid__onnx_net_run(&net, in, &y, &err), IID_OK);
        assert_int_equal(y.ndim, 2);
        assert_memory_equal(y.data, want, sizeof want);
        iid__tensor_free(&y);
    }
    /* An intermediate kept for inspection survives the run and can be taken once. */
    assert_int_equal(iid__onnx_net_keep(&net, "m", &err), IID_OK);
    assert_int_equal(iid__onnx_net_keep(&net, "nothing", &err), IID_ERR_NOT_FOUND);
    assert_int_equal(iid__onnx_net_run(&net, in, &y, &err), IID_OK);
    iid_tensor_t m_val;
    assert_int_equal(iid__onnx_net_take(&net, "m", &m_val, &err), IID_OK);
    float m_want[6] = {-1, 2, 6, 3, -8, 1.5f};
    assert_memory_equal(m_val.data, m_want, sizeof m_want);
    assert_int_equal(iid__onnx_net_take(&net, "m", &m_val, &err) == IID_OK ? 1 : 0, 0);
    iid__tensor_free(&m_val);
    iid__tensor_free(&y);
    int64_t bad[2] = {2, 4}; /* the declared width is 3 */
    iid__tensor_view(&x, IID_DTYPE_F32, 2, bad, xv);
    assert_int_equal(iid__onnx_net_run(&net, in, &y, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "input 'x' dimension 1"));
    iid__onnx_net_free(&net);
    iid__onnx_net_free(NULL);
    free(b.p);
}

static void test_unknown_operator(void **state)
{
    (void)state;
    pb_t b = build_model("NoSuchOp");
    iid_onnx_model_t m;
    iid_onnx_net_t net;
    iid_error_t err;
    assert_int_equal(iid__onnx_parse(&m, b.p, b.n, "tiny.onnx", &err), IID_OK);
    assert_int_equal(iid__onnx_net_init(&net, &m, &err), IID_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "tiny.onnx: node 'extra': operator 'NoSuchOp'"));
    free(b.p);
}

/* A graph whose only node reads its own output, and one that reads a missing name. */
static void test_cycle_and_undefined(void **state)
{
    (void)state;
    const char *inputs[2] = {"loop", "nowhere"};
    const char *want[2] = {"cycle", "undefined value 'nowhere'"};
    for (int k = 0; k < 2; k++) {
        pb_t model = {0}, graph = {0}, node = {0}, out = {0};
        int64_t d[1] = {1};
        pb_str(&node, 1, inputs[k]);
        pb_str(&node, 2, "loop");
        pb_str(&node, 3, "n0");
        pb_str(&node, 4, "Relu");
        pb_msg(&graph, 1, &node);
        pb_value_info(&out, "loop", d, 1);
        pb_msg(&graph, 12, &out);
        pb_msg(&model, 7, &graph);
        iid_onnx_model_t m;
        iid_onnx_net_t net;
        iid_error_t err;
        assert_int_equal(iid__onnx_parse(&m, model.p, model.n, "g.onnx", &err), IID_OK);
        assert_int_equal(iid__onnx_net_init(&net, &m, &err), IID_ERR_FORMAT);
        assert_non_null(strstr(err.msg, want[k]));
        free(model.p);
    }
}

/* y = Reshape(x, Constant(int32 [3, 2] stored as int32_data)): constants are
 * converted to I64; a node whose second output is used is refused. */
static void test_constant_and_outputs(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        pb_t model = {0}, graph = {0}, cn = {0}, rn = {0}, attr = {0}, t = {0}, in = {0}, out = {0}, packed = {0};
        int64_t xd[1] = {6}, yd[2] = {3, 2};
        pb_int(&t, 1, 2);
        pb_int(&t, 2, 6); /* INT32 */
        pb_varint(&packed, 3);
        pb_varint(&packed, 2);
        pb_msg(&t, 5, &packed);
        pb_str(&attr, 1, "value");
        pb_msg(&attr, 5, &t);
        pb_int(&attr, 20, 4);
        pb_str(&cn, 2, "shape");
        pb_str(&cn, 3, "const0");
        pb_str(&cn, 4, "Constant");
        pb_msg(&cn, 5, &attr);
        pb_msg(&graph, 1, &cn);
        pb_str(&rn, 1, "x");
        pb_str(&rn, 1, "shape");
        pb_str(&rn, 2, k == 0 ? "y" : "");
        if (k == 1) pb_str(&rn, 2, "y"); /* the second output */
        pb_str(&rn, 3, "reshape0");
        pb_str(&rn, 4, "Reshape");
        pb_msg(&graph, 1, &rn);
        pb_value_info(&in, "x", xd, 1);
        pb_msg(&graph, 11, &in);
        pb_value_info(&out, "y", yd, 2);
        pb_msg(&graph, 12, &out);
        pb_msg(&model, 7, &graph);
        iid_onnx_model_t m;
        iid_onnx_net_t net;
        iid_error_t err;
        assert_int_equal(iid__onnx_parse(&m, model.p, model.n, "c.onnx", &err), IID_OK);
        if (k == 1) {
            assert_int_equal(iid__onnx_net_init(&net, &m, &err), IID_ERR_UNSUPPORTED);
            assert_non_null(strstr(err.msg, "node 'reshape0' (Reshape): output 1"));
            free(model.p);
            continue;
        }
        assert_int_equal(iid__onnx_net_init(&net, &m, &err), IID_OK);
        float xv[6] = {1, 2, 3, 4, 5, 6};
        iid_tensor_t x, y;
        iid__tensor_view(&x, IID_DTYPE_F32, 1, xd, xv);
        const iid_tensor_t *ins[1] = {&x};
        assert_int_equal(iid__onnx_net_run(&net, ins, &y, &err), IID_OK);
        assert_int_equal(y.ndim, 2);
        assert_int_equal(y.shape[0], 3);
        assert_memory_equal(y.data, xv, sizeof xv);
        iid__tensor_free(&y);
        iid__onnx_net_free(&net);
        free(model.p);
    }
}

static iid_status parse_bytes(const void *p, size_t n, iid_error_t *err)
{
    iid_onnx_model_t m;
    iid_status s = iid__onnx_parse(&m, p, n, "bad.onnx", err);
    iid__onnx_free(&m);
    return s;
}

static void test_malformed(void **state)
{
    (void)state;
    iid_error_t err;
    /* Every truncation of a valid model is handled (no crash; ASan checks reads). */
    pb_t b = build_model(NULL);
    for (size_t n = 0; n < b.n; n++) parse_bytes(b.p, n, &err);
    free(b.p);

    const unsigned char varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(parse_bytes(varint, sizeof varint, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.onnx: model: varint"));
    const unsigned char past_end[] = {0x3a, 0x10, 0x0a};
    assert_int_equal(parse_bytes(past_end, sizeof past_end, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "runs past its message"));
    const unsigned char group[] = {0x0b, 0x0c};
    assert_int_equal(parse_bytes(group, sizeof group, &err), IID_ERR_FORMAT);
    const unsigned char empty[] = {0x08, 0x07};
    assert_int_equal(parse_bytes(empty, sizeof empty, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "no graph"));

    /* Tensors: raw_data size against dims, external data, unknown dtype, rank, and
     * huge dims with little data (refused before any allocation). */
    for (int k = 0; k < 5; k++) {
        pb_t model = {0}, graph = {0}, t = {0};
        float v[2] = {1, 2};
        int64_t dims[9] = {3, 1, 1, 1, 1, 1, 1, 1, 1};
        if (k == 0) pb_tensor_f32(&t, "w", dims, 1, v, 2);
        if (k == 1) {
            pb_tensor_f32(&t, "w", dims, 1, v, 2);
            pb_int(&t, 14, 1);
        }
        if (k == 2) {
            pb_int(&t, 2, 8); /* STRING */
            pb_str(&t, 8, "w");
        }
        if (k == 3) pb_tensor_f32(&t, "w", dims + 1, 9 - 1, v, 1), pb_int(&t, 1, 1);
        int64_t huge[2] = {(int64_t)1 << 17, (int64_t)1 << 16};
        if (k == 4) pb_tensor_f32(&t, "w", huge, 2, v, 1);
        pb_msg(&graph, 5, &t);
        pb_msg(&model, 7, &graph);
        iid_status want[5] = {IID_ERR_FORMAT, IID_ERR_UNSUPPORTED, IID_ERR_UNSUPPORTED, IID_ERR_FORMAT, IID_ERR_FORMAT};
        assert_int_equal(parse_bytes(model.p, model.n, &err), want[k]);
        assert_non_null(strstr(err.msg, "tensor 'w'"));
        free(model.p);
    }
}

/* The kit's models parse and prepare, and report what insightface relies on. */
static void test_kit_models(void **state)
{
    (void)state;
    const char *files[] = {"det_2.5g.onnx", "det_500m.onnx", "mbf128_paddle.onnx", "tiny_iresnet.onnx"};
    int outs[] = {9, 9, 1, 1};
    for (int i = 0; i < 4; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "conformance/faces/models/%s", files[i]);
        iid_onnx_net_t net;
        iid_error_t err;
        assert_int_equal(iid__onnx_net_load(&net, iid_test_shared_path(rel), &err), IID_OK);
        assert_int_equal(net.n_inputs, 1);
        assert_int_equal(net.n_outputs, outs[i]);
        iid__onnx_net_free(&net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields),       cmocka_unit_test(test_run_sorted_graph),
        cmocka_unit_test(test_unknown_operator),   cmocka_unit_test(test_cycle_and_undefined),
        cmocka_unit_test(test_constant_and_outputs), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_kit_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
