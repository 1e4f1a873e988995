/*
 * cnnm_internal.h — what the loader, the graph checks and the executor share; not installed.
 */
#ifndef CNNM_INTERNAL_H
#define CNNM_INTERNAL_H

#include "cnnm.h"
#include "cnnmodel.pb-c.h"

#include <stdarg.h>

struct cnnm_model {
    const char *path;             /* for messages: the file's path or "<memory>" (owned) */
    const unsigned char *bytes;   /* the whole file image */
    uint64_t size;
    void *mapping;                /* mmap'd region to munmap, or NULL */
    void *allocation;             /* malloc'd block holding a copied image, or NULL */

    unsigned major, minor;
    uint64_t header_length, data_offset, data_length;

    Cnnconv__V1__Model *header;   /* protobuf-c, freed with the counting allocator */
    ProtobufCAllocator allocator;
    void *allocator_state;

    cnnm_tensor *tensors;         /* header->n_tensors */
    float **decoded;              /* per tensor: owned decoded values, or NULL when mapped */
    cnnm_value_info *inputs, *outputs;
    cnnm_dim *dims;               /* storage for every value info's dims */
    cnnm_node *nodes;
};

/* Fills err (when not NULL) with code and "path: message", and returns code. */
cnnm_status cnnm_fail(cnnm_error *err, cnnm_status code, const char *path, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* FORMAT.md section 5, on a model whose container is already proven sound. */
cnnm_status cnnm_validate_graph(const cnnm_model *model, cnnm_error *err);

/* Shape inference shared by validation (at batch 1) and the executor (real sizes). Writes
 * the output shape of `node` given its input shapes and checks attributes and parameter shapes
 * against them; on error fills err. Sizes are >= 1 and <= 2^40. */
typedef struct cnnm_shape {
    int rank;
    int64_t d[CNNM_MAX_RANK];
} cnnm_shape;

cnnm_status cnnm_infer_shape(const cnnm_model *model, const cnnm_node *node,
                             const cnnm_shape *const *in, cnnm_shape *out, cnnm_error *err);

uint32_t cnnm_or_one(uint32_t v);

/* Output length of a sliding window; <= 0 means empty. */
int64_t cnnm_window_output(int64_t input, int64_t kernel, int64_t stride, int64_t dilation,
                           int64_t pad_begin, int64_t pad_end, int ceil_mode);

#endif
