// Loads oneDNN with dlopen, so the binary runs (on its own kernels) where libdnnl is missing,
// and so OMP_WAIT_POLICY can be set before libgomp reads it (see cdnnl.h).
#define _GNU_SOURCE
#include "cdnnl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static dnnl_status_t (*p_dnnl_dilated_convolution_forward_desc_init)(dnnl_convolution_desc_t *conv_desc, dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc, const dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t *dst_desc, const dnnl_dims_t strides, const dnnl_dims_t dilates, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r);
static dnnl_status_t (*p_dnnl_engine_create)(dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index);
static dnnl_cpu_isa_t (*p_dnnl_get_effective_cpu_isa)(void);
static dnnl_status_t (*p_dnnl_memory_create)(dnnl_memory_t *memory, const dnnl_memory_desc_t *memory_desc, dnnl_engine_t engine, void *handle);
static int (*p_dnnl_memory_desc_equal)(const dnnl_memory_desc_t *lhs, const dnnl_memory_desc_t *rhs);
static size_t (*p_dnnl_memory_desc_get_size)(const dnnl_memory_desc_t *memory_desc);
static dnnl_status_t (*p_dnnl_memory_desc_init_by_tag)(dnnl_memory_desc_t *memory_desc, int ndims, const dnnl_dims_t dims, dnnl_data_type_t data_type, dnnl_format_tag_t tag);
static dnnl_status_t (*p_dnnl_memory_destroy)(dnnl_memory_t memory);
static dnnl_status_t (*p_dnnl_memory_get_data_handle)(const_dnnl_memory_t memory, void **handle);
static dnnl_status_t (*p_dnnl_post_ops_append_eltwise)(dnnl_post_ops_t post_ops, float scale, dnnl_alg_kind_t alg_kind, float alpha, float beta);
static dnnl_status_t (*p_dnnl_post_ops_append_dw)(dnnl_post_ops_t post_ops, dnnl_data_type_t weights_data_type, dnnl_data_type_t bias_data_type, dnnl_data_type_t dst_data_type, dnnl_dim_t kernel_size, dnnl_dim_t stride_size, dnnl_dim_t padding_l_size, dnnl_dim_t count, int mask, const float *scales);
static dnnl_status_t (*p_dnnl_post_ops_append_sum)(dnnl_post_ops_t post_ops, float scale);
static dnnl_status_t (*p_dnnl_post_ops_create)(dnnl_post_ops_t *post_ops);
static dnnl_status_t (*p_dnnl_post_ops_destroy)(dnnl_post_ops_t post_ops);
static dnnl_status_t (*p_dnnl_primitive_attr_create)(dnnl_primitive_attr_t *attr);
static dnnl_status_t (*p_dnnl_primitive_attr_destroy)(dnnl_primitive_attr_t attr);
static dnnl_status_t (*p_dnnl_primitive_attr_set_post_ops)(dnnl_primitive_attr_t attr, const_dnnl_post_ops_t post_ops);
static dnnl_status_t (*p_dnnl_primitive_create)(dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t primitive_desc);
static dnnl_status_t (*p_dnnl_primitive_desc_create)(dnnl_primitive_desc_t *primitive_desc, const_dnnl_op_desc_t op_desc, const_dnnl_primitive_attr_t attr, dnnl_engine_t engine, const_dnnl_primitive_desc_t hint_forward_primitive_desc);
static dnnl_status_t (*p_dnnl_primitive_desc_destroy)(dnnl_primitive_desc_t primitive_desc);
static dnnl_status_t (*p_dnnl_primitive_desc_query)(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index, void *result);
static const dnnl_memory_desc_t * (*p_dnnl_primitive_desc_query_md)(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index);
static dnnl_status_t (*p_dnnl_primitive_destroy)(dnnl_primitive_t primitive);
static dnnl_status_t (*p_dnnl_primitive_execute)(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t *args);
static dnnl_status_t (*p_dnnl_reorder_primitive_desc_create)(dnnl_primitive_desc_t *reorder_primitive_desc, const dnnl_memory_desc_t *src_desc, dnnl_engine_t src_engine, const dnnl_memory_desc_t *dst_desc, dnnl_engine_t dst_engine, const_dnnl_primitive_attr_t attr);
static dnnl_status_t (*p_dnnl_stream_create)(dnnl_stream_t *stream, dnnl_engine_t engine, unsigned flags);
static dnnl_status_t (*p_dnnl_stream_destroy)(dnnl_stream_t stream);
static dnnl_status_t (*p_dnnl_stream_wait)(dnnl_stream_t stream);
static void (*p_omp_set_num_threads)(int);
static int loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int load_all(void) {
    /* Idle workers spin briefly, then sleep, unless the user chose a policy: see cdnnl.h. */
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("OMP_WAIT_POLICY", "passive", 0);
        setenv("GOMP_SPINCOUNT", "20000", 0);
    }
    /* CNNCONV_DNNL_LIBRARY names another build of the library (or a missing one, to run on the
       native kernels: the fallback's test uses that). */
    const char *library = getenv("CNNCONV_DNNL_LIBRARY");
    void *handle = dlopen(library && *library ? library : "libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return 0;
    if (!(p_dnnl_dilated_convolution_forward_desc_init = (__typeof__(p_dnnl_dilated_convolution_forward_desc_init))dlsym(handle, "dnnl_dilated_convolution_forward_desc_init"))) return 0;
    if (!(p_dnnl_engine_create = (__typeof__(p_dnnl_engine_create))dlsym(handle, "dnnl_engine_create"))) return 0;
    if (!(p_dnnl_get_effective_cpu_isa = (__typeof__(p_dnnl_get_effective_cpu_isa))dlsym(handle, "dnnl_get_effective_cpu_isa"))) return 0;
    if (!(p_dnnl_memory_create = (__typeof__(p_dnnl_memory_create))dlsym(handle, "dnnl_memory_create"))) return 0;
    if (!(p_dnnl_memory_desc_equal = (__typeof__(p_dnnl_memory_desc_equal))dlsym(handle, "dnnl_memory_desc_equal"))) return 0;
    if (!(p_dnnl_memory_desc_get_size = (__typeof__(p_dnnl_memory_desc_get_size))dlsym(handle, "dnnl_memory_desc_get_size"))) return 0;
    if (!(p_dnnl_memory_desc_init_by_tag = (__typeof__(p_dnnl_memory_desc_init_by_tag))dlsym(handle, "dnnl_memory_desc_init_by_tag"))) return 0;
    if (!(p_dnnl_memory_destroy = (__typeof__(p_dnnl_memory_destroy))dlsym(handle, "dnnl_memory_destroy"))) return 0;
    if (!(p_dnnl_memory_get_data_handle = (__typeof__(p_dnnl_memory_get_data_handle))dlsym(handle, "dnnl_memory_get_data_handle"))) return 0;
    if (!(p_dnnl_post_ops_append_eltwise = (__typeof__(p_dnnl_post_ops_append_eltwise))dlsym(handle, "dnnl_post_ops_append_eltwise"))) return 0;
    if (!(p_dnnl_post_ops_append_dw = (__typeof__(p_dnnl_post_ops_append_dw))dlsym(handle, "dnnl_post_ops_append_dw"))) return 0;
    if (!(p_dnnl_post_ops_append_sum = (__typeof__(p_dnnl_post_ops_append_sum))dlsym(handle, "dnnl_post_ops_append_sum"))) return 0;
    if (!(p_dnnl_post_ops_create = (__typeof__(p_dnnl_post_ops_create))dlsym(handle, "dnnl_post_ops_create"))) return 0;
    if (!(p_dnnl_post_ops_destroy = (__typeof__(p_dnnl_post_ops_destroy))dlsym(handle, "dnnl_post_ops_destroy"))) return 0;
    if (!(p_dnnl_primitive_attr_create = (__typeof__(p_dnnl_primitive_attr_create))dlsym(handle, "dnnl_primitive_attr_create"))) return 0;
    if (!(p_dnnl_primitive_attr_destroy = (__typeof__(p_dnnl_primitive_attr_destroy))dlsym(handle, "dnnl_primitive_attr_destroy"))) return 0;
    if (!(p_dnnl_primitive_attr_set_post_ops = (__typeof__(p_dnnl_primitive_attr_set_post_ops))dlsym(handle, "dnnl_primitive_attr_set_post_ops"))) return 0;
    if (!(p_dnnl_primitive_create = (__typeof__(p_dnnl_primitive_create))dlsym(handle, "dnnl_primitive_create"))) return 0;
    if (!(p_dnnl_primitive_desc_create = (__typeof__(p_dnnl_primitive_desc_create))dlsym(handle, "dnnl_primitive_desc_create"))) return 0;
    if (!(p_dnnl_primitive_desc_destroy = (__typeof__(p_dnnl_primitive_desc_destroy))dlsym(handle, "dnnl_primitive_desc_destroy"))) return 0;
    if (!(p_dnnl_primitive_desc_query = (__typeof__(p_dnnl_primitive_desc_query))dlsym(handle, "dnnl_primitive_desc_query"))) return 0;
    if (!(p_dnnl_primitive_desc_query_md = (__typeof__(p_dnnl_primitive_desc_query_md))dlsym(handle, "dnnl_primitive_desc_query_md"))) return 0;
    if (!(p_dnnl_primitive_destroy = (__typeof__(p_dnnl_primitive_destroy))dlsym(handle, "dnnl_primitive_destroy"))) return 0;
    if (!(p_dnnl_primitive_execute = (__typeof__(p_dnnl_primitive_execute))dlsym(handle, "dnnl_primitive_execute"))) return 0;
    if (!(p_dnnl_reorder_primitive_desc_create = (__typeof__(p_dnnl_reorder_primitive_desc_create))dlsym(handle, "dnnl_reorder_primitive_desc_create"))) return 0;
    if (!(p_dnnl_stream_create = (__typeof__(p_dnnl_stream_create))dlsym(handle, "dnnl_stream_create"))) return 0;
    if (!(p_dnnl_stream_destroy = (__typeof__(p_dnnl_stream_destroy))dlsym(handle, "dnnl_stream_destroy"))) return 0;
    if (!(p_dnnl_stream_wait = (__typeof__(p_dnnl_stream_wait))dlsym(handle, "dnnl_stream_wait"))) return 0;
    void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!gomp) return 0;
    if (!(p_omp_set_num_threads = (__typeof__(p_omp_set_num_threads))dlsym(gomp, "omp_set_num_threads"))) return 0;
    return 1;
}

static void load_once(void) { loaded = load_all(); }

int cdnnl_load(void) {
    pthread_once(&once, load_once);
    return loaded;
}

void cdnnl_set_num_threads(int num_threads) {
    if (p_omp_set_num_threads) p_omp_set_num_threads(num_threads);
}

dnnl_status_t cdnnl_dilated_convolution_forward_desc_init(dnnl_convolution_desc_t *conv_desc, dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc, const dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t *dst_desc, const dnnl_dims_t strides, const dnnl_dims_t dilates, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r) { return p_dnnl_dilated_convolution_forward_desc_init(conv_desc, prop_kind, alg_kind, src_desc, weights_desc, bias_desc, dst_desc, strides, dilates, padding_l, padding_r); }
dnnl_status_t cdnnl_engine_create(dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index) { return p_dnnl_engine_create(engine, kind, index); }
dnnl_cpu_isa_t cdnnl_get_effective_cpu_isa(void) { return p_dnnl_get_effective_cpu_isa(); }
dnnl_status_t cdnnl_memory_create(dnnl_memory_t *memory, const dnnl_memory_desc_t *memory_desc, dnnl_engine_t engine, void *handle) { return p_dnnl_memory_create(memory, memory_desc, engine, handle); }
int cdnnl_memory_desc_equal(const dnnl_memory_desc_t *lhs, const dnnl_memory_desc_t *rhs) { return p_dnnl_memory_desc_equal(lhs, rhs); }
size_t cdnnl_memory_desc_get_size(const dnnl_memory_desc_t *memory_desc) { return p_dnnl_memory_desc_get_size(memory_desc); }
dnnl_status_t cdnnl_memory_desc_init_by_tag(dnnl_memory_desc_t *memory_desc, int ndims, const dnnl_dims_t dims, dnnl_data_type_t data_type, dnnl_format_tag_t tag) { return p_dnnl_memory_desc_init_by_tag(memory_desc, ndims, dims, data_type, tag); }
dnnl_status_t cdnnl_memory_destroy(dnnl_memory_t memory) { return p_dnnl_memory_destroy(memory); }
dnnl_status_t cdnnl_memory_get_data_handle(const_dnnl_memory_t memory, void **handle) { return p_dnnl_memory_get_data_handle(memory, handle); }
dnnl_status_t cdnnl_post_ops_append_eltwise(dnnl_post_ops_t post_ops, float scale, dnnl_alg_kind_t alg_kind, float alpha, float beta) { return p_dnnl_post_ops_append_eltwise(post_ops, scale, alg_kind, alpha, beta); }
dnnl_status_t cdnnl_post_ops_append_dw(dnnl_post_ops_t post_ops, dnnl_data_type_t weights_data_type, dnnl_data_type_t bias_data_type, dnnl_data_type_t dst_data_type, dnnl_dim_t kernel_size, dnnl_dim_t stride_size, dnnl_dim_t padding_l_size, dnnl_dim_t count, int mask, const float *scales) { return p_dnnl_post_ops_append_dw(post_ops, weights_data_type, bias_data_type, dst_data_type, kernel_size, stride_size, padding_l_size, count, mask, scales); }
dnnl_status_t cdnnl_post_ops_append_sum(dnnl_post_ops_t post_ops, float scale) { return p_dnnl_post_ops_append_sum(post_ops, scale); }
dnnl_status_t cdnnl_post_ops_create(dnnl_post_ops_t *post_ops) { return p_dnnl_post_ops_create(post_ops); }
dnnl_status_t cdnnl_post_ops_destroy(dnnl_post_ops_t post_ops) { return p_dnnl_post_ops_destroy(post_ops); }
dnnl_status_t cdnnl_primitive_attr_create(dnnl_primitive_attr_t *attr) { return p_dnnl_primitive_attr_create(attr); }
dnnl_status_t cdnnl_primitive_attr_destroy(dnnl_primitive_attr_t attr) { return p_dnnl_primitive_attr_destroy(attr); }
dnnl_status_t cdnnl_primitive_attr_set_post_ops(dnnl_primitive_attr_t attr, const_dnnl_post_ops_t post_ops) { return p_dnnl_primitive_attr_set_post_ops(attr, post_ops); }
dnnl_status_t cdnnl_primitive_create(dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t primitive_desc) { return p_dnnl_primitive_create(primitive, primitive_desc); }
dnnl_status_t cdnnl_primitive_desc_create(dnnl_primitive_desc_t *primitive_desc, const_dnnl_op_desc_t op_desc, const_dnnl_primitive_attr_t attr, dnnl_engine_t engine, const_dnnl_primitive_desc_t hint_forward_primitive_desc) { return p_dnnl_primitive_desc_create(primitive_desc, op_desc, attr, engine, hint_forward_primitive_desc); }
dnnl_status_t cdnnl_primitive_desc_destroy(dnnl_primitive_desc_t primitive_desc) { return p_dnnl_primitive_desc_destroy(primitive_desc); }
dnnl_status_t cdnnl_primitive_desc_query(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index, void *result) { return p_dnnl_primitive_desc_query(primitive_desc, what, index, result); }
const dnnl_memory_desc_t * cdnnl_primitive_desc_query_md(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index) { return p_dnnl_primitive_desc_query_md(primitive_desc, what, index); }
dnnl_status_t cdnnl_primitive_destroy(dnnl_primitive_t primitive) { return p_dnnl_primitive_destroy(primitive); }
dnnl_status_t cdnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t *args) { return p_dnnl_primitive_execute(primitive, stream, nargs, args); }
dnnl_status_t cdnnl_reorder_primitive_desc_create(dnnl_primitive_desc_t *reorder_primitive_desc, const dnnl_memory_desc_t *src_desc, dnnl_engine_t src_engine, const dnnl_memory_desc_t *dst_desc, dnnl_engine_t dst_engine, const_dnnl_primitive_attr_t attr) { return p_dnnl_reorder_primitive_desc_create(reorder_primitive_desc, src_desc, src_engine, dst_desc, dst_engine, attr); }
dnnl_status_t cdnnl_stream_create(dnnl_stream_t *stream, dnnl_engine_t engine, unsigned flags) { return p_dnnl_stream_create(stream, engine, flags); }
dnnl_status_t cdnnl_stream_destroy(dnnl_stream_t stream) { return p_dnnl_stream_destroy(stream); }
dnnl_status_t cdnnl_stream_wait(dnnl_stream_t stream) { return p_dnnl_stream_wait(stream); }
