/*
 * cnnm_exec.c — a minimal executor for folded models: float32, NCHW, plain loops with double
 * accumulators. It exists to prove that a C program with no Swift in it loads and runs a folded
 * cnnconv file with the same answers; correctness first, yet a 32x32 model runs in milliseconds.
 *
 * Values are computed node by node in file order (topological, checked at open); a buffer is
 * freed after its last reader. Shapes come from the shared shape inference (cnnm_graph.c).
 */
#include "cnnm_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int runnable(const cnnm_node *n) {
    switch (n->op) {
    case CNNM_OP_CONV2D: return n->attr.conv2d.reparameterization.kind == CNNM_REPARAM_NONE;
    case CNNM_OP_LINEAR: return n->attr.linear.reparameterization.kind == CNNM_REPARAM_NONE;
    case CNNM_OP_RELU: case CNNM_OP_CLIP: case CNNM_OP_LEAKY_RELU: case CNNM_OP_SIGMOID: case CNNM_OP_TANH:
    case CNNM_OP_HARD_SIGMOID: case CNNM_OP_HARD_SWISH: case CNNM_OP_SILU: case CNNM_OP_POOL2D:
    case CNNM_OP_GLOBAL_POOL: case CNNM_OP_FLATTEN: case CNNM_OP_ADD: case CNNM_OP_MUL: case CNNM_OP_CONCAT:
    case CNNM_OP_SOFTMAX: case CNNM_OP_AFFINE: case CNNM_OP_IDENTITY:
        return 1;
    default:
        return 0;
    }
}

cnnm_status cnnm_check_runnable(const cnnm_model *model, cnnm_error *err) {
    if (!model) return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_check_runnable: model is NULL");
    size_t count = cnnm_node_count(model);
    for (size_t i = 0; i < count; i++) {
        const cnnm_node *n = &model->nodes[i];
        if (runnable(n) && n->n_outputs == 1) continue;
        if (runnable(n)) {
            return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_OP, model->path, "node '%s' (%s) has %zu outputs; the C executor runs single-output nodes",
                             n->name, cnnm_op_name(n->op), n->n_outputs);
        }
        const char *hint = "";
        if (n->op == CNNM_OP_BATCH_NORM) hint = " — fold BatchNorm into the preceding conv/linear first (the converter's fold pass)";
        else if (n->op == CNNM_OP_DROPOUT) hint = " — remove dropout first (the converter's dropout pass)";
        else if (n->op == CNNM_OP_CONV2D || n->op == CNNM_OP_LINEAR) hint = " with a weight reparameterization — fold it into plain weights first";
        else if (n->op == CNNM_OP_UNKNOWN) hint = " (an op from a newer format version, or none)";
        char label[300];
        if (n->name[0]) snprintf(label, sizeof label, "node '%s'", n->name);
        else snprintf(label, sizeof label, "node #%zu", i);
        return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_OP, model->path, "%s: the C executor does not run op %s%s", label,
                         cnnm_op_name(n->op), hint);
    }
    return CNNM_OK;
}

uint64_t cnnm_array_count(const cnnm_array *a) {
    uint64_t c = 1;
    for (size_t i = 0; i < a->rank; i++) c *= a->dims[i];
    return c;
}

void cnnm_array_free(cnnm_array *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
}

/* ---- kernels -------------------------------------------------------------------------------- */

typedef struct value {
    const char *name;
    cnnm_shape shape;
    float *data;
    int owned;
    size_t last_use;  /* index of the last node reading it; SIZE_MAX for graph outputs */
} value;

static size_t count_of(const cnnm_shape *s) {
    size_t c = 1;
    for (int i = 0; i < s->rank; i++) c *= (size_t)s->d[i];
    return c;
}

static size_t span(const cnnm_shape *s, int from, int to) {
    size_t c = 1;
    for (int i = from; i < to; i++) c *= (size_t)s->d[i];
    return c;
}

static void conv2d(const cnnm_node *node, const value *x, float *y, const cnnm_shape *ys) {
    const cnnm_tensor *w = node->attr.conv2d.weight, *b = node->attr.conv2d.bias;
    const cnnm_window *win = &node->attr.conv2d.window;
    size_t groups = cnnm_or_one(node->attr.conv2d.groups);
    size_t n_batch = (size_t)x->shape.d[0], cin = (size_t)x->shape.d[1], ih = (size_t)x->shape.d[2], iw = (size_t)x->shape.d[3];
    size_t cout = (size_t)ys->d[1], oh = (size_t)ys->d[2], ow = (size_t)ys->d[3];
    size_t kh = (size_t)w->dims[2], kw = (size_t)w->dims[3];
    size_t cin_g = cin / groups, cout_g = cout / groups;
    long sh = (long)cnnm_or_one(win->stride_h), sw = (long)cnnm_or_one(win->stride_w);
    long dh = (long)cnnm_or_one(win->dilation_h), dw = (long)cnnm_or_one(win->dilation_w);
    long pt = (long)win->pad_top, pl = (long)win->pad_left;
    for (size_t n = 0; n < n_batch; n++) {
        for (size_t oc = 0; oc < cout; oc++) {
            size_t g = oc / cout_g;
            const float *wk = w->data + oc * cin_g * kh * kw;
            float *dst = y + (n * cout + oc) * oh * ow;
            for (size_t oy = 0; oy < oh; oy++) {
                for (size_t ox = 0; ox < ow; ox++) {
                    double acc = b ? b->data[oc] : 0.0;
                    long y0 = (long)oy * sh - pt, x0 = (long)ox * sw - pl;
                    for (size_t ic = 0; ic < cin_g; ic++) {
                        const float *src = x->data + (n * cin + g * cin_g + ic) * ih * iw;
                        const float *wc = wk + ic * kh * kw;
                        for (size_t ky = 0; ky < kh; ky++) {
                            long yy = y0 + (long)ky * dh;
                            if (yy < 0 || yy >= (long)ih) continue;
                            const float *row = src + (size_t)yy * iw;
                            for (size_t kx = 0; kx < kw; kx++) {
                                long xx = x0 + (long)kx * dw;
                                if (xx < 0 || xx >= (long)iw) continue;
                                acc += (double)row[xx] * (double)wc[ky * kw + kx];
                            }
                        }
                    }
                    dst[oy * ow + ox] = (float)acc;
                }
            }
        }
    }
}

static void linear(const cnnm_node *node, const value *x, float *y) {
    const cnnm_tensor *w = node->attr.linear.weight, *b = node->attr.linear.bias;
    size_t out_f = (size_t)w->dims[0], in_f = (size_t)w->dims[1];
    size_t rows = count_of(&x->shape) / in_f;
    for (size_t r = 0; r < rows; r++) {
        const float *src = x->data + r * in_f;
        for (size_t o = 0; o < out_f; o++) {
            const float *wr = w->data + o * in_f;
            double acc = b ? b->data[o] : 0.0;
            for (size_t i = 0; i < in_f; i++) acc += (double)src[i] * (double)wr[i];
            y[r * out_f + o] = (float)acc;
        }
    }
}

static void pool2d(const cnnm_node *node, const value *x, float *y, const cnnm_shape *ys) {
    const cnnm_window *win = &node->attr.pool2d.window;
    size_t planes = (size_t)x->shape.d[0] * (size_t)x->shape.d[1];
    long ih = (long)x->shape.d[2], iw = (long)x->shape.d[3], oh = (long)ys->d[2], ow = (long)ys->d[3];
    long kh = (long)win->kernel_h, kw = (long)win->kernel_w;
    long sh = (long)win->stride_h, sw = (long)win->stride_w;
    long dh = (long)cnnm_or_one(win->dilation_h), dw = (long)cnnm_or_one(win->dilation_w);
    long pt = (long)win->pad_top, pl = (long)win->pad_left, pb = (long)win->pad_bottom, pr = (long)win->pad_right;
    int average = node->attr.pool2d.kind == CNNM_POOL_AVERAGE, include_pad = node->attr.pool2d.count_include_pad;
    for (size_t p = 0; p < planes; p++) {
        const float *src = x->data + p * (size_t)(ih * iw);
        float *dst = y + p * (size_t)(oh * ow);
        for (long oy = 0; oy < oh; oy++) {
            long y0 = oy * sh - pt;
            long rows_inside = 0, rows_padded = 0;
            for (long ky = 0; ky < kh; ky++) {
                long yy = y0 + ky * dh;
                if (yy >= 0 && yy < ih) rows_inside++;
                if (yy >= -pt && yy < ih + pb) rows_padded++;
            }
            for (long ox = 0; ox < ow; ox++) {
                long x0 = ox * sw - pl;
                long cols_inside = 0, cols_padded = 0;
                for (long kx = 0; kx < kw; kx++) {
                    long xx = x0 + kx * dw;
                    if (xx >= 0 && xx < iw) cols_inside++;
                    if (xx >= -pl && xx < iw + pr) cols_padded++;
                }
                double sum = 0;
                float best = -INFINITY;
                for (long ky = 0; ky < kh; ky++) {
                    long yy = y0 + ky * dh;
                    if (yy < 0 || yy >= ih) continue;
                    for (long kx = 0; kx < kw; kx++) {
                        long xx = x0 + kx * dw;
                        if (xx < 0 || xx >= iw) continue;
                        float v = src[yy * iw + xx];
                        sum += v;
                        if (v > best || isnan(v)) best = v;
                    }
                }
                if (average) {
                    long divisor = include_pad ? rows_padded * cols_padded : rows_inside * cols_inside;
                    dst[oy * ow + ox] = divisor == 0 ? 0.0f : (float)(sum / (double)divisor);
                } else {
                    dst[oy * ow + ox] = best;
                }
            }
        }
    }
}

static void global_pool(const cnnm_node *node, const value *x, float *y) {
    size_t planes = (size_t)x->shape.d[0] * (size_t)x->shape.d[1];
    size_t size = span(&x->shape, 2, x->shape.rank);
    int average = node->attr.global_pool.kind == CNNM_POOL_AVERAGE;
    for (size_t p = 0; p < planes; p++) {
        const float *src = x->data + p * size;
        double sum = 0;
        float best = -INFINITY;
        for (size_t i = 0; i < size; i++) {
            sum += src[i];
            if (src[i] > best || isnan(src[i])) best = src[i];
        }
        y[p] = average ? (size ? (float)(sum / (double)size) : 0.0f) : best;
    }
}

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

static void elementwise(const cnnm_node *node, const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) {
        double v = x[i], r;
        switch (node->op) {
        case CNNM_OP_RELU: r = v > 0 ? v : 0; break;
        case CNNM_OP_CLIP: r = v < node->attr.clip.min ? node->attr.clip.min : (v > node->attr.clip.max ? node->attr.clip.max : v); break;
        case CNNM_OP_LEAKY_RELU: r = v < 0 ? node->attr.leaky_relu.alpha * v : v; break;
        case CNNM_OP_SIGMOID: r = sigmoid(v); break;
        case CNNM_OP_TANH: r = tanh(v); break;
        case CNNM_OP_HARD_SIGMOID: {
            double t = node->attr.hard_sigmoid.alpha * v + node->attr.hard_sigmoid.beta;
            r = t < 0 ? 0 : (t > 1 ? 1 : t);
            break;
        }
        case CNNM_OP_HARD_SWISH: {
            double t = v + 3;
            r = v * (t < 0 ? 0 : (t > 6 ? 6 : t)) / 6;
            break;
        }
        case CNNM_OP_SILU: r = v * sigmoid(v); break;
        default: r = v; break; /* identity, flatten */
        }
        y[i] = isnan(x[i]) ? x[i] : (float)r;
    }
}

static void softmax(const value *x, int axis, float *y) {
    size_t outer = span(&x->shape, 0, axis), len = (size_t)x->shape.d[axis], inner = span(&x->shape, axis + 1, x->shape.rank);
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            const float *src = x->data + o * len * inner + in;
            float *dst = y + o * len * inner + in;
            double m = -INFINITY, sum = 0;
            for (size_t k = 0; k < len; k++) if (src[k * inner] > m) m = src[k * inner];
            for (size_t k = 0; k < len; k++) sum += exp((double)src[k * inner] - m);
            for (size_t k = 0; k < len; k++) dst[k * inner] = (float)(exp((double)src[k * inner] - m) / sum);
        }
    }
}

static void affine(const cnnm_node *node, const value *x, float *y) {
    const cnnm_tensor *scale = node->attr.affine.scale, *shift = node->attr.affine.shift;
    size_t n_batch = (size_t)x->shape.d[0], channels = (size_t)x->shape.d[1], inner = span(&x->shape, 2, x->shape.rank);
    for (size_t n = 0; n < n_batch; n++)
        for (size_t c = 0; c < channels; c++) {
            size_t base = (n * channels + c) * inner;
            double a = scale->data[c], b = shift ? shift->data[c] : 0.0;
            for (size_t i = 0; i < inner; i++) y[base + i] = (float)(a * x->data[base + i] + b);
        }
}

static void add(const value *const *xs, size_t n, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) {
        double acc = 0;
        for (size_t k = 0; k < n; k++) acc += xs[k]->data[i];
        y[i] = (float)acc;
    }
}

/* y = a * b, b broadcast to a's shape (each of b's dims equals a's or is 1). */
static void mul(const value *a, const value *b, float *y) {
    int rank = a->shape.rank;
    size_t count = count_of(&a->shape);
    size_t b_strides[CNNM_MAX_RANK];
    size_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        b_strides[i] = b->shape.d[i] == 1 ? 0 : stride;
        stride *= (size_t)b->shape.d[i];
    }
    size_t index[CNNM_MAX_RANK] = {0};
    size_t bi = 0;
    for (size_t i = 0; i < count; i++) {
        y[i] = a->data[i] * b->data[bi];
        for (int d = rank - 1; d >= 0; d--) { /* odometer over a's shape */
            index[d]++;
            bi += b_strides[d];
            if (index[d] < (size_t)a->shape.d[d]) break;
            bi -= b_strides[d] * index[d];
            index[d] = 0;
        }
    }
}

static void concat(const value *const *xs, size_t n, int axis, float *y, const cnnm_shape *ys) {
    size_t outer = span(ys, 0, axis), inner = span(ys, axis + 1, ys->rank), out_len = (size_t)ys->d[axis];
    size_t offset = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len = (size_t)xs[k]->shape.d[axis];
        for (size_t o = 0; o < outer; o++)
            memcpy(y + (o * out_len + offset) * inner, xs[k]->data + o * len * inner, len * inner * sizeof(float));
        offset += len;
    }
}

/* ---- running -------------------------------------------------------------------------------- */

static int normalize(int32_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

cnnm_status cnnm_run(const cnnm_model *model, const cnnm_array *inputs, size_t n_inputs,
                     cnnm_array *outputs, size_t n_outputs, cnnm_error *err) {
    if (!model || (!inputs && n_inputs) || (!outputs && n_outputs))
        return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_run: a required pointer is NULL");
    for (size_t i = 0; i < n_outputs; i++) outputs[i].data = NULL;
    if (n_inputs != cnnm_input_count(model))
        return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, model->path, "the model has %zu inputs, %zu were given",
                         cnnm_input_count(model), n_inputs);
    if (n_outputs != cnnm_output_count(model))
        return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, model->path, "the model has %zu outputs, room for %zu was given",
                         cnnm_output_count(model), n_outputs);
    cnnm_status status = cnnm_check_runnable(model, err);
    if (status != CNNM_OK) return status;

    size_t n_nodes = cnnm_node_count(model);
    /* Values by the ids validation gave them (graph inputs, then node outputs): no name lookups. */
    size_t capacity = model->n_values + 1, n_values = model->n_values, max_in = 1;
    for (size_t i = 0; i < n_nodes; i++) if (model->nodes[i].n_inputs > max_in) max_in = model->nodes[i].n_inputs;
    value *values = calloc(capacity, sizeof *values);
    const value **ins = calloc(max_in, sizeof *ins);
    const cnnm_shape **in_shapes = calloc(max_in, sizeof *in_shapes);
    if (!values || !ins || !in_shapes) {
        status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        const cnnm_value_info *info = &model->inputs[i];
        const cnnm_array *a = &inputs[i];
        if (!a->data || a->rank > CNNM_MAX_RANK || (info->rank && a->rank != info->rank)) {
            status = cnnm_fail(err, CNNM_ERR_INPUT_SHAPE, model->path, "input '%s': expected rank %zu, got %zu%s", info->name,
                               info->rank, a->rank, a->data ? "" : " and no data");
            goto done;
        }
        value *v = &values[i];
        v->name = info->name;
        v->shape.rank = (int)a->rank;
        size_t count = 1;
        for (size_t d = 0; d < a->rank; d++) {
            if (a->dims[d] == 0 || a->dims[d] > ((uint64_t)1 << 40) || (info->rank && d > 0 && info->dims[d].size >= 0 &&
                                                                      (uint64_t)info->dims[d].size != a->dims[d])) {
                status = cnnm_fail(err, CNNM_ERR_INPUT_SHAPE, model->path, "input '%s': axis %zu has size %llu, the model expects %lld",
                                   info->name, d, (unsigned long long)a->dims[d], (long long)info->dims[d].size);
                goto done;
            }
            v->shape.d[d] = (int64_t)a->dims[d];
            count *= (size_t)a->dims[d];
        }
        (void)count;
        v->data = a->data;
        v->owned = 0;
        v->last_use = 0;
    }
    for (size_t i = 0; i < n_nodes; i++) {
        const cnnm_node *node = &model->nodes[i];
        for (size_t k = 0; k < node->n_inputs; k++) {
            value *v = &values[model->input_values[model->input_offsets[i] + k]];
            ins[k] = v; /* defined earlier: checked at open */
            in_shapes[k] = &v->shape;
        }
        /* Last uses, computed lazily: scan forward once per node output below instead. */
        cnnm_shape out_shape;
        status = cnnm_infer_shape(model, node, in_shapes, &out_shape, err);
        if (status != CNNM_OK) {
            if (err) err->code = status = CNNM_ERR_INPUT_SHAPE;
            goto done;
        }
        if (out_shape.rank < 0 || out_shape.rank > CNNM_MAX_RANK) {
            status = cnnm_fail(err, CNNM_ERR_INPUT_SHAPE, model->path, "node '%s': output rank out of range", node->name);
            goto done;
        }
        size_t count = count_of(&out_shape);
        float *y = malloc(count ? count * sizeof(float) : 1);
        if (!y) {
            status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory for the output of node '%s'", node->name);
            goto done;
        }
        const value *x = ins[0];
        switch (node->op) {
        case CNNM_OP_CONV2D: conv2d(node, x, y, &out_shape); break;
        case CNNM_OP_LINEAR: linear(node, x, y); break;
        case CNNM_OP_POOL2D: pool2d(node, x, y, &out_shape); break;
        case CNNM_OP_GLOBAL_POOL: global_pool(node, x, y); break;
        case CNNM_OP_SOFTMAX: softmax(x, normalize(node->attr.softmax.axis, x->shape.rank), y); break;
        case CNNM_OP_AFFINE: affine(node, x, y); break;
        case CNNM_OP_ADD: add(ins, node->n_inputs, y, count); break;
        case CNNM_OP_MUL: mul(ins[0], ins[1], y); break;
        case CNNM_OP_CONCAT: concat(ins, node->n_inputs, normalize(node->attr.concat.axis, out_shape.rank), y, &out_shape); break;
        default: elementwise(node, x->data, y, count); break;
        }
        value *v = &values[model->node_first_value[i]];
        v->name = node->outputs[0];
        v->shape = out_shape;
        v->data = y;
        v->owned = 1;
        /* Free owned inputs no later node (nor a graph output) reads. */
        for (size_t k = 0; k < node->n_inputs; k++) {
            value *in = (value *)ins[k];
            if (!in->owned || !in->data) continue;
            if (model->last_use[model->input_values[model->input_offsets[i] + k]] == i) { /* graph outputs: SIZE_MAX */
                free(in->data);
                in->data = NULL;
            }
        }
    }
    for (size_t o = 0; o < n_outputs; o++) {
        value *v = &values[model->output_values[o]];
        size_t count = count_of(&v->shape);
        outputs[o].data = malloc(count ? count * sizeof(float) : 1);
        if (!outputs[o].data) {
            status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory");
            for (size_t k = 0; k < o; k++) cnnm_array_free(&outputs[k]);
            goto done;
        }
        memcpy(outputs[o].data, v->data, count * sizeof(float));
        outputs[o].rank = (size_t)v->shape.rank;
        for (int d = 0; d < v->shape.rank; d++) outputs[o].dims[d] = (uint64_t)v->shape.d[d];
    }
    status = CNNM_OK;
    if (err) { err->code = CNNM_OK; err->message[0] = '\0'; }
done:
    if (values)
        for (size_t i = 0; i < n_values; i++)
            if (values[i].owned) free(values[i].data);
    free(values);
    free(ins);
    free(in_shapes);
    return status;
}
