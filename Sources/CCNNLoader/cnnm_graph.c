/*
 * cnnm_graph.c — FORMAT.md section 5 on the C side, with the rules of the Swift reader
 * (Sources/CNNGraph: Validation.swift, ShapeInference.swift, Graph+File.swift) so that one file
 * is accepted or refused alike: names, topological order, tensor references (every table entry
 * used, every named one present), attributes, parameter shapes and values, and a shape
 * inference at batch 1 (every symbolic dimension read as 1, as the Swift reader does) that
 * proves channel counts agree. The executor reuses the shape inference with real sizes.
 */
#include "cnnm_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sizes of values stay <= CNNM_MAX_DIM so that sums and products of two stay exact in int64. */
#define CNNM_MAX_DIM ((int64_t)1 << 40)

uint32_t cnnm_or_one(uint32_t v) { return v ? v : 1; }

int64_t cnnm_window_output(int64_t input, int64_t kernel, int64_t stride, int64_t dilation,
                           int64_t pad_begin, int64_t pad_end, int ceil_mode) {
    /* Callers keep every argument <= 2^40; only the dilated kernel can still overflow. */
    if (kernel > 1 && dilation > ((int64_t)1 << 60) / (kernel - 1)) return 0;
    int64_t span = input + pad_begin + pad_end - dilation * (kernel - 1) - 1;
    if (span < 0 || stride <= 0) return 0;
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    /* PyTorch/ONNX: with ceil mode the last window must start inside the input or begin padding. */
    if (ceil_mode && (out - 1) * stride >= input + pad_begin) out -= 1;
    return out;
}

/* "node 'conv1' (conv2d)" or "node #3 (conv2d)" for an unnamed node; a tensor op shows its kind. */
static const char *node_label(const cnnm_model *m, const cnnm_node *n, char *buf, size_t size) {
    const char *op = n->op == CNNM_OP_TENSOR_OP ? n->attr.tensor_op.kind : cnnm_op_name(n->op);
    if (n->name[0])
        snprintf(buf, size, "node '%s' (%s)", n->name, op);
    else
        snprintf(buf, size, "node #%zu (%s)", (size_t)(n - m->nodes), op);
    return buf;
}

#define LABEL node_label(model, node, label, sizeof label)
#define FAIL(code, ...) return cnnm_fail(err, code, model->path, __VA_ARGS__)
#define TRY(expr) do { cnnm_status s_ = (expr); if (s_ != CNNM_OK) return s_; } while (0)

/* ---- tensor ops ------------------------------------------------------------------------------ */

/* The tensor-op kinds this loader knows: the names of TensorOps.all (Sources/CNNGraph/TensorOps).
 * Adding a kind adds its name here; a Swift test (TensorOpFileTests) fails while the lists differ.
 * The loader checks a tensor op generically, so a name is all a new kind needs on the C side. */
static const char *const cnnm_tensor_op_kinds[] = {
    "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Slice", "Split", "Expand", "Gather", "Concat", "Pad",
    "Tile", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Sqrt", "Exp", "Log", "Abs",
    "Neg", "Reciprocal", "Erf", "Cast", "CastLike", "MatMul", "Gemm", "LayerNormalization", "ReduceSum",
    "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
    "ReduceLogSum", "ReduceLogSumExp", "Softmax", "LogSoftmax", "Softplus", "Mish", "Softsign", "Gelu", "Elu",
    "Selu", "Celu", "Shrink", "PRelu", "Clip", "ThresholdedRelu", "LSTM", "GRU",
};
#define CNNM_TENSOR_OP_KIND_COUNT (sizeof cnnm_tensor_op_kinds / sizeof cnnm_tensor_op_kinds[0])

/* Swift's TensorOps.maxAttributeValues: the longest integer or float list an attribute may hold. */
#define CNNM_MAX_ATTRIBUTE_VALUES ((size_t)1 << 20)

size_t cnnm_tensor_op_kind_count(void) { return CNNM_TENSOR_OP_KIND_COUNT; }

const char *cnnm_tensor_op_kind(size_t index) { return index < CNNM_TENSOR_OP_KIND_COUNT ? cnnm_tensor_op_kinds[index] : NULL; }

static const Cnnconv__V1__TensorOp *tensor_op_of(const cnnm_model *model, const cnnm_node *node) {
    return model->header->nodes[node - model->nodes]->tensor_op;
}

/* The operands that take the node's inputs: those with an empty constant name. */
static size_t tensor_op_input_count(const Cnnconv__V1__TensorOp *t) {
    size_t n = 0;
    for (size_t i = 0; i < t->n_operands; i++) n += t->operands[i]->constant[0] == '\0';
    return n;
}

/* What the Swift reader's decode checks (TensorOp+File.swift): a known kind; attribute names
 * unique, each with a value, lists no longer than CNNM_MAX_ATTRIBUTE_VALUES; constant operands
 * in the tensor table (marked used). The values' meaning is the kind's, checked by Swift only. */
static cnnm_status check_tensor_op(const cnnm_model *model, const cnnm_node *node, unsigned char *used, cnnm_error *err) {
    char label[300];
    const Cnnconv__V1__TensorOp *t = tensor_op_of(model, node);
    size_t k = 0;
    while (k < CNNM_TENSOR_OP_KIND_COUNT && strcmp(cnnm_tensor_op_kinds[k], t->kind) != 0) k++;
    if (k == CNNM_TENSOR_OP_KIND_COUNT)
        FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "node '%s' has op kind '%s', which this loader does not know — the file needs a newer loader",
             node->name, t->kind);
    for (size_t i = 0; i < t->n_attributes; i++) {
        const Cnnconv__V1__TensorOpAttribute *a = t->attributes[i];
        size_t count = a->value_case == CNNCONV__V1__TENSOR_OP_ATTRIBUTE__VALUE_INTS ? a->ints->n_values
                     : a->value_case == CNNCONV__V1__TENSOR_OP_ATTRIBUTE__VALUE_FLOATS ? a->floats->n_values : 0;
        if (a->value_case == CNNCONV__V1__TENSOR_OP_ATTRIBUTE__VALUE__NOT_SET)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: %s attribute '%s' has no value", LABEL, t->kind, a->name);
        if (count > CNNM_MAX_ATTRIBUTE_VALUES)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: %s attribute '%s' has %zu values", LABEL, t->kind, a->name, count);
    }
    /* Unique names through a sorted index: a hostile header may hold a million attributes. */
    if (t->n_attributes > 1) {
        cnnm_named *sorted = calloc(t->n_attributes, sizeof *sorted);
        if (!sorted) return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory validating the graph");
        for (size_t i = 0; i < t->n_attributes; i++) { sorted[i].name = t->attributes[i]->name; sorted[i].id = i; }
        cnnm_names_sort(sorted, t->n_attributes);
        const char *twice = NULL;
        for (size_t i = 1; i < t->n_attributes && !twice; i++)
            if (strcmp(sorted[i - 1].name, sorted[i].name) == 0) twice = sorted[i].name;
        free(sorted);
        if (twice) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: %s attribute '%s' appears twice", LABEL, t->kind, twice);
    }
    for (size_t i = 0; i < t->n_operands; i++) {
        const char *name = t->operands[i]->constant;
        if (!name[0]) continue;
        const cnnm_tensor *c = cnnm_tensor_find(model, name);
        if (!c) FAIL(CNNM_ERR_GRAPH_MISSING_TENSOR, "%s names operand %zu tensor '%s', which the tensor table lacks", LABEL, i, name);
        used[c - model->tensors] = 1;
    }
    return CNNM_OK;
}

static void shape_text(const cnnm_shape *s, char *buf, size_t size) {
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->rank && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

static int64_t dim_of(uint64_t v) { return v > (uint64_t)CNNM_MAX_DIM ? CNNM_MAX_DIM + 1 : (int64_t)v; }

/* Product of sizes d[from..to), saturated at CNNM_MAX_DIM + 1. */
static int64_t product(const int64_t *d, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) {
        if (d[i] != 0 && p > CNNM_MAX_DIM / d[i]) return CNNM_MAX_DIM + 1;
        p *= d[i];
    }
    return p;
}

/* An axis in [-rank, rank) (or up to rank inclusive with allow_rank) normalized, or -1. */
static int normalize_axis(int32_t axis, int rank, int allow_rank) {
    int64_t a = axis < 0 ? (int64_t)axis + rank : axis;
    return (a < 0 || a > rank || (a == rank && !allow_rank)) ? -1 : (int)a;
}

static cnnm_status check_window(const cnnm_model *model, const cnnm_node *node, const cnnm_window *w, cnnm_error *err) {
    char label[300];
    if (!w->kernel_h || !w->kernel_w || !w->stride_h || !w->stride_w || !w->dilation_h || !w->dilation_w)
        FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: kernel, stride and dilation must be >= 1 (kernel %ux%u, stride %ux%u, dilation %ux%u)",
             LABEL, w->kernel_h, w->kernel_w, w->stride_h, w->stride_w, w->dilation_h, w->dilation_w);
    return CNNM_OK;
}

static cnnm_status expect_count(const cnnm_model *model, const cnnm_node *node, const cnnm_tensor *t, int64_t n,
                                const char *what, cnnm_error *err) {
    char label[300];
    if (t && t->count != (uint64_t)n)
        FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: %s '%s' has %llu values, expected %lld", LABEL, what, t->name,
             (unsigned long long)t->count, (long long)n);
    return CNNM_OK;
}

static cnnm_status need_rank(const cnnm_model *model, const cnnm_node *node, const cnnm_shape *x, int exact, int at_least,
                             const char *what, cnnm_error *err) {
    char label[300], a[200];
    if ((exact && x->rank != exact) || x->rank < at_least) {
        shape_text(x, a, sizeof a);
        FAIL(CNNM_ERR_GRAPH_SHAPE, "%s takes %s input, got %s", LABEL, what, a);
    }
    return CNNM_OK;
}

static cnnm_status infer(const cnnm_model *model, const cnnm_node *node,
                         const cnnm_shape *const *in, cnnm_shape *out, cnnm_error *err) {
    char label[300], a[200], b[200];
    const cnnm_shape *x = in[0];
    *out = *x;
    switch (node->op) {
    case CNNM_OP_CONV2D: {
        const cnnm_tensor *w = node->attr.conv2d.weight;
        const cnnm_window *win = &node->attr.conv2d.window;
        uint32_t groups = node->attr.conv2d.groups;
        TRY(need_rank(model, node, x, 4, 4, "NCHW", err));
        if (w->rank != 4) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: weight '%s' has rank %zu, expected 4-D [out, in/groups, kh, kw]", LABEL, w->name, w->rank);
        TRY(check_window(model, node, win, err));
        if (groups == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: groups is 0, must be >= 1", LABEL);
        int64_t cout = dim_of(w->dims[0]), per_group = dim_of(w->dims[1]);
        if (per_group > CNNM_MAX_DIM / groups || x->d[1] != per_group * (int64_t)groups)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has %lld channels, weight '%s' [%llu, %llu, %llu, %llu] with groups %u expects %llu",
                 LABEL, (long long)x->d[1], w->name, (unsigned long long)w->dims[0], (unsigned long long)w->dims[1],
                 (unsigned long long)w->dims[2], (unsigned long long)w->dims[3], groups, (unsigned long long)(w->dims[1] * groups));
        if (cout % groups != 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: %lld output channels do not divide into %u groups", LABEL, (long long)cout, groups);
        if (w->dims[2] != win->kernel_h || w->dims[3] != win->kernel_w)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: kernel is %ux%u but weight '%s' is [%llu, %llu, %llu, %llu]", LABEL, win->kernel_h, win->kernel_w,
                 w->name, (unsigned long long)w->dims[0], (unsigned long long)w->dims[1], (unsigned long long)w->dims[2],
                 (unsigned long long)w->dims[3]);
        TRY(expect_count(model, node, node->attr.conv2d.bias, cout, "bias", err));
        const cnnm_reparameterization *r = &node->attr.conv2d.reparameterization;
        if (r->kind == CNNM_REPARAM_WEIGHT_NORM) TRY(expect_count(model, node, r->gain, cout, "weight-norm gain", err));
        if (r->kind == CNNM_REPARAM_WEIGHT_STANDARDIZATION && !(r->epsilon >= 0 && isfinite(r->epsilon)))
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: weight standardization epsilon is %g, must be >= 0", LABEL, r->epsilon);
        out->d[1] = cout;
        for (int k = 0; k < 2; k++) {
            int64_t o = cnnm_window_output(x->d[2 + k], k ? win->kernel_w : win->kernel_h, k ? win->stride_w : win->stride_h,
                                           k ? win->dilation_w : win->dilation_h, k ? win->pad_left : win->pad_top,
                                           k ? win->pad_right : win->pad_bottom, 0);
            if (o <= 0) {
                shape_text(x, a, sizeof a);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the %ux%u kernel does not fit the %s input", LABEL, win->kernel_h, win->kernel_w, a);
            }
            out->d[2 + k] = o;
        }
        return CNNM_OK;
    }
    case CNNM_OP_CONV_TRANSPOSE2D: {
        const cnnm_tensor *w = node->attr.conv_transpose2d.weight;
        const cnnm_window *win = &node->attr.conv_transpose2d.window;
        uint32_t groups = node->attr.conv_transpose2d.groups;
        uint32_t oph = node->attr.conv_transpose2d.output_padding_h, opw = node->attr.conv_transpose2d.output_padding_w;
        TRY(need_rank(model, node, x, 4, 4, "NCHW", err));
        if (w->rank != 4) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: weight '%s' has rank %zu, expected 4-D [in, out/groups, kh, kw]", LABEL, w->name, w->rank);
        TRY(check_window(model, node, win, err));
        if (groups == 0 || w->dims[0] % groups != 0)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: groups %u does not divide %llu input channels", LABEL, groups, (unsigned long long)w->dims[0]);
        if ((uint64_t)x->d[1] != w->dims[0])
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input has %lld channels, weight '%s' expects %llu", LABEL, (long long)x->d[1], w->name,
                 (unsigned long long)w->dims[0]);
        if (w->dims[2] != win->kernel_h || w->dims[3] != win->kernel_w)
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: kernel is %ux%u but weight '%s' is %llux%llu", LABEL, win->kernel_h, win->kernel_w, w->name,
                 (unsigned long long)w->dims[2], (unsigned long long)w->dims[3]);
        if (oph >= (win->stride_h > win->dilation_h ? win->stride_h : win->dilation_h) ||
            opw >= (win->stride_w > win->dilation_w ? win->stride_w : win->dilation_w))
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: output padding %ux%u must be smaller than stride or dilation", LABEL, oph, opw);
        int64_t cout = dim_of(w->dims[1]) * (int64_t)groups; /* dims[1] * groups <= dims[1] * dims[0] < 2^40 */
        TRY(expect_count(model, node, node->attr.conv_transpose2d.bias, cout, "bias", err));
        out->d[1] = cout;
        for (int k = 0; k < 2; k++) {
            int64_t size = x->d[2 + k], s = k ? win->stride_w : win->stride_h, d = k ? win->dilation_w : win->dilation_h;
            int64_t kernel = k ? win->kernel_w : win->kernel_h;
            if ((double)(size - 1) * (double)s + (double)d * (double)(kernel - 1) > (double)CNNM_MAX_DIM)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large", LABEL);
            int64_t o = (size - 1) * s - (k ? (int64_t)win->pad_left + win->pad_right : (int64_t)win->pad_top + win->pad_bottom)
                        + d * (kernel - 1) + (k ? opw : oph) + 1;
            if (o <= 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be empty", LABEL);
            out->d[2 + k] = o;
        }
        return CNNM_OK;
    }
    case CNNM_OP_BATCH_NORM:
        TRY(need_rank(model, node, x, 0, 2, "a channel axis (rank >= 2)", err));
        TRY(expect_count(model, node, node->attr.batch_norm.running_mean, x->d[1], "running mean", err));
        TRY(expect_count(model, node, node->attr.batch_norm.running_variance, x->d[1], "running variance", err));
        TRY(expect_count(model, node, node->attr.batch_norm.scale, x->d[1], "scale (gamma)", err));
        TRY(expect_count(model, node, node->attr.batch_norm.bias, x->d[1], "bias (beta)", err));
        return CNNM_OK;
    case CNNM_OP_DROPOUT:
        if (!(node->attr.dropout.rate >= 0 && node->attr.dropout.rate < 1))
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: dropout rate is %g, must be in [0, 1)", LABEL, node->attr.dropout.rate);
        return CNNM_OK;
    case CNNM_OP_LINEAR: {
        const cnnm_tensor *w = node->attr.linear.weight;
        if (w->rank != 2) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: weight '%s' has rank %zu, expected [out, in]", LABEL, w->name, w->rank);
        if (x->rank < 2 || (uint64_t)x->d[x->rank - 1] != w->dims[1]) {
            shape_text(x, a, sizeof a);
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: input %s does not end in the %llu features weight '%s' takes", LABEL, a,
                 (unsigned long long)w->dims[1], w->name);
        }
        int64_t out_features = dim_of(w->dims[0]);
        TRY(expect_count(model, node, node->attr.linear.bias, out_features, "bias", err));
        const cnnm_reparameterization *r = &node->attr.linear.reparameterization;
        if (r->kind == CNNM_REPARAM_WEIGHT_NORM) TRY(expect_count(model, node, r->gain, out_features, "weight-norm gain", err));
        if (r->kind == CNNM_REPARAM_WEIGHT_STANDARDIZATION && !(r->epsilon >= 0 && isfinite(r->epsilon)))
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: weight standardization epsilon is %g, must be >= 0", LABEL, r->epsilon);
        out->d[x->rank - 1] = out_features;
        return CNNM_OK;
    }
    case CNNM_OP_CLIP:
        if (!(node->attr.clip.min <= node->attr.clip.max))
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: clip bounds [%g, %g] are empty", LABEL, (double)node->attr.clip.min, (double)node->attr.clip.max);
        return CNNM_OK;
    case CNNM_OP_POOL2D: {
        const cnnm_window *w = &node->attr.pool2d.window;
        TRY(need_rank(model, node, x, 4, 4, "NCHW", err));
        TRY(check_window(model, node, w, err));
        if (w->pad_top >= w->kernel_h || w->pad_bottom >= w->kernel_h || w->pad_left >= w->kernel_w || w->pad_right >= w->kernel_w)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: padding must be smaller than the %ux%u window", LABEL, w->kernel_h, w->kernel_w);
        for (int k = 0; k < 2; k++) {
            int64_t o = cnnm_window_output(x->d[2 + k], k ? w->kernel_w : w->kernel_h, k ? w->stride_w : w->stride_h,
                                           k ? w->dilation_w : w->dilation_h, k ? w->pad_left : w->pad_top,
                                           k ? w->pad_right : w->pad_bottom, node->attr.pool2d.ceil_mode);
            if (o <= 0) {
                shape_text(x, a, sizeof a);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the %ux%u window does not fit the %s input", LABEL, w->kernel_h, w->kernel_w, a);
            }
            out->d[2 + k] = o;
        }
        return CNNM_OK;
    }
    case CNNM_OP_GLOBAL_POOL:
        TRY(need_rank(model, node, x, 0, 3, "NC... (rank >= 3)", err));
        for (int i = 2; i < out->rank; i++) out->d[i] = 1;
        return CNNM_OK;
    case CNNM_OP_FLATTEN: {
        int axis = normalize_axis(node->attr.flatten.axis, x->rank, 1);
        if (axis < 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: axis %d is out of range for rank %d", LABEL, node->attr.flatten.axis, x->rank);
        out->rank = 2;
        out->d[0] = product(x->d, 0, axis);
        out->d[1] = product(x->d, axis, x->rank);
        return CNNM_OK;
    }
    case CNNM_OP_ADD:
        for (size_t k = 1; k < node->n_inputs; k++) {
            const cnnm_shape *y = in[k];
            if (y->rank != x->rank || memcmp(y->d, x->d, (size_t)x->rank * sizeof x->d[0]) != 0) {
                shape_text(x, a, sizeof a); shape_text(y, b, sizeof b);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: inputs differ in shape: %s and %s", LABEL, a, b);
            }
        }
        return CNNM_OK;
    case CNNM_OP_MUL: {
        const cnnm_shape *s = in[1];
        int same = s->rank == x->rank && memcmp(s->d, x->d, (size_t)x->rank * sizeof x->d[0]) == 0;
        int per_channel = s->rank == x->rank && x->rank >= 2 && s->d[0] == x->d[0] && s->d[1] == x->d[1];
        for (int i = 2; i < s->rank && per_channel; i++) per_channel = s->d[i] == 1;
        if (!same && !per_channel) {
            shape_text(x, a, sizeof a); shape_text(s, b, sizeof b);
            FAIL(CNNM_ERR_GRAPH_SHAPE, "%s needs same shapes or a per-channel second input [N, C, 1, 1]; got %s and %s", LABEL, a, b);
        }
        return CNNM_OK;
    }
    case CNNM_OP_CONCAT: {
        int axis = normalize_axis(node->attr.concat.axis, x->rank, 0);
        if (axis < 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: axis %d is out of range for rank %d", LABEL, node->attr.concat.axis, x->rank);
        for (size_t k = 1; k < node->n_inputs; k++) {
            const cnnm_shape *y = in[k];
            int ok = y->rank == x->rank;
            for (int i = 0; i < x->rank && ok; i++) ok = i == axis || y->d[i] == x->d[i];
            if (!ok) {
                shape_text(x, a, sizeof a); shape_text(y, b, sizeof b);
                FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: inputs %s and %s differ off axis %d", LABEL, a, b, node->attr.concat.axis);
            }
            out->d[axis] += y->d[axis]; /* each <= 2^40: no overflow; checked below */
            if (out->d[axis] > CNNM_MAX_DIM) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large", LABEL);
        }
        return CNNM_OK;
    }
    case CNNM_OP_SOFTMAX:
        if (normalize_axis(node->attr.softmax.axis, x->rank, 0) < 0)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: axis %d is out of range for rank %d", LABEL, node->attr.softmax.axis, x->rank);
        return CNNM_OK;
    case CNNM_OP_AFFINE:
        TRY(need_rank(model, node, x, 0, 2, "a channel axis (rank >= 2)", err));
        TRY(expect_count(model, node, node->attr.affine.scale, x->d[1], "scale", err));
        TRY(expect_count(model, node, node->attr.affine.shift, x->d[1], "shift", err));
        return CNNM_OK;
    case CNNM_OP_LAYER_NORM: {
        int axis = normalize_axis(node->attr.layer_norm.axis, x->rank, 0);
        if (axis < 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: axis %d is out of range for rank %d", LABEL, node->attr.layer_norm.axis, x->rank);
        int64_t size = product(x->d, axis, x->rank);
        TRY(expect_count(model, node, node->attr.layer_norm.scale, size, "scale", err));
        TRY(expect_count(model, node, node->attr.layer_norm.bias, size, "bias", err));
        return CNNM_OK;
    }
    case CNNM_OP_GROUP_NORM:
        TRY(need_rank(model, node, x, 0, 3, "NC... (rank >= 3)", err));
        if (node->attr.group_norm.num_groups == 0 || x->d[1] % node->attr.group_norm.num_groups != 0)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: %lld channels do not divide into %u groups", LABEL, (long long)x->d[1], node->attr.group_norm.num_groups);
        TRY(expect_count(model, node, node->attr.group_norm.scale, x->d[1], "scale", err));
        TRY(expect_count(model, node, node->attr.group_norm.bias, x->d[1], "bias", err));
        return CNNM_OK;
    case CNNM_OP_INSTANCE_NORM:
        TRY(need_rank(model, node, x, 0, 3, "NC... (rank >= 3)", err));
        TRY(expect_count(model, node, node->attr.instance_norm.scale, x->d[1], "scale", err));
        TRY(expect_count(model, node, node->attr.instance_norm.bias, x->d[1], "bias", err));
        return CNNM_OK;
    case CNNM_OP_LRN:
        if (node->attr.lrn.size == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: LRN size is 0, must be >= 1", LABEL);
        TRY(need_rank(model, node, x, 0, 3, "NC... (rank >= 3)", err));
        return CNNM_OK;
    case CNNM_OP_CHANNEL_SHUFFLE: {
        uint32_t g = node->attr.channel_shuffle.groups;
        if (x->rank < 2 || g == 0 || x->d[1] % g != 0)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: %lld channels do not divide into %u groups", LABEL, (long long)(x->rank >= 2 ? x->d[1] : 0), g);
        return CNNM_OK;
    }
    case CNNM_OP_RESIZE:
        TRY(need_rank(model, node, x, 4, 4, "NCHW", err));
        for (int k = 0; k < 2; k++) {
            double scale = k ? node->attr.resize.scale_w : node->attr.resize.scale_h;
            if (!(scale > 0) || isinf(scale)) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: scales must be positive and finite", LABEL);
            double o = floor((double)x->d[2 + k] * scale);
            if (!(o >= 1)) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be empty", LABEL);
            if (o > (double)CNNM_MAX_DIM) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large", LABEL);
            out->d[2 + k] = (int64_t)o;
        }
        return CNNM_OK;
    case CNNM_OP_TENSOR_OP: /* validation gives its outputs no shape; nothing infers through it */
        FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the C loader does not infer the shapes of tensor ops", LABEL);
    default: /* element-wise: relu, leaky relu, sigmoid, ..., identity */
        return CNNM_OK;
    }
}

cnnm_status cnnm_infer_shape(const cnnm_model *model, const cnnm_node *node,
                             const cnnm_shape *const *in, cnnm_shape *out, cnnm_error *err) {
    TRY(infer(model, node, in, out, err));
    char label[300];
    for (int i = 0; i < out->rank; i++)
        if (out->d[i] > CNNM_MAX_DIM || out->d[i] <= 0) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large or empty", LABEL);
    if (product(out->d, 0, out->rank) > CNNM_MAX_DIM) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s: the output would be too large", LABEL);
    return CNNM_OK;
}

/* ---- validation ----------------------------------------------------------------------------- */

/* A tensor reference: present in the table when named (or always, when required). Marks it used. */
static cnnm_status check_ref(const cnnm_model *model, const cnnm_node *node, const char *role, const char *name,
                             int required, unsigned char *used, cnnm_error *err) {
    char label[300];
    if (!name[0] && !required) return CNNM_OK;
    const cnnm_tensor *t = cnnm_tensor_find(model, name);
    if (!t) FAIL(CNNM_ERR_GRAPH_MISSING_TENSOR, "%s names %s tensor '%s', which the tensor table lacks", LABEL, role, name);
    used[t - model->tensors] = 1;
    return CNNM_OK;
}

static cnnm_status check_refs(const cnnm_model *model, const Cnnconv__V1__Node *p, const cnnm_node *node,
                              unsigned char *used, cnnm_error *err) {
    const Cnnconv__V1__WeightReparameterization *r = NULL;
    switch (node->op) {
    case CNNM_OP_CONV2D:
        TRY(check_ref(model, node, "weight", p->conv2d->weight, 1, used, err));
        TRY(check_ref(model, node, "bias", p->conv2d->bias, 0, used, err));
        r = p->conv2d->reparameterization;
        break;
    case CNNM_OP_CONV_TRANSPOSE2D:
        TRY(check_ref(model, node, "weight", p->conv_transpose2d->weight, 1, used, err));
        TRY(check_ref(model, node, "bias", p->conv_transpose2d->bias, 0, used, err));
        break;
    case CNNM_OP_BATCH_NORM:
        if (p->batch_norm->affine) { /* the Swift reader ignores scale/bias names when affine is false */
            TRY(check_ref(model, node, "scale", p->batch_norm->scale, 1, used, err));
            TRY(check_ref(model, node, "bias", p->batch_norm->bias, 1, used, err));
        }
        TRY(check_ref(model, node, "running mean", p->batch_norm->running_mean, 1, used, err));
        TRY(check_ref(model, node, "running variance", p->batch_norm->running_variance, 1, used, err));
        break;
    case CNNM_OP_LINEAR:
        TRY(check_ref(model, node, "weight", p->linear->weight, 1, used, err));
        TRY(check_ref(model, node, "bias", p->linear->bias, 0, used, err));
        r = p->linear->reparameterization;
        break;
    case CNNM_OP_AFFINE:
        TRY(check_ref(model, node, "scale", p->affine->scale, 1, used, err));
        TRY(check_ref(model, node, "shift", p->affine->shift, 1, used, err));
        break;
    case CNNM_OP_LAYER_NORM:
        TRY(check_ref(model, node, "scale", p->layer_norm->scale, 0, used, err));
        TRY(check_ref(model, node, "bias", p->layer_norm->bias, 0, used, err));
        break;
    case CNNM_OP_GROUP_NORM:
        TRY(check_ref(model, node, "scale", p->group_norm->scale, 0, used, err));
        TRY(check_ref(model, node, "bias", p->group_norm->bias, 0, used, err));
        break;
    case CNNM_OP_INSTANCE_NORM:
        TRY(check_ref(model, node, "scale", p->instance_norm->scale, 0, used, err));
        TRY(check_ref(model, node, "bias", p->instance_norm->bias, 0, used, err));
        break;
    default:
        break;
    }
    if (r && r->kind_case == CNNCONV__V1__WEIGHT_REPARAMETERIZATION__KIND_WEIGHT_NORM)
        TRY(check_ref(model, node, "weight-norm gain", r->weight_norm->gain, 1, used, err));
    return CNNM_OK;
}

/* Every parameter finite; BN running variances >= 0, epsilon finite and >= 0. */
static cnnm_status check_values(const cnnm_model *model, const cnnm_node *node, cnnm_error *err) {
    char label[300];
    const cnnm_tensor *params[5] = {0};
    switch (node->op) {
    case CNNM_OP_CONV2D:
        params[0] = node->attr.conv2d.weight; params[1] = node->attr.conv2d.bias;
        params[2] = node->attr.conv2d.reparameterization.gain; break;
    case CNNM_OP_CONV_TRANSPOSE2D: params[0] = node->attr.conv_transpose2d.weight; params[1] = node->attr.conv_transpose2d.bias; break;
    case CNNM_OP_BATCH_NORM:
        params[0] = node->attr.batch_norm.scale; params[1] = node->attr.batch_norm.bias;
        params[2] = node->attr.batch_norm.running_mean; params[3] = node->attr.batch_norm.running_variance; break;
    case CNNM_OP_LINEAR:
        params[0] = node->attr.linear.weight; params[1] = node->attr.linear.bias;
        params[2] = node->attr.linear.reparameterization.gain; break;
    case CNNM_OP_AFFINE: params[0] = node->attr.affine.scale; params[1] = node->attr.affine.shift; break;
    case CNNM_OP_LAYER_NORM: params[0] = node->attr.layer_norm.scale; params[1] = node->attr.layer_norm.bias; break;
    case CNNM_OP_GROUP_NORM: params[0] = node->attr.group_norm.scale; params[1] = node->attr.group_norm.bias; break;
    case CNNM_OP_INSTANCE_NORM: params[0] = node->attr.instance_norm.scale; params[1] = node->attr.instance_norm.bias; break;
    default: break;
    }
    const Cnnconv__V1__TensorOp *op = node->op == CNNM_OP_TENSOR_OP ? tensor_op_of(model, node) : NULL;
    size_t n_params = op ? 5 + op->n_operands : 5;
    for (size_t k = 0; k < n_params; k++) {
        const cnnm_tensor *t = k < 5 ? params[k] : cnnm_tensor_find(model, op->operands[k - 5]->constant);
        for (uint64_t i = 0; t && i < t->count; i++)
            if (!isfinite(t->data[i]))
                FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s, tensor '%s': element %llu is %s — parameters must be finite", LABEL, t->name,
                     (unsigned long long)i, isnan(t->data[i]) ? "NaN" : "infinite");
    }
    if (node->op == CNNM_OP_BATCH_NORM) {
        const cnnm_tensor *var = node->attr.batch_norm.running_variance;
        for (uint64_t i = 0; i < var->count; i++)
            if (var->data[i] < 0)
                FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s, tensor '%s': running variance of channel %llu is %g, must be >= 0", LABEL, var->name,
                     (unsigned long long)i, (double)var->data[i]);
        double eps = node->attr.batch_norm.epsilon;
        if (!(eps >= 0) || isinf(eps)) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: epsilon is %g, must be >= 0", LABEL, eps);
    }
    return CNNM_OK;
}

static cnnm_status check_arity(const cnnm_model *model, const cnnm_node *node, cnnm_error *err) {
    char label[300];
    size_t lo = 1, hi = 1;
    if (node->op == CNNM_OP_ADD) { lo = 2; hi = SIZE_MAX; }
    if (node->op == CNNM_OP_MUL) { lo = 2; hi = 2; }
    if (node->op == CNNM_OP_CONCAT) { lo = 1; hi = SIZE_MAX; }
    if (node->op == CNNM_OP_TENSOR_OP) lo = hi = tensor_op_input_count(tensor_op_of(model, node));
    if (node->n_inputs < lo || node->n_inputs > hi)
        FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s takes %s%zu input(s), has %zu", LABEL, hi == SIZE_MAX ? "at least " : "", lo, node->n_inputs);
    if (node->n_outputs == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: the node has no outputs", LABEL);
    return CNNM_OK;
}

static cnnm_status check_value_info(const cnnm_model *model, const cnnm_value_info *v, const char *what, cnnm_error *err) {
    if (v->dtype != CNNM_DTYPE_FLOAT32 && v->dtype != CNNM_DTYPE_UNSPECIFIED)
        FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s '%s' has data type %d; graph values are f32", what, v->name, (int)v->dtype);
    if (v->rank > CNNM_MAX_RANK) FAIL(CNNM_ERR_GRAPH_SHAPE, "%s '%s' has rank %zu; this loader handles up to %d", what, v->name, v->rank, CNNM_MAX_RANK);
    return CNNM_OK;
}

/* The Swift reader's order: decoding (value types, ops known, tensor references, every tensor
 * used), then structure (names, order, outputs), then shapes at batch 1, then values. Names are
 * looked up in sorted indexes (O(log n) each), so a 200k-node chain validates in well under a
 * second; on success the model holds every node input's value id for the executor. */
static cnnm_status validate(cnnm_model *model, cnnm_named *names, cnnm_named *node_names, cnnm_shape *shapes,
                            const cnnm_shape **ins, unsigned char *used, cnnm_error *err) {
    const Cnnconv__V1__Model *h = model->header;
    char label[300];
    for (size_t i = 0; i < h->n_inputs; i++) TRY(check_value_info(model, &model->inputs[i], "graph input", err));
    for (size_t i = 0; i < h->n_outputs; i++) TRY(check_value_info(model, &model->outputs[i], "graph output", err));
    for (size_t i = 0; i < h->n_nodes; i++) {
        const cnnm_node *node = &model->nodes[i];
        if (node->op == CNNM_OP_UNKNOWN)
            FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "node '%s' has an op this loader does not know — the file needs a newer loader", node->name);
        if (node->op == CNNM_OP_TENSOR_OP) TRY(check_tensor_op(model, node, used, err));
        TRY(check_refs(model, h->nodes[i], node, used, err));
    }
    for (size_t i = 0; i < h->n_tensors; i++)
        if (!used[i])
            FAIL(CNNM_ERR_GRAPH_UNREFERENCED_TENSOR, "tensor '%s' is in the table but no node uses it", model->tensors[i].name);

    /* Structure. Values are numbered as defined: graph inputs, then node outputs in order; a
     * name's smallest id is its first definition. */
    if (h->n_inputs == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "the graph declares no inputs");
    size_t n_values = 0, n_reads = 0;
    for (size_t i = 0; i < h->n_inputs; i++) {
        names[n_values].name = model->inputs[i].name;
        names[n_values].id = n_values;
        n_values++;
    }
    for (size_t i = 0; i < h->n_nodes; i++) {
        const cnnm_node *node = &model->nodes[i];
        node_names[i].name = node->name;
        node_names[i].id = i;
        model->node_first_value[i] = n_values;
        model->input_offsets[i] = n_reads;
        n_reads += node->n_inputs;
        for (size_t k = 0; k < node->n_outputs; k++) {
            names[n_values].name = node->outputs[k];
            names[n_values].id = n_values;
            n_values++;
        }
    }
    model->input_offsets[h->n_nodes] = n_reads;
    model->n_values = n_values;
    cnnm_names_sort(names, n_values);
    cnnm_names_sort(node_names, h->n_nodes);
    for (size_t i = 0; i < h->n_nodes; i++) {
        const cnnm_node *node = &model->nodes[i];
        if (cnnm_names_first(node_names, h->n_nodes, node->name) < i)
            FAIL(CNNM_ERR_GRAPH_DUPLICATE_NAME, "two nodes are named '%s'", node->name);
        for (size_t k = 0; k < node->n_inputs; k++) {
            size_t id = cnnm_names_first(names, n_values, node->inputs[k]);
            if (id == SIZE_MAX || id >= model->node_first_value[i])
                FAIL(CNNM_ERR_GRAPH_UNDEFINED_VALUE, "%s reads '%s', which no graph input or earlier node produces", LABEL, node->inputs[k]);
            model->input_values[model->input_offsets[i] + k] = id;
        }
        if (node->n_outputs == 0) FAIL(CNNM_ERR_GRAPH_ATTRIBUTE, "%s: the node has no outputs", LABEL);
        for (size_t k = 0; k < node->n_outputs; k++)
            if (cnnm_names_first(names, n_values, node->outputs[k]) < model->node_first_value[i] + k)
                FAIL(CNNM_ERR_GRAPH_DUPLICATE_NAME, "%s produces '%s', which another node or input already defines", LABEL, node->outputs[k]);
    }
    for (size_t v = 0; v < n_values; v++) model->last_use[v] = 0;
    for (size_t i = 0; i < h->n_nodes; i++)
        for (size_t r = model->input_offsets[i]; r < model->input_offsets[i + 1]; r++) model->last_use[model->input_values[r]] = i;
    for (size_t i = 0; i < h->n_outputs; i++) {
        size_t id = cnnm_names_first(names, n_values, model->outputs[i].name);
        if (id == SIZE_MAX) FAIL(CNNM_ERR_GRAPH_UNDEFINED_VALUE, "graph output '%s' is produced by no node or input", model->outputs[i].name);
        model->output_values[i] = id;
        model->last_use[id] = SIZE_MAX;
    }

    /* Shapes at batch 1: symbolic (or unset) dimensions read as 1. A tensor op's outputs, and
     * everything computed from them, have no shape here (rank -1): the Swift reader infers them
     * with the kind's definition, which the C loader does not have. */
    for (size_t i = 0; i < h->n_inputs; i++) {
        const cnnm_value_info *v = &model->inputs[i];
        cnnm_shape *shape = &shapes[i];
        shape->rank = (int)v->rank;
        for (size_t d = 0; d < v->rank; d++) {
            int64_t size = v->dims[d].symbol || v->dims[d].size < 0 ? 1 : v->dims[d].size;
            if (size <= 0 || size > CNNM_MAX_DIM)
                FAIL(CNNM_ERR_GRAPH_SHAPE, "graph input '%s': dimension %zu is %lld, must be in 1...2^40", v->name, d, (long long)size);
            shape->d[d] = size;
        }
    }
    for (size_t i = 0; i < h->n_nodes; i++) {
        const cnnm_node *node = &model->nodes[i];
        TRY(check_arity(model, node, err));
        for (size_t k = 0; k < node->n_inputs; k++) ins[k] = &shapes[model->input_values[model->input_offsets[i] + k]];
        cnnm_shape out = {.rank = -1};
        int unknown = node->op == CNNM_OP_TENSOR_OP;
        for (size_t k = 0; k < node->n_inputs; k++) unknown |= ins[k]->rank < 0;
        if (!unknown) TRY(cnnm_infer_shape(model, node, ins, &out, err));
        for (size_t k = 0; k < node->n_outputs; k++) shapes[model->node_first_value[i] + k] = out;
    }
    for (size_t i = 0; i < h->n_outputs; i++) {
        const cnnm_value_info *v = &model->outputs[i];
        const cnnm_shape *shape = &shapes[model->output_values[i]];
        int agrees = v->rank == 0 || shape->rank < 0 || (int)v->rank == shape->rank;
        for (size_t d = 0; agrees && v->rank && shape->rank >= 0 && d < v->rank; d++)
            agrees = v->dims[d].symbol || v->dims[d].size < 0 || v->dims[d].size == shape->d[d];
        if (!agrees) {
            char a[200];
            shape_text(shape, a, sizeof a);
            FAIL(CNNM_ERR_GRAPH_SHAPE, "graph output '%s' is declared with another shape than it computes to (%s at batch 1)", v->name, a);
        }
    }
    for (size_t i = 0; i < h->n_nodes; i++) TRY(check_values(model, &model->nodes[i], err));
    return CNNM_OK;
}

cnnm_status cnnm_validate_graph(cnnm_model *model, cnnm_error *err) {
    const Cnnconv__V1__Model *h = model->header;
    size_t max_inputs = 1, n_values = h->n_inputs, n_reads = 0;
    for (size_t i = 0; i < h->n_nodes; i++) {
        if (model->nodes[i].n_inputs > max_inputs) max_inputs = model->nodes[i].n_inputs;
        n_values += model->nodes[i].n_outputs;
        n_reads += model->nodes[i].n_inputs;
    }
    /* Counts are bounded by the decoded header, itself bounded by the header allocation limit. */
    cnnm_named *names = calloc(n_values + 1, sizeof *names);
    cnnm_named *node_names = calloc(h->n_nodes + 1, sizeof *node_names);
    cnnm_shape *shapes = calloc(n_values + 1, sizeof *shapes);
    const cnnm_shape **ins = calloc(max_inputs, sizeof *ins);
    unsigned char *used = calloc(h->n_tensors + 1, 1);
    model->node_first_value = calloc(h->n_nodes + 1, sizeof *model->node_first_value);
    model->input_offsets = calloc(h->n_nodes + 1, sizeof *model->input_offsets);
    model->input_values = calloc(n_reads + 1, sizeof *model->input_values);
    model->output_values = calloc(h->n_outputs + 1, sizeof *model->output_values);
    model->last_use = calloc(n_values + 1, sizeof *model->last_use);
    cnnm_status status = (!names || !node_names || !shapes || !ins || !used || !model->node_first_value || !model->input_offsets ||
                          !model->input_values || !model->output_values || !model->last_use)
        ? cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory validating the graph")
        : validate(model, names, node_names, shapes, ins, used, err);
    free(names);
    free(node_names);
    free(shapes);
    free(ins);
    free(used);
    return status;
}
