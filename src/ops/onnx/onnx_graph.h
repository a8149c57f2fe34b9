/*
 * onnx_graph.h - running an ONNX graph on the CPU.
 *
 * iid__onnx_net_init() takes a decoded model (io/onnx.h) and prepares it once:
 * every tensor name gets a slot in a value table; initializers and Constant
 * attributes are converted to F32 (float types) or I64 (integer types); nodes are
 * put in topological order (Kahn), each bound to its kernel (ops/onnx/onnx_ops.h)
 * with its arity checked; and each intermediate value's last reader is recorded
 * so that run() frees it right after that node. A model that uses an operator we
 * do not implement, reads an undefined name, or has a cycle fails here, before
 * any input is seen, with a message naming the file and the node.
 *
 * iid__onnx_net_run() binds the caller's inputs (F32, ranks and fixed sizes as
 * declared; symbolic sizes such as SCRFD's H, W or glintr100's batch "None" take
 * any value), runs the nodes in order, and hands the graph outputs to the caller,
 * in the graph's output order. One net runs one call at a time (the value table is
 * per net); load several nets to run concurrently.
 *
 *   iid_onnx_net_t net;
 *   IID_TRY(iid__onnx_net_load(&net, "det_10g.onnx", err));
 *   const iid_tensor_t *in[1] = {&blob};          // (1, 3, 640, 640)
 *   iid_tensor_t out[9];
 *   IID_TRY(iid__onnx_net_run(&net, in, out, err)); // free each out[i] after use
 *   iid__onnx_net_free(&net);
 */
#ifndef IID_OPS_ONNX_GRAPH_H
#define IID_OPS_ONNX_GRAPH_H

#include "io/onnx.h"
#include "ops/onnx/onnx_ops.h"

typedef struct iid_onnx_step {
    const iid_onnx_node_t *node;
    const iid_onnx_op_t *op;
    int n_in;
    int *in;       /* value ids; -1 for an omitted optional input */
    int out;       /* value id of the node's (single) output */
    int n_free;
    int *free_ids; /* intermediates whose last reader is this step */
} iid_onnx_step_t;

typedef struct iid_onnx_net {
    iid_onnx_model_t model; /* owned */
    int64_t opset;
    int n_values;
    const char **names;     /* point into model */
    iid_tensor_t *values;   /* constants are views of model data; intermediates owned */
    unsigned char *is_const;
    int *sorted;            /* value ids sorted by name, for lookup */
    int n_steps;
    iid_onnx_step_t *steps;
    int n_inputs;           /* graph inputs that are not initializers */
    int *input_ids;
    const iid_onnx_value_info_t **input_info;
    int n_outputs;
    int *output_ids;
    unsigned char *kept;    /* values iid__onnx_net_keep() asked to keep */
    const iid_backend_t *be; /* runs the kernels: a host backend, the default at load */
} iid_onnx_net_t;

/* Prepare a net from *model, taking ownership of its contents (the caller's struct
 * is zeroed, also on failure, when everything is released). Errors name the file
 * and the node or tensor at fault. */
iid_status iid__onnx_net_init(iid_onnx_net_t *net, iid_onnx_model_t *model, iid_error_t *err);

/* iid__onnx_load() + iid__onnx_net_init(). */
iid_status iid__onnx_net_load(iid_onnx_net_t *net, const char *path, iid_error_t *err);

/* Run the graph. inputs holds n_inputs tensors in the graph's input order; they are
 * only read. outputs receives n_outputs owned tensors (free each with
 * iid__tensor_free). On failure no outputs are returned and err names the node. */
iid_status iid__onnx_net_run(iid_onnx_net_t *net, const iid_tensor_t *const *inputs, iid_tensor_t *outputs,
                             iid_error_t *err);

/* Debugging and intermediate checks: keep the value called name after each run
 * instead of freeing it at its last use. IID_ERR_NOT_FOUND when no value has that
 * name. */
iid_status iid__onnx_net_keep(iid_onnx_net_t *net, const char *name, iid_error_t *err);

/* Move a kept value out after a run (the caller frees it). IID_ERR_NOT_FOUND when
 * the value was not kept or not computed by the last run. */
iid_status iid__onnx_net_take(iid_onnx_net_t *net, const char *name, iid_tensor_t *out, iid_error_t *err);

/* Release everything; NULL is a no-op. */
void iid__onnx_net_free(iid_onnx_net_t *net);

/* The name of graph output i, or NULL when out of range. */
const char *iid__onnx_net_output_name(const iid_onnx_net_t *net, int i);

#endif
