/*
 * cnnm_exec.c — the C executor: runs every op of format 1.0 in inference mode (BatchNorm on
 * running statistics, dropout by its inference rule, weight reparameterizations applied per run),
 * float32 NCHW, with the Swift executor's formulas (Sources/CNNKernels) and double accumulators.
 * It lets a C program with no Swift in it run a cnnconv file, folded or not, with the same
 * answers (the tests compare it with the Swift executor on every fixture). Built with
 * -DCNNM_USE_CBLAS (make BLAS=openblas), conv2d, conv_transpose2d and linear call cblas_sgemm.
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

/* NULL when the executor runs `n`, else why not. */
static const char *not_runnable(const cnnm_node *n) {
    switch (n->op) {
    case CNNM_OP_UNKNOWN:
        return " (an op from a newer format version, or none)";
    case CNNM_OP_CONV2D:
    case CNNM_OP_LINEAR: {
        const cnnm_reparameterization *r =
            n->op == CNNM_OP_CONV2D ? &n->attr.conv2d.reparameterization : &n->attr.linear.reparameterization;
        if (r->kind == CNNM_REPARAM_WEIGHT_NORM && !r->gain) return " with a weight norm that has no gain";
        if (r->kind > CNNM_REPARAM_WEIGHT_STANDARDIZATION) return " with an unknown weight reparameterization";
        return NULL;
    }
    case CNNM_OP_TENSOR_OP:
        return " (tensor ops are not run by the C executor)";
    default:
        return n->op <= CNNM_OP_IDENTITY ? NULL : " (an op from a newer format version)";
    }
}

cnnm_status cnnm_check_runnable(const cnnm_model *model, cnnm_error *err) {
    if (!model) return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_check_runnable: model is NULL");
    size_t count = cnnm_node_count(model);
    for (size_t i = 0; i < count; i++) {
        const cnnm_node *n = &model->nodes[i];
        char label[300];
        if (n->name[0]) snprintf(label, sizeof label, "node '%s'", n->name);
        else snprintf(label, sizeof label, "node #%zu", i);
        /* Tensor ops are read and checked but not run here; the Swift executor runs them. */
        if (n->op == CNNM_OP_TENSOR_OP)
            return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_OP, model->path, "op '%s' (%s) is not supported by the C executor",
                             n->attr.tensor_op.kind, label);
        const char *why = not_runnable(n);
        if (!why) continue;
        return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_OP, model->path, "%s: the C executor does not run op %s%s", label,
                         cnnm_op_name(n->op), why);
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

/* A conv2d/linear weight as the kernels use it: the tensor itself, or the weight rewritten by a
 * reparameterization — weight norm g·v/‖v‖ or weight standardization (v − mean)/√(var + ε),
 * biased variance — per output channel (axis 0), in double and rounded once, as the Swift
 * executor's WeightReparameterization.effectiveWeight does. Returns NULL when out of memory; *owned is set when
 * the caller must free the result. */
static const float *effective_weight(const cnnm_tensor *w, const cnnm_reparameterization *r, float **owned) {
    *owned = NULL;
    if (r->kind == CNNM_REPARAM_NONE || w->rank == 0 || w->dims[0] == 0) return w->data;
    size_t out = (size_t)w->dims[0], per = (size_t)(w->count / w->dims[0]);
    float *y = malloc(w->count ? (size_t)w->count * sizeof(float) : 1);
    if (!y) return NULL;
    for (size_t o = 0; o < out; o++) {
        const float *v = w->data + o * per;
        float *d = y + o * per;
        if (r->kind == CNNM_REPARAM_WEIGHT_NORM) {
            double squares = 0;
            for (size_t i = 0; i < per; i++) squares += (double)v[i] * (double)v[i];
            double norm = sqrt(squares);
            /* ‖v‖ = 0: keep zero weights rather than NaN (the Swift executor's choice). */
            double f = norm > 0 ? (double)r->gain->data[o] / norm : 0.0;
            for (size_t i = 0; i < per; i++) d[i] = (float)((double)v[i] * f);
        } else {
            double sum = 0, squares = 0;
            for (size_t i = 0; i < per; i++) sum += v[i];
            double mean = per ? sum / (double)per : 0.0;
            for (size_t i = 0; i < per; i++) squares += ((double)v[i] - mean) * ((double)v[i] - mean);
            double inv = 1.0 / sqrt((per ? squares / (double)per : 0.0) + r->epsilon);
            for (size_t i = 0; i < per; i++) d[i] = (float)(((double)v[i] - mean) * inv);
        }
    }
    *owned = y;
    return y;
}

#ifdef CNNM_USE_CBLAS
#include <cblas.h>

/* Fills each of `channels` planes of `plane` values with bias[c], or zeros. */
static void fill_bias(float *y, size_t channels, size_t plane, const cnnm_tensor *b) {
    for (size_t c = 0; c < channels; c++)
        for (size_t i = 0; i < plane; i++) y[c * plane + i] = b ? b->data[c] : 0.0f;
}

/* Columns [cin_g·kh·kw, oh·ow] of one group of one image (zero where the window is in padding). */
static void im2col(const float *src, size_t cin_g, long ih, long iw, long kh, long kw, long oh, long ow,
                   long sh, long sw, long dh, long dw, long pt, long pl, float *col) {
    for (size_t ic = 0; ic < cin_g; ic++)
        for (long ky = 0; ky < kh; ky++)
            for (long kx = 0; kx < kw; kx++) {
                float *row = col + ((ic * (size_t)kh + (size_t)ky) * (size_t)kw + (size_t)kx) * (size_t)(oh * ow);
                const float *plane = src + ic * (size_t)(ih * iw);
                for (long oy = 0; oy < oh; oy++) {
                    long yy = oy * sh - pt + ky * dh;
                    for (long ox = 0; ox < ow; ox++) {
                        long xx = ox * sw - pl + kx * dw;
                        row[oy * ow + ox] = (yy < 0 || yy >= ih || xx < 0 || xx >= iw) ? 0.0f : plane[yy * iw + xx];
                    }
                }
            }
}
#endif

/* y = conv(x, w) + b, NCHW; w is [cout, cin/groups, kh, kw]. With BLAS: im2col + one sgemm per
 * image and group; otherwise a direct loop with a double accumulator. Returns 0 when out of
 * memory (BLAS scratch). */
static int conv2d(const cnnm_node *node, const float *wdata, const value *x, float *y, const cnnm_shape *ys) {
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
#ifdef CNNM_USE_CBLAS
    size_t kdim = cin_g * kh * kw, plane = oh * ow;
    float *col = malloc(kdim * plane * sizeof(float) + 1);
    if (!col) return 0;
    for (size_t n = 0; n < n_batch; n++) {
        float *image = y + n * cout * plane;
        fill_bias(image, cout, plane, b);
        for (size_t g = 0; g < groups; g++) {
            im2col(x->data + (n * cin + g * cin_g) * ih * iw, cin_g, (long)ih, (long)iw, (long)kh, (long)kw, (long)oh, (long)ow,
                   sh, sw, dh, dw, pt, pl, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cout_g, (int)plane, (int)kdim, 1.0f,
                        wdata + g * cout_g * kdim, (int)kdim, col, (int)plane, 1.0f, image + g * cout_g * plane, (int)plane);
        }
    }
    free(col);
#else
    for (size_t n = 0; n < n_batch; n++) {
        for (size_t oc = 0; oc < cout; oc++) {
            size_t g = oc / cout_g;
            const float *wk = wdata + oc * cin_g * kh * kw;
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
#endif
    return 1;
}

/* Transposed convolution, NCHW; w is [cin, cout/groups, kh, kw]. Output pixel (oy, ox) gathers
 * input pixel iy = (oy + pad_top − ky·dh)/sh wherever that division is exact and in range (the
 * scatter of ConvTranspose.swift, read backwards). With BLAS: per image and group one sgemm
 * Wᵀ·X into columns, then col2im. Returns 0 when out of memory (BLAS scratch). */
static int conv_transpose2d(const cnnm_node *node, const value *x, float *y, const cnnm_shape *ys) {
    const cnnm_tensor *w = node->attr.conv_transpose2d.weight, *b = node->attr.conv_transpose2d.bias;
    const cnnm_window *win = &node->attr.conv_transpose2d.window;
    size_t groups = cnnm_or_one(node->attr.conv_transpose2d.groups);
    size_t n_batch = (size_t)x->shape.d[0], cin = (size_t)x->shape.d[1];
    long ih = (long)x->shape.d[2], iw = (long)x->shape.d[3];
    size_t cout = (size_t)ys->d[1];
    long oh = (long)ys->d[2], ow = (long)ys->d[3];
    long kh = (long)w->dims[2], kw = (long)w->dims[3];
    size_t cin_g = cin / groups, cout_g = cout / groups;
    long sh = (long)cnnm_or_one(win->stride_h), sw = (long)cnnm_or_one(win->stride_w);
    long dh = (long)cnnm_or_one(win->dilation_h), dw = (long)cnnm_or_one(win->dilation_w);
    long pt = (long)win->pad_top, pl = (long)win->pad_left;
#ifdef CNNM_USE_CBLAS
    size_t rows = cout_g * (size_t)(kh * kw), in_plane = (size_t)(ih * iw), out_plane = (size_t)(oh * ow);
    float *col = malloc(rows * in_plane * sizeof(float) + 1);
    if (!col) return 0;
    for (size_t n = 0; n < n_batch; n++) {
        float *image = y + n * cout * out_plane;
        fill_bias(image, cout, out_plane, b);
        for (size_t g = 0; g < groups; g++) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)in_plane, (int)cin_g, 1.0f,
                        w->data + g * cin_g * rows, (int)rows, x->data + (n * cin + g * cin_g) * in_plane, (int)in_plane,
                        0.0f, col, (int)in_plane);
            for (size_t oc = 0; oc < cout_g; oc++) {
                float *dst = image + (g * cout_g + oc) * out_plane;
                for (long ky = 0; ky < kh; ky++)
                    for (long kx = 0; kx < kw; kx++) {
                        const float *src = col + ((oc * (size_t)kh + (size_t)ky) * (size_t)kw + (size_t)kx) * in_plane;
                        for (long iy = 0; iy < ih; iy++) {
                            long oy = iy * sh - pt + ky * dh;
                            if (oy < 0 || oy >= oh) continue;
                            for (long ix = 0; ix < iw; ix++) {
                                long ox = ix * sw - pl + kx * dw;
                                if (ox >= 0 && ox < ow) dst[oy * ow + ox] += src[iy * iw + ix];
                            }
                        }
                    }
            }
        }
    }
    free(col);
#else
    for (size_t n = 0; n < n_batch; n++) {
        for (size_t oc = 0; oc < cout; oc++) {
            size_t g = oc / cout_g, j = oc % cout_g;
            float *dst = y + (n * cout + oc) * (size_t)(oh * ow);
            for (long oy = 0; oy < oh; oy++) {
                for (long ox = 0; ox < ow; ox++) {
                    double acc = b ? b->data[oc] : 0.0;
                    for (long ky = 0; ky < kh; ky++) {
                        long ty = oy + pt - ky * dh;
                        if (ty < 0 || ty % sh) continue;
                        long iy = ty / sh;
                        if (iy >= ih) continue;
                        for (long kx = 0; kx < kw; kx++) {
                            long tx = ox + pl - kx * dw;
                            if (tx < 0 || tx % sw) continue;
                            long ix = tx / sw;
                            if (ix >= iw) continue;
                            for (size_t ic = 0; ic < cin_g; ic++) {
                                size_t c = g * cin_g + ic;
                                acc += (double)x->data[((n * cin + c) * (size_t)ih + (size_t)iy) * (size_t)iw + (size_t)ix] *
                                       (double)w->data[((c * cout_g + j) * (size_t)kh + (size_t)ky) * (size_t)kw + (size_t)kx];
                            }
                        }
                    }
                    dst[oy * ow + ox] = (float)acc;
                }
            }
        }
    }
#endif
    return 1;
}

/* y = x Wᵀ + b over the last axis; W is [out, in]. */
static void linear(const cnnm_node *node, const float *wdata, const value *x, float *y) {
    const cnnm_tensor *w = node->attr.linear.weight, *b = node->attr.linear.bias;
    size_t out_f = (size_t)w->dims[0], in_f = (size_t)w->dims[1];
    size_t rows = count_of(&x->shape) / in_f;
#ifdef CNNM_USE_CBLAS
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < out_f; o++) y[r * out_f + o] = b ? b->data[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)out_f, (int)in_f, 1.0f, x->data, (int)in_f, wdata,
                (int)in_f, 1.0f, y, (int)out_f);
#else
    for (size_t r = 0; r < rows; r++) {
        const float *src = x->data + r * in_f;
        for (size_t o = 0; o < out_f; o++) {
            const float *wr = wdata + o * in_f;
            double acc = b ? b->data[o] : 0.0;
            for (size_t i = 0; i < in_f; i++) acc += (double)src[i] * (double)wr[i];
            y[r * out_f + o] = (float)acc;
        }
    }
#endif
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

/* ---- normalizations, dropout, shuffle, resize (Normalization.swift, Dropout.swift,
 *      Elementwise.swift, Resize.swift: the same formulas, statistics in double) ------------ */

/* Rank >= 2 values as (N, C, plane): plane is the product of the axes after the channel axis. */
static void nc_plane(const cnnm_shape *s, size_t *n, size_t *c, size_t *plane) {
    *n = (size_t)s->d[0];
    *c = s->rank > 1 ? (size_t)s->d[1] : 1;
    *plane = span(s, 2, s->rank);
}

static double param(const cnnm_tensor *t, size_t i, double absent) { return t ? (double)t->data[i] : absent; }

/* Inference: y = γ·(x − μ)/√(σ² + ε) + β per channel; γ = 1, β = 0 when not affine. */
static void batch_norm(const cnnm_node *node, const value *x, float *y) {
    size_t n_batch, channels, plane;
    nc_plane(&x->shape, &n_batch, &channels, &plane);
    for (size_t p = 0; p < n_batch * channels; p++) {
        size_t c = p % channels;
        double a = param(node->attr.batch_norm.scale, c, 1.0) /
                   sqrt((double)node->attr.batch_norm.running_variance->data[c] + node->attr.batch_norm.epsilon);
        double m = node->attr.batch_norm.running_mean->data[c], b = param(node->attr.batch_norm.bias, c, 0.0);
        for (size_t i = 0; i < plane; i++) y[p * plane + i] = (float)(((double)x->data[p * plane + i] - m) * a + b);
    }
}

/* Inference: inverted dropout is the identity, classic dropout multiplies by keep = 1 − rate. */
static void dropout(const cnnm_node *node, const float *x, float *y, size_t count) {
    double keep = node->attr.dropout.classic ? 1.0 - node->attr.dropout.rate : 1.0;
    for (size_t i = 0; i < count; i++) y[i] = node->attr.dropout.classic ? (float)((double)x[i] * keep) : x[i];
}

/* Normalizes `count` values to zero mean and unit (biased) variance, then y·scale + bias with
 * scale/bias of channel first_channel + i/plane (plane 0: index i itself, for LayerNorm). */
static void normalize_run(const float *src, float *dst, size_t count, double epsilon, const cnnm_tensor *scale,
                          const cnnm_tensor *bias, size_t first_channel, size_t plane) {
    double sum = 0, squares = 0;
    for (size_t i = 0; i < count; i++) sum += src[i];
    double mean = sum / (double)count;
    for (size_t i = 0; i < count; i++) squares += ((double)src[i] - mean) * ((double)src[i] - mean);
    double inv = 1.0 / sqrt(squares / (double)count + epsilon);
    for (size_t i = 0; i < count; i++) {
        size_t k = plane ? first_channel + i / plane : i;
        dst[i] = (float)(((double)src[i] - mean) * inv * param(scale, k, 1.0) + param(bias, k, 0.0));
    }
}

/* LayerNorm over the axes axis..rank−1. */
static void layer_norm(const cnnm_node *node, const value *x, int axis, float *y) {
    size_t outer = span(&x->shape, 0, axis), inner = span(&x->shape, axis, x->shape.rank);
    if (inner == 0) return;
    for (size_t r = 0; r < outer; r++)
        normalize_run(x->data + r * inner, y + r * inner, inner, node->attr.layer_norm.epsilon, node->attr.layer_norm.scale,
                      node->attr.layer_norm.bias, 0, 0);
}

/* GroupNorm: per image, groups of C/groups consecutive channels normalized together; per-channel
 * scale and bias (PyTorch nn.GroupNorm). */
static void group_norm(const cnnm_node *node, const value *x, float *y) {
    size_t n_batch, channels, plane, groups = node->attr.group_norm.num_groups;
    nc_plane(&x->shape, &n_batch, &channels, &plane);
    size_t per = channels / groups, run = per * plane;
    if (run == 0) return;
    for (size_t r = 0; r < n_batch * groups; r++)
        normalize_run(x->data + r * run, y + r * run, run, node->attr.group_norm.epsilon, node->attr.group_norm.scale,
                      node->attr.group_norm.bias, (r % groups) * per, plane);
}

/* InstanceNorm: each (image, channel) plane on its own. */
static void instance_norm(const cnnm_node *node, const value *x, float *y) {
    size_t n_batch, channels, plane;
    nc_plane(&x->shape, &n_batch, &channels, &plane);
    if (plane == 0) return;
    for (size_t p = 0; p < n_batch * channels; p++)
        normalize_run(x->data + p * plane, y + p * plane, plane, node->attr.instance_norm.epsilon, node->attr.instance_norm.scale,
                      node->attr.instance_norm.bias, p % channels, plane);
}

/* ONNX LRN: y = x / (bias + alpha/size · Σ x²)^beta over channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉. */
static void lrn(const cnnm_node *node, const value *x, float *y) {
    size_t n_batch, channels, plane;
    nc_plane(&x->shape, &n_batch, &channels, &plane);
    long size = (long)node->attr.lrn.size, before = (size - 1) / 2, after = size - 1 - before;
    double k = node->attr.lrn.bias, a = (double)node->attr.lrn.alpha / (double)size, beta = node->attr.lrn.beta;
    for (size_t p = 0; p < n_batch * channels; p++) {
        long n = (long)(p / channels), c = (long)(p % channels);
        long lo = c - before < 0 ? 0 : c - before, hi = c + after > (long)channels - 1 ? (long)channels - 1 : c + after;
        for (size_t i = 0; i < plane; i++) {
            double sum = 0;
            for (long cc = lo; cc <= hi; cc++) {
                double v = x->data[((size_t)n * channels + (size_t)cc) * plane + i];
                sum += v * v;
            }
            y[p * plane + i] = (float)((double)x->data[p * plane + i] / pow(k + a * sum, beta));
        }
    }
}

/* [N, g, C/g, …] → [N, C/g, g, …]: input channel g·(C/g) + j becomes output channel j·g + g. */
static void channel_shuffle(const cnnm_node *node, const value *x, float *y) {
    size_t n_batch, channels, plane, groups = node->attr.channel_shuffle.groups;
    nc_plane(&x->shape, &n_batch, &channels, &plane);
    size_t per = channels / groups;
    for (size_t p = 0; p < n_batch * channels; p++) {
        size_t n = p / channels, c = p % channels, g = c / per, j = c % per;
        memcpy(y + (n * channels + j * groups + g) * plane, x->data + p * plane, plane * sizeof(float));
    }
}

/* The schema's CoordinateTransform and NearestRounding numbers (cnnmodel.proto). */
enum { ASYMMETRIC = 1, ALIGN_CORNERS = 2, PYTORCH_HALF_PIXEL = 3 }; /* HALF_PIXEL = 0 */
enum { ROUND_FLOOR = 0, ROUND_PREFER_CEIL = 2, ROUND_CEIL = 3 }; /* ROUND_PREFER_FLOOR = 1 */

/* The input coordinate of output coordinate o (ONNX coordinate_transformation_mode). A value
 * from a newer schema reads as half pixel, as the Swift reader reads it (Graph+File.swift). */
static double resize_source(int transform, long o, double scale, long in_len, long out_len) {
    double x = (double)o;
    switch (transform) {
    case PYTORCH_HALF_PIXEL: return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case ASYMMETRIC: return x / scale;
    case ALIGN_CORNERS: {
        /* The resized length in·scale as a real number (CNNKernels' resizedLength), snapped to
         * the output length when it is that up to rounding. */
        double l = (double)in_len * scale;
        if (fabs(l - (double)out_len) <= 1e-9 * (l > 1 ? l : 1)) l = (double)out_len;
        return l == 1 ? 0.0 : x * (double)(in_len - 1) / (l - 1);
    }
    default: return (x + 0.5) / scale - 0.5; /* half pixel */
    }
}

/* ONNX nearest_mode; a value from a newer schema reads as round-prefer-floor (as in Swift). */
static long nearest_index(int rounding, double x) {
    switch (rounding) {
    case ROUND_PREFER_CEIL: return (long)floor(x + 0.5);
    case ROUND_FLOOR: return (long)floor(x);
    case ROUND_CEIL: return (long)ceil(x);
    default: return (long)ceil(x - 0.5); /* round prefer floor */
    }
}

static long clamp_index(long v, long len) { return v < 0 ? 0 : (v >= len ? len - 1 : v); }

/* Nearest (indices clamped to the input) or bilinear (the source coordinate clamped to
 * [0, in − 1], replicating the edge) resize of NCHW data; the output size comes from shape
 * inference (⌊in·scale⌋), the transforms use the stored scales. */
static void resize(const cnnm_node *node, const value *x, float *y, const cnnm_shape *ys) {
    size_t planes = (size_t)x->shape.d[0] * (size_t)x->shape.d[1];
    long ih = (long)x->shape.d[2], iw = (long)x->shape.d[3], oh = (long)ys->d[2], ow = (long)ys->d[3];
    int transform = node->attr.resize.coordinate_transform, rounding = node->attr.resize.nearest_rounding;
    double scale_h = node->attr.resize.scale_h, scale_w = node->attr.resize.scale_w;
    for (size_t p = 0; p < planes; p++) {
        const float *src = x->data + p * (size_t)(ih * iw);
        float *dst = y + p * (size_t)(oh * ow);
        for (long oy = 0; oy < oh; oy++) {
            double sy = resize_source(transform, oy, scale_h, ih, oh);
            for (long ox = 0; ox < ow; ox++) {
                double sx = resize_source(transform, ox, scale_w, iw, ow);
                if (!node->attr.resize.bilinear) {
                    dst[oy * ow + ox] = src[clamp_index(nearest_index(rounding, sy), ih) * iw + clamp_index(nearest_index(rounding, sx), iw)];
                    continue;
                }
                double cy = sy < 0 ? 0 : (sy > (double)(ih - 1) ? (double)(ih - 1) : sy);
                double cx = sx < 0 ? 0 : (sx > (double)(iw - 1) ? (double)(iw - 1) : sx);
                long y0 = (long)floor(cy), x0 = (long)floor(cx);
                long y1 = y0 + 1 < ih ? y0 + 1 : ih - 1, x1 = x0 + 1 < iw ? x0 + 1 : iw - 1;
                double wy = cy - (double)y0, wx = cx - (double)x0;
                double top = (1 - wx) * src[y0 * iw + x0] + wx * src[y0 * iw + x1];
                double bottom = (1 - wx) * src[y1 * iw + x0] + wx * src[y1 * iw + x1];
                dst[oy * ow + ox] = (float)((1 - wy) * top + wy * bottom);
            }
        }
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
        int ok = 1;
        switch (node->op) {
        case CNNM_OP_CONV2D:
        case CNNM_OP_LINEAR: {
            int conv = node->op == CNNM_OP_CONV2D;
            float *reparameterized;
            const float *w = effective_weight(conv ? node->attr.conv2d.weight : node->attr.linear.weight,
                                              conv ? &node->attr.conv2d.reparameterization : &node->attr.linear.reparameterization,
                                              &reparameterized);
            if (w && conv) ok = conv2d(node, w, x, y, &out_shape);
            else if (w) linear(node, w, x, y);
            else ok = 0;
            free(reparameterized);
            break;
        }
        case CNNM_OP_CONV_TRANSPOSE2D: ok = conv_transpose2d(node, x, y, &out_shape); break;
        case CNNM_OP_BATCH_NORM: batch_norm(node, x, y); break;
        case CNNM_OP_DROPOUT: dropout(node, x->data, y, count); break;
        case CNNM_OP_LAYER_NORM: layer_norm(node, x, normalize(node->attr.layer_norm.axis, x->shape.rank), y); break;
        case CNNM_OP_GROUP_NORM: group_norm(node, x, y); break;
        case CNNM_OP_INSTANCE_NORM: instance_norm(node, x, y); break;
        case CNNM_OP_LRN: lrn(node, x, y); break;
        case CNNM_OP_CHANNEL_SHUFFLE: channel_shuffle(node, x, y); break;
        case CNNM_OP_RESIZE: resize(node, x, y, &out_shape); break;
        case CNNM_OP_POOL2D: pool2d(node, x, y, &out_shape); break;
        case CNNM_OP_GLOBAL_POOL: global_pool(node, x, y); break;
        case CNNM_OP_SOFTMAX: softmax(x, normalize(node->attr.softmax.axis, x->shape.rank), y); break;
        case CNNM_OP_AFFINE: affine(node, x, y); break;
        case CNNM_OP_ADD: add(ins, node->n_inputs, y, count); break;
        case CNNM_OP_MUL: mul(ins[0], ins[1], y); break;
        case CNNM_OP_CONCAT: concat(ins, node->n_inputs, normalize(node->attr.concat.axis, out_shape.rank), y, &out_shape); break;
        default: elementwise(node, x->data, y, count); break;
        }
        if (!ok) {
            free(y);
            status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory running node '%s'", node->name);
            goto done;
        }
        value *v = &values[model->node_first_value[i]];
        v->name = node->outputs[0];
        v->shape = out_shape;
        v->data = y;
        v->owned = 1;
        /* Further outputs carry the same value (as in the Swift executor): a copy each. */
        for (size_t o = 1; o < node->n_outputs; o++) {
            float *copy = malloc(count ? count * sizeof(float) : 1);
            if (!copy) {
                status = cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, model->path, "out of memory for the outputs of node '%s'", node->name);
                goto done;
            }
            memcpy(copy, y, count * sizeof(float));
            value *extra = &values[model->node_first_value[i] + o];
            extra->name = node->outputs[o];
            extra->shape = out_shape;
            extra->data = copy;
            extra->owned = 1;
        }
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
