/*
 * cnnm.h — the C loader for cnnconv model files (format 1.x), for deployment runtimes.
 *
 * One header, C99, no Swift. A model file is opened (mmap or a caller's buffer), checked in
 * full before anything is returned — preamble, CRCs, versions, header, tensor table, padding,
 * tensor CRCs and encodings, and the graph rules of FORMAT.md section 5 — and then exposed as
 * plain read-only structs: metadata, graph inputs/outputs, nodes with typed attributes, and
 * tensors as float arrays; an executor runs the graph (cnnm_run). Raw f32 tensors point
 * straight into the mapping (zero copy, 64-byte aligned); f16/bf16 and deflate/shuffle tensors
 * are decoded once, at open, into memory the model owns.
 *
 * Memory and lifetime: every pointer the accessors return belongs to the model and stays valid
 * until cnnm_close(). After a successful open the model is never modified, so any number of
 * threads may read it (and call cnnm_run on it) concurrently.
 *
 * Errors: every function that can fail returns a cnnm_status and, when `err` is not NULL,
 * fills it with the same code and a one-line message naming the file, tensor or node at fault
 * and what was expected ("model.cnnm: tensor 'conv1.weight' checksum is 0x1a2b3c4d, the file
 * says 0x00000000 — its data is damaged"). The codes mirror the Swift reader's FormatError.
 *
 * Build with: cc app.c $(pkg-config --cflags --libs cnnm)   (make install; README.md beside
 * this library), or link -lcnnm -lprotobuf-c -lz -lm.
 */
#ifndef CNNM_H
#define CNNM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------------------------ */

/* The library's version, at compile time (these macros) and at run time (cnnm_version()): a
 * program built against one version and run with another shared library can tell. The shared
 * library's soname is libcnnm.so.CNNM_VERSION_MAJOR; the major number changes only when the ABI
 * does. The file format a library reads is a separate number (CNNM_FORMAT_MAJOR below). */
#define CNNM_VERSION_MAJOR 1
#define CNNM_VERSION_MINOR 0
#define CNNM_VERSION_PATCH 0
#define CNNM_VERSION_STRING "1.0.0"
/* One comparable number: 10000 * major + 100 * minor + patch. */
#define CNNM_VERSION_NUMBER (CNNM_VERSION_MAJOR * 10000 + CNNM_VERSION_MINOR * 100 + CNNM_VERSION_PATCH)

/* The version of the library linked at run time: "1.0.0", and as CNNM_VERSION_NUMBER's 10000. */
const char *cnnm_version(void);
unsigned cnnm_version_number(void);

/* ---- limits and constants (FORMAT.md states the same numbers) ---------------------------- */

#define CNNM_FORMAT_MAJOR 1u                /* the major version this loader reads */
#define CNNM_FORMAT_MINOR 0u                /* the newest minor version it knows */
#define CNNM_ALIGNMENT 64u                  /* alignment of the data section and of every tensor */
#define CNNM_MAX_HEADER_LENGTH (256u << 20) /* a longer header is refused */
#define CNNM_MAX_TENSOR_ELEMENTS ((uint64_t)1 << 40) /* tensors hold fewer elements than this */
#define CNNM_MAX_DEFLATE_RATIO 1032u        /* deflate never expands more than 1032:1 */
/* What a file may expand to (FORMAT.md section 3, "Decoded size"): the float32 bytes of every
 * tensor that is not served zero-copy (all but raw f32), summed, are at most
 * CNNM_MAX_DECODED_RATIO x the file size, or CNNM_DECODED_BYTES_FLOOR if that is more, and never
 * more than CNNM_MAX_DECODED_BYTES. */
#define CNNM_MAX_DECODED_RATIO 128u
#define CNNM_DECODED_BYTES_FLOOR ((uint64_t)64 << 20)
#define CNNM_MAX_DECODED_BYTES ((uint64_t)16 << 30)
#define CNNM_MAX_RANK 8                     /* executor arrays and value shapes */
#define CNNM_MESSAGE_MAX 512                /* bytes of cnnm_error.message, NUL included */

/* ---- errors ------------------------------------------------------------------------------ */

/* What is wrong. The first group matches the Swift reader's FormatError case by case. */
typedef enum cnnm_status {
    CNNM_OK = 0,
    CNNM_ERR_IO,                        /* cannot open/map the file: no such file, permission */
    CNNM_ERR_NOT_REGULAR_FILE,          /* a directory, a device, a FIFO */
    CNNM_ERR_EMPTY,                     /* zero bytes */
    CNNM_ERR_TOO_SHORT,                 /* shorter than the 64-byte preamble */
    CNNM_ERR_BAD_MAGIC,                 /* not a cnnconv file, or damaged by a text-mode transfer */
    CNNM_ERR_PREAMBLE_CHECKSUM,         /* preamble CRC-32 does not match */
    CNNM_ERR_UNSUPPORTED_VERSION,       /* a major version other than 1 */
    CNNM_ERR_RESERVED_NOT_ZERO,         /* flags or a reserved preamble field is not 0 */
    CNNM_ERR_HEADER_OFFSET,             /* header_offset is not 64 */
    CNNM_ERR_HEADER_TOO_LARGE,          /* header_length over CNNM_MAX_HEADER_LENGTH */
    CNNM_ERR_DATA_OFFSET,               /* data_offset is not the aligned end of the header */
    CNNM_ERR_LENGTH_MISMATCH,           /* file truncated, or trailing bytes */
    CNNM_ERR_HEADER_CHECKSUM,           /* header CRC-32 does not match */
    CNNM_ERR_MALFORMED_HEADER,          /* the protobuf header does not decode */
    CNNM_ERR_PADDING_NOT_ZERO,          /* a padding byte is not zero */
    CNNM_ERR_DUPLICATE_TENSOR,          /* two table entries share a name */
    CNNM_ERR_UNKNOWN_DTYPE,             /* a tensor's dtype is not f32/f16/bf16 */
    CNNM_ERR_UNKNOWN_ENCODING,          /* a tensor's encoding is not raw/deflate/shuffle */
    CNNM_ERR_TENSOR_TOO_LARGE,          /* 2^40 elements or more */
    CNNM_ERR_TENSOR_LENGTH,             /* a raw tensor's stored length disagrees with its shape */
    CNNM_ERR_TENSOR_DECOMPRESSED_TOO_LARGE, /* beyond deflate's 1032:1 ratio (or empty stream) */
    CNNM_ERR_TENSOR_MISPLACED,          /* not at the packed offset: overlapping or misplaced */
    CNNM_ERR_TENSOR_OUT_OF_BOUNDS,      /* ends past the data section */
    CNNM_ERR_DATA_UNCOVERED,            /* the tensors do not cover the data section exactly */
    CNNM_ERR_TENSOR_CHECKSUM,           /* a tensor's CRC-32 does not match */
    CNNM_ERR_TENSOR_CORRUPT,            /* a compressed tensor does not inflate to its size */
    /* FORMAT.md section 5: a sound container describing an invalid graph. */
    CNNM_ERR_GRAPH_MISSING_TENSOR,      /* an op names a tensor that is not in the table */
    CNNM_ERR_GRAPH_UNDEFINED_VALUE,     /* a node input / graph output nobody defines earlier */
    CNNM_ERR_GRAPH_DUPLICATE_NAME,      /* two nodes, or two values, share a name */
    CNNM_ERR_GRAPH_SHAPE,               /* parameter shapes disagree with channels or groups */
    CNNM_ERR_GRAPH_ATTRIBUTE,           /* an attribute or parameter value out of its range */
    CNNM_ERR_GRAPH_UNREFERENCED_TENSOR, /* a table entry no node uses */
    /* API use and the executor. */
    CNNM_ERR_INVALID_ARGUMENT,          /* NULL where a pointer is needed, wrong input count */
    CNNM_ERR_OUT_OF_MEMORY,
    CNNM_ERR_UNSUPPORTED_OP,            /* the executor does not run this op (from a newer format) */
    CNNM_ERR_INPUT_SHAPE,               /* an input array does not fit the model or an op */
    /* Added after the first release (values above stay stable). */
    CNNM_ERR_DECODED_TOO_LARGE          /* the tensors decode to more than the file's budget */
} cnnm_status;

typedef struct cnnm_error {
    cnnm_status code;
    char message[CNNM_MESSAGE_MAX]; /* one line, NUL-terminated; "" when code is CNNM_OK */
} cnnm_error;

/* A stable identifier for a status: "CNNM_ERR_TENSOR_CHECKSUM". */
const char *cnnm_status_name(cnnm_status status);

/* ---- the model ---------------------------------------------------------------------------- */

typedef struct cnnm_model cnnm_model;

/* Element types and encodings carry the schema's numbers (cnnmodel.proto). */
typedef enum cnnm_dtype {
    CNNM_DTYPE_UNSPECIFIED = 0,
    CNNM_DTYPE_FLOAT32 = 1,
    CNNM_DTYPE_FLOAT16 = 2,
    CNNM_DTYPE_BFLOAT16 = 3
} cnnm_dtype;

typedef enum cnnm_encoding {
    CNNM_ENCODING_RAW = 0,
    CNNM_ENCODING_DEFLATE = 1,
    CNNM_ENCODING_SHUFFLE_DEFLATE = 2
} cnnm_encoding;

/* One parameter tensor of the table, with its values as float32. */
typedef struct cnnm_tensor {
    const char *name;
    cnnm_dtype dtype;          /* as stored */
    cnnm_encoding encoding;    /* as stored */
    size_t rank;
    const uint64_t *dims;      /* rank entries, row-major (C order) */
    uint64_t count;            /* product of dims (1 for rank 0) */
    uint64_t file_offset;      /* absolute byte offset of the stored bytes in the file */
    uint64_t stored_length;    /* bytes stored, after encoding */
    uint32_t crc32;            /* CRC-32 of the stored bytes (checked at open) */
    /* `count` float32 values. Raw f32 on a little-endian host: a pointer into the mapping,
     * 64-byte aligned (`mapped` = 1). Otherwise decoded at open into memory the model owns. */
    const float *data;
    int mapped;
} cnnm_tensor;

/* One dimension of a graph input/output shape: a fixed size, or a symbol such as "N". */
typedef struct cnnm_dim {
    int64_t size;              /* -1 when symbolic or unset */
    const char *symbol;        /* the symbol, or NULL when the size is fixed */
} cnnm_dim;

typedef struct cnnm_value_info {
    const char *name;
    cnnm_dtype dtype;
    size_t rank;
    const cnnm_dim *dims;
} cnnm_value_info;

/* Ops carry the numbers of Node's `op` oneof in cnnmodel.proto. */
typedef enum cnnm_op {
    CNNM_OP_UNKNOWN = 0,       /* no op, or one from a newer minor version */
    CNNM_OP_CONV2D = 10,
    CNNM_OP_CONV_TRANSPOSE2D = 11,
    CNNM_OP_BATCH_NORM = 12,
    CNNM_OP_DROPOUT = 13,
    CNNM_OP_LINEAR = 14,
    CNNM_OP_RELU = 15,
    CNNM_OP_CLIP = 16,
    CNNM_OP_LEAKY_RELU = 17,
    CNNM_OP_SIGMOID = 18,
    CNNM_OP_TANH = 19,
    CNNM_OP_HARD_SIGMOID = 20,
    CNNM_OP_HARD_SWISH = 21,
    CNNM_OP_SILU = 22,
    CNNM_OP_POOL2D = 23,
    CNNM_OP_GLOBAL_POOL = 24,
    CNNM_OP_FLATTEN = 25,
    CNNM_OP_ADD = 26,
    CNNM_OP_MUL = 27,
    CNNM_OP_CONCAT = 28,
    CNNM_OP_SOFTMAX = 29,
    CNNM_OP_AFFINE = 30,
    CNNM_OP_LAYER_NORM = 31,
    CNNM_OP_GROUP_NORM = 32,
    CNNM_OP_INSTANCE_NORM = 33,
    CNNM_OP_LRN = 34,
    CNNM_OP_CHANNEL_SHUFFLE = 35,
    CNNM_OP_RESIZE = 36,
    CNNM_OP_IDENTITY = 37,
    CNNM_OP_TENSOR_OP = 38     /* a general tensor op (Slice, MatMul, ...): attr.tensor_op.kind names it */
} cnnm_op;

/* The schema's name of an op: "conv2d", "batch_norm", "unknown". */
const char *cnnm_op_name(cnnm_op op);

/* Spatial geometry as stored. Kernel, stride and dilation are >= 1 in a valid file. */
typedef struct cnnm_window {
    uint32_t kernel_h, kernel_w;
    uint32_t stride_h, stride_w;
    uint32_t dilation_h, dilation_w;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
} cnnm_window;

typedef enum cnnm_reparameterization_kind {
    CNNM_REPARAM_NONE = 0,
    CNNM_REPARAM_WEIGHT_NORM = 1,          /* w = g * v / ||v||, per output channel */
    CNNM_REPARAM_WEIGHT_STANDARDIZATION = 2
} cnnm_reparameterization_kind;

typedef struct cnnm_reparameterization {
    cnnm_reparameterization_kind kind;
    const cnnm_tensor *gain;   /* weight norm's g */
    double epsilon;            /* weight standardization's epsilon */
} cnnm_reparameterization;

typedef enum cnnm_pool_kind { CNNM_POOL_MAX = 0, CNNM_POOL_AVERAGE = 1 } cnnm_pool_kind;

/* A node: its op, activation inputs/outputs by name, and the op's attributes. Tensor
 * attributes are resolved to table entries; NULL means "none" (an empty name in the file, or
 * batch_norm's scale/bias when affine is 0). */
typedef struct cnnm_node {
    const char *name;
    cnnm_op op;
    size_t n_inputs;
    const char *const *inputs;
    size_t n_outputs;
    const char *const *outputs;
    union {
        struct { const cnnm_tensor *weight, *bias; cnnm_window window; uint32_t groups;
                 cnnm_reparameterization reparameterization; } conv2d;
        struct { const cnnm_tensor *weight, *bias; cnnm_window window; uint32_t groups;
                 uint32_t output_padding_h, output_padding_w; } conv_transpose2d;
        struct { const cnnm_tensor *scale, *bias, *running_mean, *running_variance;
                 double epsilon, momentum; int affine; uint64_t num_batches_tracked; } batch_norm;
        struct { double rate; int classic; int channelwise; } dropout;
        struct { const cnnm_tensor *weight, *bias;
                 cnnm_reparameterization reparameterization; } linear;
        struct { float min, max; } clip;
        struct { float alpha; } leaky_relu;
        struct { float alpha, beta; } hard_sigmoid;
        struct { cnnm_pool_kind kind; cnnm_window window; int ceil_mode;
                 int count_include_pad; } pool2d;
        struct { cnnm_pool_kind kind; } global_pool;
        struct { int32_t axis; } flatten;
        struct { int32_t axis; } concat;
        struct { int32_t axis; } softmax;
        struct { const cnnm_tensor *scale, *shift; } affine;
        struct { const cnnm_tensor *scale, *bias; double epsilon; int32_t axis; } layer_norm;
        struct { uint32_t num_groups; const cnnm_tensor *scale, *bias; double epsilon; } group_norm;
        struct { const cnnm_tensor *scale, *bias; double epsilon; } instance_norm;
        struct { uint32_t size; float alpha, beta, bias; } lrn;
        struct { uint32_t groups; } channel_shuffle;
        struct { int bilinear; double scale_h, scale_w; int coordinate_transform;
                 int nearest_rounding; } resize;
        /* The kind ("Transpose"); attributes and operands are in the header (cnnm_header). */
        struct { const char *kind; } tensor_op;
    } attr;
} cnnm_node;

/* The tensor-op kinds this loader accepts (FORMAT.md, "Tensor ops"), so that a C program can
 * say which kinds a file may use before it meets one; index >= count gives NULL. A file naming
 * any other kind is refused at open. The loader checks a tensor op's structure (kind, unique
 * set attributes, bounded lists, constant operands in the table, one empty operand per node
 * input) but not its shapes: values computed from a tensor op have no shape on the C side. */
size_t cnnm_tensor_op_kind_count(void);
const char *cnnm_tensor_op_kind(size_t index);

/* Opens `path` read-only with mmap, checks it fully, and on success stores a new model in
 * *model (free with cnnm_close). On failure *model is NULL and err says why. */
cnnm_status cnnm_open_file(const char *path, cnnm_model **model, cnnm_error *err);

/* The same for a file image in memory. When `bytes` is 64-byte aligned it is borrowed (zero
 * copy; it must outlive the model and stay unchanged); otherwise it is copied into an aligned
 * buffer the model owns, so raw tensors are still 64-byte aligned. */
cnnm_status cnnm_open_memory(const void *bytes, size_t length, cnnm_model **model, cnnm_error *err);

/* Unmaps/frees everything. NULL is allowed. */
void cnnm_close(cnnm_model *model);

/* The preamble's version, the model's name and producer ("" when absent). */
void cnnm_format_version(const cnnm_model *model, unsigned *major, unsigned *minor);
const char *cnnm_model_name(const cnnm_model *model);
const char *cnnm_model_producer(const cnnm_model *model);

/* The metadata map, in file order; cnnm_metadata_get returns NULL for a missing key. */
size_t cnnm_metadata_count(const cnnm_model *model);
const char *cnnm_metadata_key(const cnnm_model *model, size_t index);
const char *cnnm_metadata_value(const cnnm_model *model, size_t index);
const char *cnnm_metadata_get(const cnnm_model *model, const char *key);

/* Names of the rewrites applied to the model, in order ("fold-batchnorm"). */
size_t cnnm_applied_pass_count(const cnnm_model *model);
const char *cnnm_applied_pass(const cnnm_model *model, size_t index);

/* Graph inputs and outputs. Out-of-range indices return NULL. */
size_t cnnm_input_count(const cnnm_model *model);
const cnnm_value_info *cnnm_input(const cnnm_model *model, size_t index);
size_t cnnm_output_count(const cnnm_model *model);
const cnnm_value_info *cnnm_output(const cnnm_model *model, size_t index);

/* Nodes, in topological order. */
size_t cnnm_node_count(const cnnm_model *model);
const cnnm_node *cnnm_node_at(const cnnm_model *model, size_t index);

/* The tensor table, in file order, and lookup by name (NULL when absent). */
size_t cnnm_tensor_count(const cnnm_model *model);
const cnnm_tensor *cnnm_tensor_at(const cnnm_model *model, size_t index);
const cnnm_tensor *cnnm_tensor_find(const cnnm_model *model, const char *name);

/* The decoded protobuf-c header (a `const Cnnconv__V1__Model *` from cnnmodel.pb-c.h), for
 * fields this API does not surface. Owned by the model. */
struct Cnnconv__V1__Model;
const struct Cnnconv__V1__Model *cnnm_header(const cnnm_model *model);

/* ---- the executor (every op of format 1.0, inference mode, float32, NCHW) ------------------ */

/* A dense float32 array in C order. */
typedef struct cnnm_array {
    float *data;
    size_t rank;
    uint64_t dims[CNNM_MAX_RANK];
} cnnm_array;

/* Checks that the executor runs every node: any op of format 1.0 (BatchNorm on running
 * statistics, dropout by its inference rule, weight reparameterizations applied per run). An op
 * from a newer format version, or a tensor op (which the C executor does not run), is
 * CNNM_ERR_UNSUPPORTED_OP naming the node and op. */
cnnm_status cnnm_check_runnable(const cnnm_model *model, cnnm_error *err);

/* Runs the model on `inputs` (one per graph input, in cnnm_input order; the batch size is
 * free, other fixed dims must match) and fills `outputs` (one per graph output) with arrays
 * the caller frees with cnnm_array_free. On failure no output is left allocated. */
cnnm_status cnnm_run(const cnnm_model *model, const cnnm_array *inputs, size_t n_inputs,
                     cnnm_array *outputs, size_t n_outputs, cnnm_error *err);

/* Frees an array cnnm_run filled, and sets its data to NULL. */
void cnnm_array_free(cnnm_array *array);

/* Number of elements of an array (product of dims; 1 for rank 0). */
uint64_t cnnm_array_count(const cnnm_array *array);

#ifdef __cplusplus
}
#endif
#endif /* CNNM_H */
