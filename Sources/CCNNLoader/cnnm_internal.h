/*
 * cnnm_internal.h — what the loader, the graph checks and the executor share; not installed.
 */
#ifndef CNNM_INTERNAL_H
#define CNNM_INTERNAL_H

#include "cnnm.h"
#include "cnnmodel.pb-c.h"

#include <stdarg.h>

/* A name and what it names (a table index, a value id), for a sorted index: lookups by name in
 * O(log n) with a worst case no hostile file can degrade (unlike a hash table's collisions). */
typedef struct cnnm_named {
    const char *name;
    size_t id;
} cnnm_named;

/* Sorts items by name, then id. */
void cnnm_names_sort(cnnm_named *items, size_t n);
/* The smallest id of `name` among sorted items, or SIZE_MAX when absent. */
size_t cnnm_names_first(const cnnm_named *items, size_t n, const char *name);

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

    cnnm_named *tensor_index;     /* the tensor table sorted by name (cnnm_tensor_find) */

    /* The graph's values, numbered as defined: graph inputs, then every node's outputs in node
     * order. Filled by cnnm_validate_graph so that the executor never searches by name. */
    size_t n_values;
    size_t *node_first_value;     /* per node: the value id of its first output */
    size_t *input_offsets;        /* per node + 1: where its inputs start in input_values */
    size_t *input_values;         /* every node input's value id, node by node */
    size_t *output_values;        /* per graph output: its value id */
    size_t *last_use;             /* per value: the last node reading it; SIZE_MAX for graph outputs */
};

/* Fills err (when not NULL) with code and "path: message", and returns code. */
cnnm_status cnnm_fail(cnnm_error *err, cnnm_status code, const char *path, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* FORMAT.md section 5, on a model whose container is already proven sound. */
cnnm_status cnnm_validate_graph(cnnm_model *model, cnnm_error *err);

/* Shape inference shared by validation (at batch 1) and the executor (real sizes). Writes
 * the output shape of `node` given its input shapes and checks attributes and parameter shapes
 * against them; on error fills err. Sizes are >= 1 and <= 2^40. */
/* rank -1: no shape (a value computed from a tensor op; validation only, never the executor). */
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
