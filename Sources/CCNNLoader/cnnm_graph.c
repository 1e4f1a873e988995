/*
 * cnnm_graph.c — FORMAT.md section 5 on the C side: names, topological order, tensor
 * references, parameter shapes and values, and a shape inference (unknown sizes allowed) that
 * proves channel counts agree. The executor reuses the shape inference with concrete sizes.
 */
#include "cnnm_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t cnnm_or_one(uint32_t v) { return v ? v : 1; }

int64_t cnnm_window_output(int64_t input, int64_t kernel, int64_t stride, int64_t dilation,
                           int64_t pad_begin, int64_t pad_end, int ceil_mode) {
    /* Callers keep every argument <= 2^40; only the dilated kernel can still overflow. */
    if (kernel > 1 && dilation > ((int64_t)1 << 60) / (kernel - 1)) return 0;
    int64_t span = input + pad_begin + pad_end - dilation * (kernel - 1) - 1;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    /* PyTorch/ONNX: with ceil mode the last window must start inside the input or begin padding. */
    if (ceil_mode && (out - 1) * stride >= input + pad_begin) out -= 1;
    return out;
}

/* "node 'conv1' (conv2d)" or "node #3 (conv2d)" for an unnamed node. */
static const char *node_label(const cnnm_model *m, const cnnm_node *n, char *buf, size_t size) {
    if (n->name[0])
        snprintf(buf, size, "node '%s' (%s)", n->name, cnnm_op_name(n->op));
    else
        snprintf(buf, size, "node #%zu (%s)", (size_t)(n - m->nodes), cnnm_op_name(n->op));
    return buf;
}

#define LABEL node_label(model, node, label, sizeof label)
#define FAIL(code, ...) return cnnm_fail(err, code, model->path, __VA_ARGS__)

static void shape_text(const cnnm_shape *s, char *buf, size_t size) {
    if (s->rank < 0) { snprintf(buf, size, "[?]"); return; }
    size_t k = 0;
    k += (size_t)snprintf(buf + k, size - k, "[");
    for (int i = 0; i < s->rank && k < size; i++) {
        if (s->d[i] < 0) k += (size_t)snprintf(buf + k, size - k, "%s?", i ? ", " : "");
        else k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    }
    if (k < size) snprintf(buf + k, size - k, "]");
}

/* Sizes of values are kept <= CNNM_MAX_DIM so that sums and products of two stay exact. */
#define CNNM_MAX_DIM ((int64_t)1 << 40)

static int64_t clamp_dim(uint64_t v) { return v > (uint64_t)CNNM_MAX_DIM ? CNNM_MAX_DIM + 1 : (int64_t)v; }

/* Product of known sizes, -1 if one is unknown, CNNM_MAX_DIM + 1 once it is too large. */
static int64_t product(const int64_t *d, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) {
        if (d[i] < 0) return -1;
        if (d[i] != 0 && p > CNNM_MAX_DIM / d[i]) p = CNNM_MAX_DIM + 1;
        else p *= d[i];
    }
    return p;
}

/* An axis in [-rank, rank + extra) normalized to [0, rank + extra), or -1. */
static int normalize_axis(int32_t axis, int rank, int extra) {
    int64_t a = axis < 0 ? (int64_t)axis + rank : axis;
    return (a < 0 || a >= rank + extra) ? -1 : (int)a;
}

static cnnm_status infer(const cnnm_model *model, const cnnm_node *node,
                         const cnnm_shape *const *in, cnnm_shape *out, cnnm_error *err) {
    char label[300], a[160], b[160];
    const cnnm_shape *x = in[0];
    *out = *x;
    switch (node->op) {
    case CNNM_OP_CONV2D: {
        const cnnm_tensor *w = node->attr.conv2d.weight;
        uint32_t groups = cnnm_or_one(node->attr.conv2d.groups);
        const cnnm_window *win = &node->attr.conv2d.window;
        if (x->rank >= 0 && x->rank != 4)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has rank %d, needs [N, C, H, W]", LABEL, x->rank);
        out->rank = 4;
        out->d[0] = x->rank == 4 ? x->d[0] : -1;
        out->d[1] = clamp_dim(w->dims[0]);
        for (int k = 0; k < 2; k++) {
            int64_t size = x->rank == 4 ? x->d[2 + k] : -1;
            if (size < 0) { out->d[2 + k] = -1; continue; }
            int64_t kernel = clamp_dim(w->dims[2 + k]);
            int64_t o = cnnm_window_output(size, kernel, cnnm_or_one(k ? win->stride_w : win->stride_h),
                                           cnnm_or_one(k ? win->dilation_w : win->dilation_h),
                                           k ? win->pad_left : win->pad_top, k ? win->pad_right : win->pad_bottom, 0);
            if (o <= 0) {
                shape_text(x, a, sizeof a);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the %lldx%lld kernel does not fit the padded input %s",
                     LABEL, (long long)w->dims[2], (long long)w->dims[3], a);
            }
            out->d[2 + k] = o;
        }
        if (x->rank == 4 && x->d[1] >= 0 && (uint64_t)x->d[1] != w->dims[1] * groups)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has %lld channels, weight '%s' [%llu, %llu, %llu, %llu] with groups %u expects %llu",
                 LABEL, (long long)x->d[1], w->name, (unsigned long long)w->dims[0], (unsigned long long)w->dims[1],
                 (unsigned long long)w->dims[2], (unsigned long long)w->dims[3], groups,
                 (unsigned long long)(w->dims[1] * groups));
        return CNNM_OK;
    }
    case CNNM_OP_CONV_TRANSPOSE2D: {
        const cnnm_tensor *w = node->attr.conv_transpose2d.weight;
        uint32_t groups = cnnm_or_one(node->attr.conv_transpose2d.groups);
        const cnnm_window *win = &node->attr.conv_transpose2d.window;
        if (x->rank >= 0 && x->rank != 4)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has rank %d, needs [N, C, H, W]", LABEL, x->rank);
        if (x->rank == 4 && x->d[1] >= 0 && (uint64_t)x->d[1] != w->dims[0])
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has %lld channels, weight '%s' expects %llu",
                 LABEL, (long long)x->d[1], w->name, (unsigned long long)w->dims[0]);
        out->rank = 4;
        out->d[0] = x->rank == 4 ? x->d[0] : -1;
        out->d[1] = clamp_dim(w->dims[1] * groups);
        for (int k = 0; k < 2; k++) {
            int64_t size = x->rank == 4 ? x->d[2 + k] : -1;
            if (size < 0) { out->d[2 + k] = -1; continue; }
            int64_t s = cnnm_or_one(k ? win->stride_w : win->stride_h), d = cnnm_or_one(k ? win->dilation_w : win->dilation_h);
            if ((double)(size - 1) * (double)s + (double)d * (double)(clamp_dim(w->dims[2 + k]) - 1) > (double)CNNM_MAX_DIM)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large", LABEL);
            int64_t o = (size - 1) * s - (int64_t)(k ? win->pad_left + (int64_t)win->pad_right : win->pad_top + (int64_t)win->pad_bottom)
                        + d * (clamp_dim(w->dims[2 + k]) - 1)
                        + (k ? node->attr.conv_transpose2d.output_padding_w : node->attr.conv_transpose2d.output_padding_h) + 1;
            if (o <= 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be empty", LABEL);
            out->d[2 + k] = o;
        }
        return CNNM_OK;
    }
    case CNNM_OP_LINEAR: {
        const cnnm_tensor *w = node->attr.linear.weight;
        if (x->rank == 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input is a scalar, needs at least one axis", LABEL);
        if (x->rank > 0) {
            int64_t features = x->d[x->rank - 1];
            if (features >= 0 && (uint64_t)features != w->dims[1])
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has %lld features, weight '%s' [%llu, %llu] expects %llu",
                     LABEL, (long long)features, w->name, (unsigned long long)w->dims[0], (unsigned long long)w->dims[1],
                     (unsigned long long)w->dims[1]);
            out->d[x->rank - 1] = clamp_dim(w->dims[0]);
        }
        return CNNM_OK;
    }
    case CNNM_OP_BATCH_NORM: case CNNM_OP_AFFINE: case CNNM_OP_GROUP_NORM: case CNNM_OP_INSTANCE_NORM:
    case CNNM_OP_LRN: case CNNM_OP_CHANNEL_SHUFFLE: {
        if (x->rank >= 0 && x->rank < 2) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has rank %d, needs a channel axis (rank >= 2)", LABEL, x->rank);
        int64_t channels = x->rank >= 2 ? x->d[1] : -1;
        const cnnm_tensor *params[4] = {0};
        switch (node->op) {
        case CNNM_OP_BATCH_NORM:
            params[0] = node->attr.batch_norm.scale; params[1] = node->attr.batch_norm.bias;
            params[2] = node->attr.batch_norm.running_mean; params[3] = node->attr.batch_norm.running_variance; break;
        case CNNM_OP_AFFINE: params[0] = node->attr.affine.scale; params[1] = node->attr.affine.shift; break;
        case CNNM_OP_GROUP_NORM:
            params[0] = node->attr.group_norm.scale; params[1] = node->attr.group_norm.bias;
            if (channels >= 0 && channels % node->attr.group_norm.num_groups != 0)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: %lld channels do not split into %u groups", LABEL, (long long)channels,
                     node->attr.group_norm.num_groups);
            break;
        case CNNM_OP_INSTANCE_NORM: params[0] = node->attr.instance_norm.scale; params[1] = node->attr.instance_norm.bias; break;
        case CNNM_OP_CHANNEL_SHUFFLE:
            if (channels >= 0 && channels % node->attr.channel_shuffle.groups != 0)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: %lld channels do not split into %u groups", LABEL, (long long)channels,
                     node->attr.channel_shuffle.groups);
            break;
        default: break;
        }
        for (int k = 0; k < 4; k++)
            if (params[k] && channels >= 0 && params[k]->count != (uint64_t)channels)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: tensor '%s' holds %llu values, the input has %lld channels",
                     LABEL, params[k]->name, (unsigned long long)params[k]->count, (long long)channels);
        return CNNM_OK;
    }
    case CNNM_OP_LAYER_NORM: {
        if (x->rank < 0) return CNNM_OK;
        int axis = normalize_axis(node->attr.layer_norm.axis, x->rank, 0);
        if (axis < 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: axis %d is outside rank %d", LABEL, node->attr.layer_norm.axis, x->rank);
        int64_t size = product(x->d, axis, x->rank);
        const cnnm_tensor *params[2] = {node->attr.layer_norm.scale, node->attr.layer_norm.bias};
        for (int k = 0; k < 2; k++)
            if (params[k] && size >= 0 && params[k]->count != (uint64_t)size)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: tensor '%s' holds %llu values, the normalized axes hold %lld",
                     LABEL, params[k]->name, (unsigned long long)params[k]->count, (long long)size);
        return CNNM_OK;
    }
    case CNNM_OP_POOL2D: {
        const cnnm_window *win = &node->attr.pool2d.window;
        if (x->rank >= 0 && x->rank != 4) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has rank %d, needs [N, C, H, W]", LABEL, x->rank);
        out->rank = 4;
        for (int k = 0; k < 2; k++) {
            int64_t size = x->rank == 4 ? x->d[2 + k] : -1;
            if (x->rank != 4) { out->d[k] = -1; }
            if (size < 0) { out->d[2 + k] = -1; continue; }
            int64_t kernel = k ? win->kernel_w : win->kernel_h;
            int64_t stride = k ? win->stride_w : win->stride_h;
            int64_t o = cnnm_window_output(size, kernel, stride ? stride : kernel, cnnm_or_one(k ? win->dilation_w : win->dilation_h),
                                           k ? win->pad_left : win->pad_top, k ? win->pad_right : win->pad_bottom,
                                           node->attr.pool2d.ceil_mode);
            if (o <= 0) {
                shape_text(x, a, sizeof a);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the %ux%u window does not fit the padded input %s", LABEL,
                     win->kernel_h, win->kernel_w, a);
            }
            out->d[2 + k] = o;
        }
        return CNNM_OK;
    }
    case CNNM_OP_GLOBAL_POOL:
        if (x->rank >= 0 && x->rank < 3) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has rank %d, needs spatial axes", LABEL, x->rank);
        for (int i = 2; i < out->rank; i++) out->d[i] = 1;
        return CNNM_OK;
    case CNNM_OP_FLATTEN: {
        if (x->rank < 0) return CNNM_OK;
        int axis = normalize_axis(node->attr.flatten.axis, x->rank, 1);
        if (axis < 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: axis %d is outside rank %d", LABEL, node->attr.flatten.axis, x->rank);
        int64_t size = product(x->d, axis, x->rank);
        out->rank = axis + 1;
        out->d[axis] = size;
        return CNNM_OK;
    }
    case CNNM_OP_ADD: case CNNM_OP_MUL: case CNNM_OP_CONCAT: {
        int axis = -1;
        for (size_t k = 1; k < node->n_inputs; k++) {
            const cnnm_shape *y = in[k];
            if (out->rank < 0) { *out = *y; continue; }
            if (y->rank < 0) continue;
            if (y->rank != out->rank) {
                shape_text(out, a, sizeof a); shape_text(y, b, sizeof b);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input shapes %s and %s have different ranks", LABEL, a, b);
            }
            if (node->op == CNNM_OP_CONCAT && axis < 0) {
                axis = normalize_axis(node->attr.concat.axis, out->rank, 0);
                if (axis < 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: axis %d is outside rank %d", LABEL, node->attr.concat.axis, out->rank);
            }
            for (int i = 0; i < out->rank; i++) {
                int64_t p = out->d[i], q = y->d[i];
                if (node->op == CNNM_OP_CONCAT && i == axis) { out->d[i] = (p < 0 || q < 0) ? -1 : p + q; continue; }
                if (node->op == CNNM_OP_MUL && q == 1) continue; /* the second input broadcasts */
                if (p >= 0 && q >= 0 && p != q) {
                    shape_text(in[0], a, sizeof a); shape_text(y, b, sizeof b);
                    FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input shapes %s and %s disagree on axis %d", LABEL, a, b, i);
                }
                if (p < 0) out->d[i] = q;
            }
        }
        if (node->op == CNNM_OP_CONCAT && node->n_inputs == 1 && out->rank >= 0 &&
            normalize_axis(node->attr.concat.axis, out->rank, 0) < 0)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: axis %d is outside rank %d", LABEL, node->attr.concat.axis, out->rank);
        return CNNM_OK;
    }
    case CNNM_OP_SOFTMAX:
        if (x->rank >= 0 && normalize_axis(node->attr.softmax.axis, x->rank, 0) < 0)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: axis %d is outside rank %d", LABEL, node->attr.softmax.axis, x->rank);
        return CNNM_OK;
    case CNNM_OP_RESIZE:
        if (x->rank >= 0 && x->rank != 4) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has rank %d, needs [N, C, H, W]", LABEL, x->rank);
        if (x->rank == 4) {
            for (int k = 0; k < 2; k++) {
                double scale = k ? node->attr.resize.scale_w : node->attr.resize.scale_h;
                if (x->d[2 + k] >= 0) {
                    double o = floor((double)x->d[2 + k] * scale);
                    if (!(o >= 1 && o < 1e15)) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: scale %g gives an empty or huge output", LABEL, scale);
                    out->d[2 + k] = (int64_t)o;
                }
            }
        }
        return CNNM_OK;
    case CNNM_OP_UNKNOWN:
        out->rank = -1;
        return CNNM_OK;
    default: /* element-wise: relu, clip, sigmoid, ..., dropout, identity */
        return CNNM_OK;
    }
}

cnnm_status cnnm_infer_shape(const cnnm_model *model, const cnnm_node *node,
                             const cnnm_shape *const *in, cnnm_shape *out, cnnm_error *err) {
    cnnm_status s = infer(model, node, in, out, err);
    if (s != CNNM_OK) return s;
    char label[300];
    for (int i = 0; i < out->rank; i++)
        if (out->d[i] > CNNM_MAX_DIM) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large", LABEL);
    return CNNM_OK;
}

/* ---- validation ----------------------------------------------------------------------------- */

typedef struct value_entry {
    const char *name;
    cnnm_shape shape;
} value_entry;

static value_entry *find_value(value_entry *values, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(values[i].name, name) == 0) return &values[i];
    return NULL;
}

/* A required or optional tensor reference: present in the table when named. */
static cnnm_status check_ref(const cnnm_model *model, const cnnm_node *node, const char *field, const char *name,
                             const cnnm_tensor *resolved, int required, cnnm_error *err) {
    char label[300];
    if (!name || !name[0]) {
        if (required) FAIL(CNNM_ERR_GRAPH_MISSING_TENSOR, "%s names no %s tensor", LABEL, field);
        return CNNM_OK;
    }
    if (!resolved) FAIL(CNNM_ERR_GRAPH_MISSING_TENSOR, "%s: %s tensor '%s' is not in the tensor table", LABEL, field, name);
    return CNNM_OK;
}

static cnnm_status check_rank(const cnnm_model *model, const cnnm_node *node, const cnnm_tensor *t, size_t rank,
                              const char *what, cnnm_error *err) {
    char label[300];
    if (t->rank != rank) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: tensor '%s' has rank %zu, a %s needs rank %zu", LABEL, t->name, t->rank, what, rank);
    for (size_t i = 0; i < rank; i++)
        if (t->dims[i] == 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: tensor '%s' has a zero dimension", LABEL, t->name);
    return CNNM_OK;
}

static cnnm_status check_count(const cnnm_model *model, const cnnm_node *node, const cnnm_tensor *t, uint64_t count,
                               const char *what, cnnm_error *err) {
    char label[300];
    if (t && t->count != count)
        FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: tensor '%s' holds %llu values, %s needs %llu", LABEL, t->name,
             (unsigned long long)t->count, what, (unsigned long long)count);
    return CNNM_OK;
}

#define TRY(expr) do { cnnm_status s_ = (expr); if (s_ != CNNM_OK) return s_; } while (0)

/* Tensor references, arities and the per-op rules that need no input shape. */
static cnnm_status check_node(const cnnm_model *model, const Cnnconv__V1__Node *p, const cnnm_node *node, cnnm_error *err) {
    char label[300];
    size_t min_inputs = 1, max_inputs = 1;
    if (node->op == CNNM_OP_ADD) { min_inputs = 2; max_inputs = SIZE_MAX; }
    if (node->op == CNNM_OP_MUL) { min_inputs = 2; max_inputs = 2; }
    if (node->op == CNNM_OP_CONCAT) { min_inputs = 1; max_inputs = SIZE_MAX; }
    if (node->op != CNNM_OP_UNKNOWN) {
        if (node->n_inputs < min_inputs || node->n_inputs > max_inputs)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s has %zu inputs, needs %s%zu", LABEL, node->n_inputs,
                 max_inputs == SIZE_MAX ? "at least " : "", min_inputs);
        if (node->n_outputs != 1) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s has %zu outputs, needs 1", LABEL, node->n_outputs);
    } else if (p->op_case != CNNCONV__V1__NODE__OP__NOT_SET) {
        /* An op this loader does not know (a newer minor version): kept, its output shape unknown. */
    }
    switch (node->op) {
    case CNNM_OP_CONV2D: {
        const Cnnconv__V1__Conv2d *c = p->conv2d;
        const cnnm_tensor *w = node->attr.conv2d.weight;
        TRY(check_ref(model, node, "weight", c->weight, w, 1, err));
        TRY(check_ref(model, node, "bias", c->bias, node->attr.conv2d.bias, 0, err));
        TRY(check_rank(model, node, w, 4, "conv2d weight [out, in/groups, kh, kw]", err));
        uint32_t groups = cnnm_or_one(node->attr.conv2d.groups);
        if (w->dims[0] % groups != 0) /* so groups <= dims[0] and dims[1] * groups < 2^40 */
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: weight '%s' has %llu output channels, not divisible by groups %u", LABEL, w->name,
                 (unsigned long long)w->dims[0], groups);
        const cnnm_window *win = &node->attr.conv2d.window;
        if ((win->kernel_h && win->kernel_h != w->dims[2]) || (win->kernel_w && win->kernel_w != w->dims[3]))
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: window kernel %ux%u disagrees with weight '%s' (%llux%llu)", LABEL, win->kernel_h,
                 win->kernel_w, w->name, (unsigned long long)w->dims[2], (unsigned long long)w->dims[3]);
        TRY(check_count(model, node, node->attr.conv2d.bias, w->dims[0], "one per output channel", err));
        const cnnm_reparameterization *r = &node->attr.conv2d.reparameterization;
        if (r->kind == CNNM_REPARAM_WEIGHT_NORM) {
            TRY(check_ref(model, node, "weight norm gain", c->reparameterization->weight_norm->gain, r->gain, 1, err));
            TRY(check_count(model, node, r->gain, w->dims[0], "one per output channel", err));
        }
        return CNNM_OK;
    }
    case CNNM_OP_CONV_TRANSPOSE2D: {
        const Cnnconv__V1__ConvTranspose2d *c = p->conv_transpose2d;
        const cnnm_tensor *w = node->attr.conv_transpose2d.weight;
        TRY(check_ref(model, node, "weight", c->weight, w, 1, err));
        TRY(check_ref(model, node, "bias", c->bias, node->attr.conv_transpose2d.bias, 0, err));
        TRY(check_rank(model, node, w, 4, "conv_transpose2d weight [in, out/groups, kh, kw]", err));
        uint32_t groups = cnnm_or_one(node->attr.conv_transpose2d.groups);
        if (w->dims[0] % groups != 0)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: weight '%s' has %llu input channels, not divisible by groups %u", LABEL, w->name,
                 (unsigned long long)w->dims[0], groups);
        TRY(check_count(model, node, node->attr.conv_transpose2d.bias, w->dims[1] * groups, "one per output channel", err));
        return CNNM_OK;
    }
    case CNNM_OP_LINEAR: {
        const Cnnconv__V1__Linear *l = p->linear;
        const cnnm_tensor *w = node->attr.linear.weight;
        TRY(check_ref(model, node, "weight", l->weight, w, 1, err));
        TRY(check_ref(model, node, "bias", l->bias, node->attr.linear.bias, 0, err));
        TRY(check_rank(model, node, w, 2, "linear weight [out_features, in_features]", err));
        TRY(check_count(model, node, node->attr.linear.bias, w->dims[0], "one per output feature", err));
        const cnnm_reparameterization *r = &node->attr.linear.reparameterization;
        if (r->kind == CNNM_REPARAM_WEIGHT_NORM) {
            TRY(check_ref(model, node, "weight norm gain", l->reparameterization->weight_norm->gain, r->gain, 1, err));
            TRY(check_count(model, node, r->gain, w->dims[0], "one per output feature", err));
        }
        return CNNM_OK;
    }
    case CNNM_OP_BATCH_NORM: {
        const Cnnconv__V1__BatchNorm *bn = p->batch_norm;
        int affine = node->attr.batch_norm.affine;
        TRY(check_ref(model, node, "scale", bn->scale, node->attr.batch_norm.scale, affine, err));
        TRY(check_ref(model, node, "bias", bn->bias, node->attr.batch_norm.bias, affine, err));
        TRY(check_ref(model, node, "running_mean", bn->running_mean, node->attr.batch_norm.running_mean, 1, err));
        TRY(check_ref(model, node, "running_variance", bn->running_variance, node->attr.batch_norm.running_variance, 1, err));
        const cnnm_tensor *mean = node->attr.batch_norm.running_mean, *var = node->attr.batch_norm.running_variance;
        TRY(check_count(model, node, var, mean->count, "as many as running_mean", err));
        TRY(check_count(model, node, node->attr.batch_norm.scale, mean->count, "as many as running_mean", err));
        TRY(check_count(model, node, node->attr.batch_norm.bias, mean->count, "as many as running_mean", err));
        for (uint64_t i = 0; i < var->count; i++)
            if (!(var->data[i] >= 0))
                FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: running variance '%s'[%llu] is %g, must be >= 0", LABEL, var->name,
                     (unsigned long long)i, (double)var->data[i]);
        double eps = node->attr.batch_norm.epsilon;
        if (!(eps >= 0) || isinf(eps)) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: epsilon is %g, must be finite and >= 0", LABEL, eps);
        return CNNM_OK;
    }
    case CNNM_OP_DROPOUT: {
        double rate = node->attr.dropout.rate;
        if (!(rate >= 0 && rate < 1)) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: rate is %g, must be in [0, 1)", LABEL, rate);
        return CNNM_OK;
    }
    case CNNM_OP_AFFINE:
        TRY(check_ref(model, node, "scale", p->affine->scale, node->attr.affine.scale, 1, err));
        TRY(check_ref(model, node, "shift", p->affine->shift, node->attr.affine.shift, 0, err));
        TRY(check_count(model, node, node->attr.affine.shift, node->attr.affine.scale->count, "as many as scale", err));
        return CNNM_OK;
    case CNNM_OP_LAYER_NORM:
        TRY(check_ref(model, node, "scale", p->layer_norm->scale, node->attr.layer_norm.scale, 0, err));
        TRY(check_ref(model, node, "bias", p->layer_norm->bias, node->attr.layer_norm.bias, 0, err));
        return CNNM_OK;
    case CNNM_OP_GROUP_NORM:
        TRY(check_ref(model, node, "scale", p->group_norm->scale, node->attr.group_norm.scale, 0, err));
        TRY(check_ref(model, node, "bias", p->group_norm->bias, node->attr.group_norm.bias, 0, err));
        if (node->attr.group_norm.num_groups == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: num_groups is 0", LABEL);
        return CNNM_OK;
    case CNNM_OP_INSTANCE_NORM:
        TRY(check_ref(model, node, "scale", p->instance_norm->scale, node->attr.instance_norm.scale, 0, err));
        TRY(check_ref(model, node, "bias", p->instance_norm->bias, node->attr.instance_norm.bias, 0, err));
        return CNNM_OK;
    case CNNM_OP_POOL2D: {
        const cnnm_window *win = &node->attr.pool2d.window;
        if (win->kernel_h == 0 || win->kernel_w == 0)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: kernel is %ux%u, must be positive", LABEL, win->kernel_h, win->kernel_w);
        return CNNM_OK;
    }
    case CNNM_OP_LRN:
        if (node->attr.lrn.size == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: size is 0", LABEL);
        return CNNM_OK;
    case CNNM_OP_CHANNEL_SHUFFLE:
        if (node->attr.channel_shuffle.groups == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: groups is 0", LABEL);
        return CNNM_OK;
    case CNNM_OP_RESIZE:
        if (!(node->attr.resize.scale_h > 0) || !(node->attr.resize.scale_w > 0) || isinf(node->attr.resize.scale_h) ||
            isinf(node->attr.resize.scale_w))
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: scales %g x %g must be positive and finite", LABEL, node->attr.resize.scale_h,
                 node->attr.resize.scale_w);
        return CNNM_OK;
    default:
        return CNNM_OK;
    }
}

cnnm_status cnnm_validate_graph(const cnnm_model *model, cnnm_error *err) {
    const Cnnconv__V1__Model *h = model->header;
    char label[300];
    /* Parameters hold no NaN or infinity. */
    for (size_t i = 0; i < h->n_tensors; i++) {
        const cnnm_tensor *t = &model->tensors[i];
        for (uint64_t k = 0; k < t->count; k++)
            if (!isfinite(t->data[k]))
                FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "tensor '%s' holds %s at element %llu", t->name,
                     isnan(t->data[k]) ? "NaN" : "an infinity", (unsigned long long)k);
    }
    size_t capacity = h->n_inputs + h->n_nodes + 1;
    value_entry *values = calloc(capacity, sizeof *values);
    if (!values) FAIL(CNNM_ERR_OUT_OF_MEMORY, "out of memory validating the graph");
    size_t n_values = 0;
    cnnm_status status = CNNM_OK;
    const cnnm_shape **ins = NULL;
    for (size_t i = 0; i < h->n_inputs && status == CNNM_OK; i++) {
        const cnnm_value_info *v = &model->inputs[i];
        if (!v->name[0]) { status = cnnm_fail(err, CNNM_ERR_GRAPH_ATTRIBUTE, model->path, "graph input #%zu has no name", i); break; }
        if (find_value(values, n_values, v->name)) {
            status = cnnm_fail(err, CNNM_ERR_GRAPH_DUPLICATE_NAME, model->path, "two graph inputs are named '%s'", v->name);
            break;
        }
        value_entry *e = &values[n_values++];
        e->name = v->name;
        e->shape.rank = v->rank <= CNNM_MAX_RANK ? (int)v->rank : -1;
        for (size_t d = 0; d < v->rank && d < CNNM_MAX_RANK; d++) {
            e->shape.d[d] = v->dims[d].size;
            if (v->dims[d].size > CNNM_MAX_DIM) {
                status = cnnm_fail(err, CNNM_ERR_GRAPH_SHAPE, model->path, "graph input '%s' has dimension %lld, over the limit of %lld",
                                   v->name, (long long)v->dims[d].size, (long long)CNNM_MAX_DIM);
                break;
            }
        }
    }
    size_t max_inputs = 1;
    for (size_t i = 0; i < h->n_nodes; i++)
        if (model->nodes[i].n_inputs > max_inputs) max_inputs = model->nodes[i].n_inputs;
    if (status == CNNM_OK) {
        ins = calloc(max_inputs, sizeof *ins);
        if (!ins) status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory validating the graph");
    }
    for (size_t i = 0; i < h->n_nodes && status == CNNM_OK; i++) {
        const cnnm_node *node = &model->nodes[i];
        /* Node names are unique (unnamed nodes are allowed). */
        if (node->name[0]) {
            for (size_t j = 0; j < i; j++)
                if (strcmp(model->nodes[j].name, node->name) == 0) {
                    status = cnnm_fail(err, CNNM_ERR_GRAPH_DUPLICATE_NAME, model->path, "two nodes are named '%s'", node->name);
                    break;
                }
            if (status != CNNM_OK) break;
        }
        status = check_node(model, h->nodes[i], node, err);
        if (status != CNNM_OK) break;
        for (size_t k = 0; k < node->n_inputs; k++) {
            value_entry *e = find_value(values, n_values, node->inputs[k]);
            if (!e) {
                status = cnnm_fail(err, CNNM_ERR_GRAPH_UNDEFINED_VALUE, model->path,
                                   "%s reads '%s', which is neither a graph input nor an earlier node's output",
                                   node_label(model, node, label, sizeof label), node->inputs[k]);
                break;
            }
            ins[k] = &e->shape;
        }
        if (status != CNNM_OK) break;
        cnnm_shape out;
        static const cnnm_shape unknown = {-1, {0}};
        if (node->n_inputs == 0) ins[0] = &unknown;
        status = cnnm_infer_shape(model, node, ins, &out, err);
        if (status != CNNM_OK) break;
        for (size_t k = 0; k < node->n_outputs; k++) {
            const char *name = node->outputs[k];
            if (!name[0]) {
                status = cnnm_fail(err, CNNM_ERR_GRAPH_ATTRIBUTE, model->path, "%s has an unnamed output",
                                   node_label(model, node, label, sizeof label));
                break;
            }
            if (find_value(values, n_values, name)) {
                status = cnnm_fail(err, CNNM_ERR_GRAPH_DUPLICATE_NAME, model->path, "%s defines '%s', which is already defined",
                                   node_label(model, node, label, sizeof label), name);
                break;
            }
            if (n_values == capacity) {
                value_entry *grown = realloc(values, 2 * capacity * sizeof *values);
                if (!grown) { status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory"); break; }
                values = grown;
                capacity *= 2;
                /* `ins` pointed into the old array, but it is refilled for every node. */
            }
            values[n_values].name = name;
            values[n_values].shape = node->n_outputs == 1 ? out : unknown;
            n_values++;
        }
    }
    for (size_t i = 0; i < h->n_outputs && status == CNNM_OK; i++) {
        const cnnm_value_info *v = &model->outputs[i];
        if (!find_value(values, n_values, v->name))
            status = cnnm_fail(err, CNNM_ERR_GRAPH_UNDEFINED_VALUE, model->path,
                               "graph output '%s' is neither a graph input nor a node's output", v->name);
    }
    free(ins);
    free(values);
    return status;
}
