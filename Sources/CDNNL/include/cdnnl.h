// oneDNN's C API (Debian's libdnnl-dev 2.x) for the executor's Float32 convolutions, loaded at
// run time (cdnnl.c): the types and enums come from <dnnl.h>; each function used is called
// through `cdnnl_<name>`, with the signature of `dnnl_<name>` (the list below is that header's
// declarations with the prefix changed). Without libdnnl.so.2 on the machine `cdnnl_load()`
// returns 0 and the executor keeps its own kernels.
#ifndef CDNNL_H
#define CDNNL_H
#include <dnnl.h>

/// Loads libdnnl.so.2 (or the file CNNCONV_DNNL_LIBRARY names) and resolves every function below,
/// once (thread-safe). 1 when usable; 0 when it is missing or lacks a function, and then the
/// executor runs every convolution on its native kernels.
/// Before loading, unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, sets OMP_WAIT_POLICY=passive
/// and GOMP_SPINCOUNT=20000: Debian's libdnnl runs on libgomp, whose idle workers by default spin
/// ~300000 times between convolutions, which on a loaded 2-core machine made 2 threads 3x slower
/// than 1; sleeping at once (passive alone) costs up to 1.5x at 2 threads on a quiet machine,
/// where a worker wakes for every convolution. A short spin measured within 1.1x of onnxruntime
/// quiet and on par with it loaded (Benchmarks/README.md). libgomp reads the variables once,
/// when it is loaded: this only works if nothing loaded it earlier.
int cdnnl_load(void);
/// OpenMP's omp_set_num_threads (the calling thread's count for oneDNN's parallel regions).
void cdnnl_set_num_threads(int num_threads);
/// DNNL_MEMORY_ALLOCATE is a pointer cast, which Swift does not import.
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

dnnl_status_t cdnnl_dilated_convolution_forward_desc_init(dnnl_convolution_desc_t *conv_desc, dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc, const dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t *dst_desc, const dnnl_dims_t strides, const dnnl_dims_t dilates, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r);
dnnl_status_t cdnnl_engine_create(dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index);
dnnl_cpu_isa_t cdnnl_get_effective_cpu_isa(void);
dnnl_status_t cdnnl_memory_create(dnnl_memory_t *memory, const dnnl_memory_desc_t *memory_desc, dnnl_engine_t engine, void *handle);
int cdnnl_memory_desc_equal(const dnnl_memory_desc_t *lhs, const dnnl_memory_desc_t *rhs);
size_t cdnnl_memory_desc_get_size(const dnnl_memory_desc_t *memory_desc);
dnnl_status_t cdnnl_memory_desc_init_by_tag(dnnl_memory_desc_t *memory_desc, int ndims, const dnnl_dims_t dims, dnnl_data_type_t data_type, dnnl_format_tag_t tag);
dnnl_status_t cdnnl_memory_destroy(dnnl_memory_t memory);
dnnl_status_t cdnnl_memory_get_data_handle(const_dnnl_memory_t memory, void **handle);
dnnl_status_t cdnnl_post_ops_append_eltwise(dnnl_post_ops_t post_ops, float scale, dnnl_alg_kind_t alg_kind, float alpha, float beta);
dnnl_status_t cdnnl_post_ops_append_dw(dnnl_post_ops_t post_ops, dnnl_data_type_t weights_data_type, dnnl_data_type_t bias_data_type, dnnl_data_type_t dst_data_type, dnnl_dim_t kernel_size, dnnl_dim_t stride_size, dnnl_dim_t padding_l_size, dnnl_dim_t count, int mask, const float *scales);
dnnl_status_t cdnnl_post_ops_append_sum(dnnl_post_ops_t post_ops, float scale);
dnnl_status_t cdnnl_post_ops_create(dnnl_post_ops_t *post_ops);
dnnl_status_t cdnnl_post_ops_destroy(dnnl_post_ops_t post_ops);
dnnl_status_t cdnnl_primitive_attr_create(dnnl_primitive_attr_t *attr);
dnnl_status_t cdnnl_primitive_attr_destroy(dnnl_primitive_attr_t attr);
dnnl_status_t cdnnl_primitive_attr_set_post_ops(dnnl_primitive_attr_t attr, const_dnnl_post_ops_t post_ops);
dnnl_status_t cdnnl_primitive_create(dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t primitive_desc);
dnnl_status_t cdnnl_primitive_desc_create(dnnl_primitive_desc_t *primitive_desc, const_dnnl_op_desc_t op_desc, const_dnnl_primitive_attr_t attr, dnnl_engine_t engine, const_dnnl_primitive_desc_t hint_forward_primitive_desc);
dnnl_status_t cdnnl_primitive_desc_destroy(dnnl_primitive_desc_t primitive_desc);
dnnl_status_t cdnnl_primitive_desc_query(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index, void *result);
const dnnl_memory_desc_t * cdnnl_primitive_desc_query_md(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index);
dnnl_status_t cdnnl_primitive_destroy(dnnl_primitive_t primitive);
dnnl_status_t cdnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t *args);
dnnl_status_t cdnnl_reorder_primitive_desc_create(dnnl_primitive_desc_t *reorder_primitive_desc, const dnnl_memory_desc_t *src_desc, dnnl_engine_t src_engine, const dnnl_memory_desc_t *dst_desc, dnnl_engine_t dst_engine, const_dnnl_primitive_attr_t attr);
dnnl_status_t cdnnl_stream_create(dnnl_stream_t *stream, dnnl_engine_t engine, unsigned flags);
dnnl_status_t cdnnl_stream_destroy(dnnl_stream_t stream);
dnnl_status_t cdnnl_stream_wait(dnnl_stream_t stream);
#endif
