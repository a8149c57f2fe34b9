/*
 * onnx_graph.c - preparing and running an ONNX graph (see onnx_graph.h).
 *
 * Value ids: initializers first, then the graph inputs that are not initializers,
 * then each node output. Names are looked up by binary search in `sorted`. The
 * topological sort is Kahn's algorithm over "this node reads a value another node
 * writes"; the file's node order is kept where it is already valid.
 */
#include "ops/onnx/onnx_graph.h"

#include <stdlib.h>
#include <string.h>

/* qsort has no context argument in C11, so ids are sorted by name with a small
 * merge sort instead of through a global. */
static void sort_ids(int *ids, int *tmp, int n, const char **names)
{
    if (n < 2) return;
    int h = n / 2;
    sort_ids(ids, tmp, h, names);
    sort_ids(ids + h, tmp, n - h, names);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = strcmp(names[ids[i]], names[ids[j]]) <= 0 ? ids[i++] : ids[j++];
    while (i < h) tmp[k++] = ids[i++];
    while (j < n) tmp[k++] = ids[j++];
    memcpy(ids, tmp, (size_t)n * sizeof(int));
}

static int find_value(const iid_onnx_net_t *net, const char *name)
{
    int lo = 0, hi = net->n_values - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, id = net->sorted[mid];
        int c = strcmp(net->names[id], name);
        if (c == 0) return id;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* Convert a decoded constant in place to F32 (float dtypes) or I64 (integers). */
static iid_status normalise(iid_tensor_t *t, const char *path, const char *name, iid_error_t *err)
{
    if (t->dtype == IID_DTYPE_F32 || t->dtype == IID_DTYPE_I64) return IID_OK;
    int is_float = t->dtype == IID_DTYPE_F64 || t->dtype == IID_DTYPE_F16 || t->dtype == IID_DTYPE_BF16;
    iid_tensor_t nt;
    IID_TRY(iid__tensor_alloc(&nt, is_float ? IID_DTYPE_F32 : IID_DTYPE_I64, t->ndim, t->shape, err));
    int64_t n = iid__tensor_numel(t);
    iid_status st = IID_OK;
    if (is_float) {
        st = iid__convert_to_f32(nt.data, t->data, t->dtype, (size_t)n, err);
    } else {
        for (int64_t i = 0; i < n; i++) {
            int64_t v = t->dtype == IID_DTYPE_I32 ? ((const int32_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
            ((int64_t *)nt.data)[i] = v;
        }
    }
    if (st != IID_OK) {
        iid__tensor_free(&nt);
        return iid__prefix(err, st, "%s: tensor '%s'", path, name);
    }
    iid__tensor_free(t);
    *t = nt;
    return IID_OK;
}

static iid_status nomem(const iid_onnx_net_t *net, iid_error_t *err)
{
    return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory preparing the graph", net->model.path);
}

/* Register every defined name; duplicates are an error. */
static iid_status collect_values(iid_onnx_net_t *net, iid_error_t *err)
{
    iid_onnx_graph_t *g = &net->model.graph;
    int64_t total = (int64_t)g->n_initializers + g->n_inputs;
    for (int i = 0; i < g->n_nodes; i++) total += g->nodes[i].n_outputs;
    if (total > INT32_MAX / 2) return iid__fail(err, IID_ERR_RANGE, "%s: graph too large", net->model.path);
    size_t cap = (size_t)total + 1;
    net->names = calloc(cap, sizeof *net->names);
    net->values = calloc(cap, sizeof *net->values);
    net->is_const = calloc(cap, 1);
    net->sorted = calloc(cap, sizeof *net->sorted);
    net->input_ids = calloc((size_t)g->n_inputs + 1, sizeof(int));
    net->input_info = calloc((size_t)g->n_inputs + 1, sizeof *net->input_info);
    net->output_ids = calloc((size_t)g->n_outputs + 1, sizeof(int));
    net->kept = calloc(cap, 1);
    if (!net->names || !net->values || !net->is_const || !net->sorted || !net->input_ids || !net->input_info ||
        !net->output_ids || !net->kept)
        return nomem(net, err);
    int n = 0;
    for (int i = 0; i < g->n_initializers; i++) {
        iid_onnx_tensor_t *t = &g->initializers[i];
        IID_TRY(normalise(&t->value, net->model.path, t->name, err));
        net->names[n] = t->name;
        iid__tensor_view(&net->values[n], t->value.dtype, t->value.ndim, t->value.shape, t->value.data);
        net->is_const[n++] = 1;
    }
    int n_init = n;
    for (int i = 0; i < g->n_inputs; i++) { /* an input shadowed by an initializer is a constant */
        int dup = 0;
        for (int j = 0; j < n_init && !dup; j++) dup = strcmp(net->names[j], g->inputs[i].name) == 0;
        if (dup) continue;
        net->input_info[net->n_inputs] = &g->inputs[i];
        net->input_ids[net->n_inputs++] = n;
        net->names[n++] = g->inputs[i].name;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        iid_onnx_node_t *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_outputs; k++)
            if (nd->outputs[k][0]) net->names[n++] = nd->outputs[k];
        const iid_onnx_attr_t *a = iid__onnx_attr(nd, "value");
        if (strcmp(nd->op_type, "Constant") == 0 && a && a->t) IID_TRY(normalise(&a->t->value, net->model.path, nd->name, err));
    }
    net->n_values = n;
    int *tmp = malloc(((size_t)n + 1) * sizeof(int));
    if (!tmp) return nomem(net, err);
    for (int i = 0; i < n; i++) net->sorted[i] = i;
    sort_ids(net->sorted, tmp, n, net->names);
    free(tmp);
    for (int i = 1; i < n; i++)
        if (strcmp(net->names[net->sorted[i - 1]], net->names[net->sorted[i]]) == 0)
            return iid__fail(err, IID_ERR_FORMAT, "%s: value '%s' is defined twice", net->model.path,
                             net->names[net->sorted[i]]);
    for (int i = 0; i < g->n_outputs; i++) {
        net->output_ids[i] = find_value(net, g->outputs[i].name);
        if (net->output_ids[i] < 0)
            return iid__fail(err, IID_ERR_FORMAT, "%s: graph output '%s' is never produced", net->model.path,
                             g->outputs[i].name);
    }
    net->n_outputs = g->n_outputs;
    return IID_OK;
}

/* Order the nodes so each runs after the producers of its inputs, and bind kernels. */
static iid_status schedule(iid_onnx_net_t *net, iid_error_t *err)
{
    iid_onnx_graph_t *g = &net->model.graph;
    int nn = g->n_nodes;
    net->steps = calloc((size_t)nn + 1, sizeof *net->steps);
    unsigned char *defined = calloc((size_t)net->n_values + 1, 1), *done = calloc((size_t)nn + 1, 1);
    iid_status st = IID_OK;
    if (!net->steps || !defined || !done) st = nomem(net, err);
    for (int i = 0; st == IID_OK && i < net->n_values; i++) defined[i] = net->is_const[i];
    for (int i = 0; i < net->n_inputs; i++) defined[net->input_ids[i]] = 1;
    int placed = 0, progress = 1;
    while (st == IID_OK && placed < nn && progress) {
        progress = 0;
        for (int i = 0; st == IID_OK && i < nn; i++) {
            if (done[i]) continue;
            const iid_onnx_node_t *nd = &g->nodes[i];
            int ready = 1;
            for (int k = 0; k < nd->n_inputs && ready; k++) {
                if (!nd->inputs[k][0]) continue;
                int id = find_value(net, nd->inputs[k]);
                if (id < 0) {
                    st = iid__fail(err, IID_ERR_FORMAT, "%s: node '%s' (%s) reads undefined value '%s'", net->model.path,
                                   nd->name, nd->op_type, nd->inputs[k]);
                    ready = 0;
                } else {
                    ready = defined[id];
                }
            }
            if (!ready || st != IID_OK) continue;
            iid_onnx_step_t *s = &net->steps[placed++];
            s->node = nd;
            s->n_in = nd->n_inputs;
            s->in = malloc(((size_t)nd->n_inputs + 1) * sizeof(int));
            if (!s->in) {
                st = nomem(net, err);
                break;
            }
            for (int k = 0; k < nd->n_inputs; k++) s->in[k] = nd->inputs[k][0] ? find_value(net, nd->inputs[k]) : -1;
            s->out = -1;
            for (int k = 0; k < nd->n_outputs; k++) {
                if (!nd->outputs[k][0]) continue;
                if (k > 0) { /* kernels compute only the first output (BN's statistics, Dropout's mask) */
                    st = iid__fail(err, IID_ERR_UNSUPPORTED, "%s: node '%s' (%s): output %d is used; only the first is "
                                   "supported", net->model.path, nd->name, nd->op_type, k);
                    break;
                }
                s->out = find_value(net, nd->outputs[k]);
                defined[s->out] = 1;
            }
            done[i] = 1;
            progress = 1;
        }
    }
    if (st == IID_OK && placed < nn) {
        for (int i = 0; i < nn; i++)
            if (!done[i]) {
                st = iid__fail(err, IID_ERR_FORMAT, "%s: node '%s' (%s) is part of a cycle", net->model.path,
                               g->nodes[i].name, g->nodes[i].op_type);
                break;
            }
    }
    net->n_steps = placed;
    free(defined);
    free(done);
    return st;
}

/* Bind kernels, check arity and outputs, and record when each value dies. */
static iid_status bind_and_plan(iid_onnx_net_t *net, iid_error_t *err)
{
    net->opset = iid__onnx_opset(&net->model, "");
    /* the kernels read their tensors on the host: a device default runs them on cpu */
    net->be = iid__backend_default()->host_memory ? iid__backend_default() : &iid__backend_cpu;
    int *last = malloc(((size_t)net->n_values + 1) * sizeof(int));
    if (!last) return nomem(net, err);
    for (int i = 0; i < net->n_values; i++) last[i] = -1;
    for (int i = 0; i < net->n_steps; i++) {
        iid_onnx_step_t *s = &net->steps[i];
        const iid_onnx_node_t *nd = s->node;
        iid_status st = IID_OK;
        if (nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0)
            st = iid__fail(err, IID_ERR_UNSUPPORTED, "%s: node '%s': operator domain '%s' is not supported",
                           net->model.path, nd->name, nd->domain);
        else if (!(s->op = iid__onnx_op_find(nd->op_type)))
            st = iid__fail(err, IID_ERR_UNSUPPORTED, "%s: node '%s': operator '%s' is not implemented", net->model.path,
                           nd->name, nd->op_type);
        else if (nd->n_inputs < s->op->min_inputs || nd->n_inputs > s->op->max_inputs)
            st = iid__fail(err, IID_ERR_FORMAT, "%s: node '%s' (%s): %d inputs, expected %d..%d", net->model.path,
                           nd->name, nd->op_type, nd->n_inputs, s->op->min_inputs, s->op->max_inputs);
        else if (s->out < 0)
            st = iid__fail(err, IID_ERR_FORMAT, "%s: node '%s' (%s) has no output", net->model.path, nd->name,
                           nd->op_type);
        if (st != IID_OK) {
            free(last);
            return st;
        }
        for (int k = 0; k < s->n_in; k++)
            if (s->in[k] >= 0) last[s->in[k]] = i;
        last[s->out] = last[s->out] < i ? i : last[s->out]; /* an unread output dies at once */
    }
    for (int i = 0; i < net->n_outputs; i++) last[net->output_ids[i]] = -1;
    for (int i = 0; i < net->n_inputs; i++) last[net->input_ids[i]] = -1;
    for (int v = 0; v < net->n_values; v++) {
        if (net->is_const[v] || last[v] < 0) continue;
        iid_onnx_step_t *s = &net->steps[last[v]];
        int *nf = realloc(s->free_ids, ((size_t)s->n_free + 1) * sizeof(int));
        if (!nf) {
            free(last);
            return nomem(net, err);
        }
        s->free_ids = nf;
        s->free_ids[s->n_free++] = v;
    }
    free(last);
    return IID_OK;
}

iid_status iid__onnx_net_init(iid_onnx_net_t *net, iid_onnx_model_t *model, iid_error_t *err)
{
    memset(net, 0, sizeof *net);
    net->model = *model;
    memset(model, 0, sizeof *model);
    iid_status st = collect_values(net, err);
    if (st == IID_OK) st = schedule(net, err);
    if (st == IID_OK) st = bind_and_plan(net, err);
    if (st != IID_OK) iid__onnx_net_free(net);
    return st;
}

iid_status iid__onnx_net_load(iid_onnx_net_t *net, const char *path, iid_error_t *err)
{
    iid_onnx_model_t m;
    memset(net, 0, sizeof *net);
    IID_TRY(iid__onnx_load(&m, path, err));
    return iid__onnx_net_init(net, &m, err);
}

/* Free what a run left in the table; kept values survive unless all is set. */
static void release_intermediates(iid_onnx_net_t *net, int all)
{
    for (int v = 0; v < net->n_values; v++)
        if (!net->is_const[v] && (all || !net->kept[v] || !net->values[v].owns)) iid__tensor_free(&net->values[v]);
}

static iid_status bind_input(iid_onnx_net_t *net, int i, const iid_tensor_t *t, iid_error_t *err)
{
    const iid_onnx_value_info_t *vi = net->input_info[i];
    if (!t || t->dtype != IID_DTYPE_F32)
        return iid__fail(err, IID_ERR_INVALID, "%s: input '%s' must be an F32 tensor", net->model.path, vi->name);
    if (vi->ndim >= 0) {
        if (t->ndim != vi->ndim)
            return iid__fail(err, IID_ERR_INVALID, "%s: input '%s' has rank %d, the graph declares %d", net->model.path,
                             vi->name, t->ndim, vi->ndim);
        for (int d = 0; d < vi->ndim; d++)
            if (vi->dims[d].value > 0 && !vi->dims[d].param && t->shape[d] != vi->dims[d].value)
                return iid__fail(err, IID_ERR_INVALID, "%s: input '%s' dimension %d is %lld, the graph declares %lld",
                                 net->model.path, vi->name, d, (long long)t->shape[d], (long long)vi->dims[d].value);
    }
    iid__tensor_view(&net->values[net->input_ids[i]], t->dtype, t->ndim, t->shape, t->data);
    return IID_OK;
}

iid_status iid__onnx_net_run(iid_onnx_net_t *net, const iid_tensor_t *const *inputs, iid_tensor_t *outputs,
                             iid_error_t *err)
{
    iid_status st = IID_OK;
    for (int i = 0; i < net->n_inputs && st == IID_OK; i++) st = bind_input(net, i, inputs[i], err);
    const iid_tensor_t *args[64];
    for (int i = 0; i < net->n_steps && st == IID_OK; i++) {
        iid_onnx_step_t *s = &net->steps[i];
        iid_onnx_op_ctx_t ctx = {net->be, net->model.path, s->node, net->opset, err};
        const iid_tensor_t **a = args;
        if (s->n_in > 64 && !(a = malloc((size_t)s->n_in * sizeof *a))) {
            st = nomem(net, err);
            break;
        }
        for (int k = 0; k < s->n_in; k++) a[k] = s->in[k] >= 0 ? &net->values[s->in[k]] : NULL;
        iid__tensor_free(&net->values[s->out]);
        st = s->op->run(&ctx, a, s->n_in, &net->values[s->out]);
        if (a != args) free(a);
        for (int k = 0; k < s->n_free && st == IID_OK; k++)
            if (!net->kept[s->free_ids[k]]) iid__tensor_free(&net->values[s->free_ids[k]]);
    }
    for (int i = 0; i < net->n_outputs && st == IID_OK; i++) {
        iid_tensor_t *v = &net->values[net->output_ids[i]];
        if (v->owns) { /* hand over */
            outputs[i] = *v;
            memset(v, 0, sizeof *v);
        } else { /* an input or a constant passed straight through: copy */
            st = iid__tensor_alloc(&outputs[i], v->dtype, v->ndim, v->shape, err);
            if (st == IID_OK && iid__tensor_nbytes(v)) memcpy(outputs[i].data, v->data, iid__tensor_nbytes(v));
            if (st != IID_OK)
                for (int k = 0; k < i; k++) iid__tensor_free(&outputs[k]);
        }
    }
    release_intermediates(net, st != IID_OK);
    return st;
}

iid_status iid__onnx_net_keep(iid_onnx_net_t *net, const char *name, iid_error_t *err)
{
    int id = find_value(net, name);
    if (id < 0) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no value called '%s'", net->model.path, name);
    net->kept[id] = 1;
    return IID_OK;
}

iid_status iid__onnx_net_take(iid_onnx_net_t *net, const char *name, iid_tensor_t *out, iid_error_t *err)
{
    int id = find_value(net, name);
    if (id < 0 || !net->kept[id] || !net->values[id].owns)
        return iid__fail(err, IID_ERR_NOT_FOUND, "%s: value '%s' was not kept or not computed", net->model.path, name);
    *out = net->values[id];
    memset(&net->values[id], 0, sizeof net->values[id]);
    return IID_OK;
}

const char *iid__onnx_net_output_name(const iid_onnx_net_t *net, int i)
{
    return i >= 0 && i < net->n_outputs ? net->names[net->output_ids[i]] : NULL;
}

void iid__onnx_net_free(iid_onnx_net_t *net)
{
    if (!net) return;
    if (net->values) release_intermediates(net, 1);
    for (int i = 0; net->steps && i < net->n_steps; i++) {
        free(net->steps[i].in);
        free(net->steps[i].free_ids);
    }
    free(net->steps);
    free(net->names);
    free(net->values);
    free(net->is_const);
    free(net->sorted);
    free(net->input_ids);
    free(net->input_info);
    free(net->output_ids);
    free(net->kept);
    iid__onnx_free(&net->model);
    memset(net, 0, sizeof *net);
}
