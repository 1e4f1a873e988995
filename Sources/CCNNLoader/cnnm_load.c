/*
 * cnnm_load.c — opening a cnnconv file: preamble, header, tensor table, tensor decoding, and
 * the read-only accessors. FORMAT.md section 6 is the order of the checks; the Swift reader
 * (Sources/CNNFormat/ModelFile.swift, Preamble.swift) makes the same checks in the same order,
 * so one damaged file gets the same error from both.
 *
 * Hostile input rule: every offset and length from the file is proven in bounds with
 * overflow-free arithmetic before a byte at it is touched.
 */
#define _POSIX_C_SOURCE 200809L

#include "cnnm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const unsigned char cnnm_magic[8] = {0x89, 0x43, 0x4E, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A};

/* protobuf-c may allocate at most this many bytes per header byte (plus a floor), and never
 * more than CNNM_MAX_HEADER_ALLOCATION in total: an empty submessage costs 2 wire bytes but
 * ~100 bytes of struct, so a 256 MiB hostile header could otherwise ask for gigabytes. */
#define CNNM_HEADER_ALLOCATION_RATIO 64u
#define CNNM_HEADER_ALLOCATION_FLOOR (1u << 20)
#define CNNM_MAX_HEADER_ALLOCATION ((uint64_t)1 << 30)

/* ---- errors ------------------------------------------------------------------------------ */

/* The length of the UTF-8 sequence at p (1-4) and its code point, or 0 when it is not well formed. */
static size_t utf8_sequence(const unsigned char *p, uint32_t *cp) {
    unsigned c = p[0];
    size_t extra;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { extra = 1; *cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { extra = 2; *cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { extra = 3; *cp = c & 0x07; }
    else return 0;
    for (size_t i = 1; i <= extra; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
        *cp = (*cp << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && (*cp < 0x800 || (*cp >= 0xD800 && *cp <= 0xDFFF))) || (extra == 3 && (*cp < 0x10000 || *cp > 0x10FFFF)))
        return 0;
    return extra + 1;
}

/* What Sources/CNNFormat/DisplaySafe.swift escapes: C0, DEL, C1, bidi marks/embeddings/overrides/
 * isolates, line and paragraph separators. */
static int needs_escape(uint32_t cp) {
    return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Copies text into out (size bytes, NUL-terminated) with terminal-active characters escaped as
 * displaySafe does (\x1b, \u{202e}), and bytes that are not UTF-8 as \xHH; stops before a
 * character or escape that would not fit whole. */
static void display_safe(char *out, size_t size, const char *text) {
    const unsigned char *p = (const unsigned char *)text;
    size_t used = 0;
    while (*p) {
        uint32_t cp = 0;
        size_t n = utf8_sequence(p, &cp);
        char piece[16];
        size_t len;
        if (n == 0) {
            len = (size_t)snprintf(piece, sizeof piece, "\\x%02x", p[0]);
            n = 1;
        } else if (needs_escape(cp)) {
            len = (size_t)(cp < 0x80 ? snprintf(piece, sizeof piece, "\\x%02x", (unsigned)cp)
                                     : snprintf(piece, sizeof piece, "\\u{%04x}", (unsigned)cp));
        } else {
            memcpy(piece, p, n);
            len = n;
        }
        if (used + len + 1 > size) break;
        memcpy(out + used, piece, len);
        used += len;
        p += n;
    }
    out[used] = '\0';
}

cnnm_status cnnm_fail(cnnm_error *err, cnnm_status code, const char *path, const char *format, ...) {
    if (err) {
        /* Formatted in full first, then escaped: names and paths come from the file or the user. */
        char text[2 * CNNM_MESSAGE_MAX];
        size_t used = 0;
        err->code = code;
        text[0] = '\0';
        if (path) {
            int n = snprintf(text, sizeof text, "%s: ", path);
            used = n < 0 ? 0 : ((size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
        }
        va_list args;
        va_start(args, format);
        vsnprintf(text + used, sizeof text - used, format, args);
        va_end(args);
        display_safe(err->message, sizeof err->message, text);
    }
    return code;
}

static void cnnm_ok(cnnm_error *err) {
    if (err) {
        err->code = CNNM_OK;
        err->message[0] = '\0';
    }
}

const char *cnnm_status_name(cnnm_status status) {
    switch (status) {
    case CNNM_OK: return "CNNM_OK";
    case CNNM_ERR_IO: return "CNNM_ERR_IO";
    case CNNM_ERR_NOT_REGULAR_FILE: return "CNNM_ERR_NOT_REGULAR_FILE";
    case CNNM_ERR_EMPTY: return "CNNM_ERR_EMPTY";
    case CNNM_ERR_TOO_SHORT: return "CNNM_ERR_TOO_SHORT";
    case CNNM_ERR_BAD_MAGIC: return "CNNM_ERR_BAD_MAGIC";
    case CNNM_ERR_PREAMBLE_CHECKSUM: return "CNNM_ERR_PREAMBLE_CHECKSUM";
    case CNNM_ERR_UNSUPPORTED_VERSION: return "CNNM_ERR_UNSUPPORTED_VERSION";
    case CNNM_ERR_RESERVED_NOT_ZERO: return "CNNM_ERR_RESERVED_NOT_ZERO";
    case CNNM_ERR_HEADER_OFFSET: return "CNNM_ERR_HEADER_OFFSET";
    case CNNM_ERR_HEADER_TOO_LARGE: return "CNNM_ERR_HEADER_TOO_LARGE";
    case CNNM_ERR_DATA_OFFSET: return "CNNM_ERR_DATA_OFFSET";
    case CNNM_ERR_LENGTH_MISMATCH: return "CNNM_ERR_LENGTH_MISMATCH";
    case CNNM_ERR_HEADER_CHECKSUM: return "CNNM_ERR_HEADER_CHECKSUM";
    case CNNM_ERR_MALFORMED_HEADER: return "CNNM_ERR_MALFORMED_HEADER";
    case CNNM_ERR_PADDING_NOT_ZERO: return "CNNM_ERR_PADDING_NOT_ZERO";
    case CNNM_ERR_DUPLICATE_TENSOR: return "CNNM_ERR_DUPLICATE_TENSOR";
    case CNNM_ERR_UNKNOWN_DTYPE: return "CNNM_ERR_UNKNOWN_DTYPE";
    case CNNM_ERR_UNKNOWN_ENCODING: return "CNNM_ERR_UNKNOWN_ENCODING";
    case CNNM_ERR_TENSOR_TOO_LARGE: return "CNNM_ERR_TENSOR_TOO_LARGE";
    case CNNM_ERR_TENSOR_LENGTH: return "CNNM_ERR_TENSOR_LENGTH";
    case CNNM_ERR_TENSOR_DECOMPRESSED_TOO_LARGE: return "CNNM_ERR_TENSOR_DECOMPRESSED_TOO_LARGE";
    case CNNM_ERR_TENSOR_MISPLACED: return "CNNM_ERR_TENSOR_MISPLACED";
    case CNNM_ERR_TENSOR_OUT_OF_BOUNDS: return "CNNM_ERR_TENSOR_OUT_OF_BOUNDS";
    case CNNM_ERR_DATA_UNCOVERED: return "CNNM_ERR_DATA_UNCOVERED";
    case CNNM_ERR_TENSOR_CHECKSUM: return "CNNM_ERR_TENSOR_CHECKSUM";
    case CNNM_ERR_TENSOR_CORRUPT: return "CNNM_ERR_TENSOR_CORRUPT";
    case CNNM_ERR_GRAPH_MISSING_TENSOR: return "CNNM_ERR_GRAPH_MISSING_TENSOR";
    case CNNM_ERR_GRAPH_UNDEFINED_VALUE: return "CNNM_ERR_GRAPH_UNDEFINED_VALUE";
    case CNNM_ERR_GRAPH_DUPLICATE_NAME: return "CNNM_ERR_GRAPH_DUPLICATE_NAME";
    case CNNM_ERR_GRAPH_SHAPE: return "CNNM_ERR_GRAPH_SHAPE";
    case CNNM_ERR_GRAPH_ATTRIBUTE: return "CNNM_ERR_GRAPH_ATTRIBUTE";
    case CNNM_ERR_GRAPH_UNREFERENCED_TENSOR: return "CNNM_ERR_GRAPH_UNREFERENCED_TENSOR";
    case CNNM_ERR_INVALID_ARGUMENT: return "CNNM_ERR_INVALID_ARGUMENT";
    case CNNM_ERR_OUT_OF_MEMORY: return "CNNM_ERR_OUT_OF_MEMORY";
    case CNNM_ERR_UNSUPPORTED_OP: return "CNNM_ERR_UNSUPPORTED_OP";
    case CNNM_ERR_INPUT_SHAPE: return "CNNM_ERR_INPUT_SHAPE";
    case CNNM_ERR_DECODED_TOO_LARGE: return "CNNM_ERR_DECODED_TOO_LARGE";
    }
    return "CNNM_ERR_UNKNOWN";
}

/* ---- small helpers ------------------------------------------------------------------------ */

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32); }

/* zlib's crc32 takes uInt lengths: feed it in chunks. */
static uint32_t crc32_of(const unsigned char *p, uint64_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

static uint64_t align_up(uint64_t v) { return (v + (CNNM_ALIGNMENT - 1)) & ~(uint64_t)(CNNM_ALIGNMENT - 1); }

static int host_is_little_endian(void) {
    const uint16_t probe = 1;
    unsigned char b;
    memcpy(&b, &probe, 1);
    return b == 1;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *out = malloc(n);
    if (out) memcpy(out, s, n);
    return out;
}

/* True for well-formed UTF-8 (what SwiftProtobuf demands of proto3 strings). */
static int valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    while (*p) {
        size_t n = utf8_sequence(p, &cp);
        if (n == 0) return 0;
        p += n;
    }
    return 1;
}

/* ---- a sorted name index ------------------------------------------------------------------ */

static int compare_named(const void *a, const void *b) {
    const cnnm_named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->id < y->id ? -1 : x->id > y->id;
}

void cnnm_names_sort(cnnm_named *items, size_t n) {
    if (n > 1) qsort(items, n, sizeof *items, compare_named);
}

size_t cnnm_names_first(const cnnm_named *items, size_t n, const char *name) {
    size_t lo = 0, hi = n; /* the first item not below name */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(items[mid].name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && strcmp(items[lo].name, name) == 0 ? items[lo].id : SIZE_MAX;
}

/* ---- a counting allocator for protobuf-c --------------------------------------------------- */

typedef struct budget {
    uint64_t limit;
    uint64_t remaining;
    int exceeded;
} budget;

typedef union alloc_prefix {
    size_t size;
    long double align_ld; /* with the members below: keeps the payload aligned for any type */
    long long align_ll;
    void *align_p;
} alloc_prefix;

static void *budget_alloc(void *data, size_t size) {
    budget *b = data;
    if (size > SIZE_MAX - sizeof(alloc_prefix) || (uint64_t)size > b->remaining) {
        b->exceeded = 1;
        return NULL;
    }
    alloc_prefix *p = malloc(sizeof(alloc_prefix) + size);
    if (!p) return NULL;
    p->size = size;
    b->remaining -= size;
    return p + 1;
}

static void budget_free(void *data, void *pointer) {
    if (!pointer) return;
    budget *b = data;
    alloc_prefix *p = (alloc_prefix *)pointer - 1;
    b->remaining += p->size;
    free(p);
}

/* ---- closing ------------------------------------------------------------------------------ */

void cnnm_close(cnnm_model *m) {
    if (!m) return;
    if (m->decoded && m->header) {
        for (size_t i = 0; i < m->header->n_tensors; i++) free(m->decoded[i]);
    }
    free(m->decoded);
    free(m->tensors);
    free(m->inputs);
    free(m->outputs);
    free(m->dims);
    free(m->nodes);
    free(m->tensor_index);
    free(m->node_first_value);
    free(m->input_offsets);
    free(m->input_values);
    free(m->output_values);
    free(m->last_use);
    if (m->header) protobuf_c_message_free_unpacked(&m->header->base, &m->allocator);
    free(m->allocator_state);
    if (m->mapping) munmap(m->mapping, (size_t)m->size);
    free(m->allocation);
    free((char *)m->path);
    free(m);
}

/* ---- 1-2: the preamble --------------------------------------------------------------------- */

static void hex8(const unsigned char *p, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        if (i) out[k++] = ' ';
        out[k++] = digits[p[i] >> 4];
        out[k++] = digits[p[i] & 15];
    }
    out[k] = '\0';
}

static cnnm_status bad_magic(cnnm_error *err, const char *path, const unsigned char *p, size_t n) {
    char hex[32];
    hex8(p, n, hex);
    if (n >= 4 && p[1] == 0x43 && p[2] == 0x4E && p[3] == 0x4E)
        return cnnm_fail(err, CNNM_ERR_BAD_MAGIC, path,
                         "the magic bytes are damaged (%s) — the file went through a text-mode transfer (CR/LF conversion)", hex);
    return cnnm_fail(err, CNNM_ERR_BAD_MAGIC, path,
                     "not a cnnconv file: it starts with %s, not 89 43 4e 4e 0d 0a 1a 0a", hex);
}

static cnnm_status check_preamble(cnnm_model *m, cnnm_error *err) {
    const unsigned char *b = m->bytes;
    const char *path = m->path;
    uint64_t size = m->size;
    if (size == 0) return cnnm_fail(err, CNNM_ERR_EMPTY, path, "the file is empty");
    if (size < 64) {
        size_t n = size < 8 ? (size_t)size : 8;
        if (size >= 4 && memcmp(b, cnnm_magic, n) != 0) return bad_magic(err, path, b, n);
        return cnnm_fail(err, CNNM_ERR_TOO_SHORT, path,
                         "the file is %llu bytes, shorter than the 64-byte preamble — not a cnnconv file, or truncated",
                         (unsigned long long)size);
    }
    if (memcmp(b, cnnm_magic, 8) != 0) return bad_magic(err, path, b, 8);
    uint32_t stored_crc = le32(b + 56), computed_crc = crc32_of(b, 56);
    if (stored_crc != computed_crc)
        return cnnm_fail(err, CNNM_ERR_PREAMBLE_CHECKSUM, path,
                         "the preamble checksum is 0x%08x, the file says 0x%08x — the first 64 bytes are damaged",
                         computed_crc, stored_crc);
    m->major = le16(b + 8);
    m->minor = le16(b + 10);
    if (m->major != CNNM_FORMAT_MAJOR) {
        if (m->major > CNNM_FORMAT_MAJOR)
            return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_VERSION, path,
                             "the file is format %u.x, written by a newer cnnconv; this reader supports format %u.x — upgrade the loader",
                             m->major, CNNM_FORMAT_MAJOR);
        return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_VERSION, path,
                         "the file is format %u.x; this reader supports format %u.x only", m->major, CNNM_FORMAT_MAJOR);
    }
    uint32_t flags = le32(b + 12);
    if (flags != 0)
        return cnnm_fail(err, CNNM_ERR_RESERVED_NOT_ZERO, path,
                         "the preamble's flags is %u, must be 0 in format 1.x — the file is damaged or from an incompatible writer", flags);
    uint64_t header_offset = le64(b + 16);
    m->header_length = le64(b + 24);
    m->data_offset = le64(b + 32);
    m->data_length = le64(b + 40);
    uint32_t reserved1 = le32(b + 52), reserved2 = le32(b + 60);
    if (reserved1 != 0)
        return cnnm_fail(err, CNNM_ERR_RESERVED_NOT_ZERO, path,
                         "the preamble's reserved field at byte 52 is %u, must be 0 in format 1.x — the file is damaged or from an incompatible writer", reserved1);
    if (reserved2 != 0)
        return cnnm_fail(err, CNNM_ERR_RESERVED_NOT_ZERO, path,
                         "the preamble's reserved field at byte 60 is %u, must be 0 in format 1.x — the file is damaged or from an incompatible writer", reserved2);
    if (header_offset != 64)
        return cnnm_fail(err, CNNM_ERR_HEADER_OFFSET, path, "the header offset is %llu, must be 64",
                         (unsigned long long)header_offset);
    if (m->header_length > CNNM_MAX_HEADER_LENGTH)
        return cnnm_fail(err, CNNM_ERR_HEADER_TOO_LARGE, path,
                         "the header claims %llu bytes, more than the %u bytes limit — the file is damaged",
                         (unsigned long long)m->header_length, CNNM_MAX_HEADER_LENGTH);
    uint64_t expected = align_up(64 + m->header_length); /* header_length <= 256 MiB: no overflow */
    if (m->data_offset != expected)
        return cnnm_fail(err, CNNM_ERR_DATA_OFFSET, path,
                         "the data section starts at byte %llu, expected %llu — the preamble is inconsistent",
                         (unsigned long long)m->data_offset, (unsigned long long)expected);
    int overflow = m->data_length > UINT64_MAX - m->data_offset;
    uint64_t end = overflow ? UINT64_MAX : m->data_offset + m->data_length;
    if (overflow || end != size)
        return cnnm_fail(err, CNNM_ERR_LENGTH_MISMATCH, path,
                         end > size ? "the file is %llu bytes but its preamble declares %llu bytes — the file is truncated"
                                    : "the file is %llu bytes but its preamble declares %llu bytes — trailing bytes after the data section",
                         (unsigned long long)size, (unsigned long long)end);
    return CNNM_OK;
}

/* ---- 3: the header -------------------------------------------------------------------------- */

static cnnm_status check_zero(const cnnm_model *m, uint64_t from, uint64_t to, cnnm_error *err) {
    /* Callers pass from <= to <= size. */
    for (uint64_t i = from; i < to; i++)
        if (m->bytes[i] != 0)
            return cnnm_fail(err, CNNM_ERR_PADDING_NOT_ZERO, m->path, "padding byte %llu is not zero — the file is damaged",
                             (unsigned long long)i);
    return CNNM_OK;
}

#define CHECK_UTF8(s, what)                                                                   \
    do {                                                                                      \
        if (!valid_utf8(s))                                                                   \
            return cnnm_fail(err, CNNM_ERR_MALFORMED_HEADER, m->path,                         \
                             "the header does not decode: %s is not valid UTF-8", what);      \
    } while (0)

static cnnm_status check_strings(const cnnm_model *m, cnnm_error *err) {
    const Cnnconv__V1__Model *h = m->header;
    CHECK_UTF8(h->name, "the model name");
    CHECK_UTF8(h->producer, "the producer");
    for (size_t i = 0; i < h->n_metadata; i++) {
        CHECK_UTF8(h->metadata[i]->key, "a metadata key");
        CHECK_UTF8(h->metadata[i]->value, "a metadata value");
    }
    for (size_t i = 0; i < h->n_applied_passes; i++) CHECK_UTF8(h->applied_passes[i], "an applied pass name");
    for (int io = 0; io < 2; io++) {
        size_t n = io ? h->n_outputs : h->n_inputs;
        Cnnconv__V1__ValueInfo **v = io ? h->outputs : h->inputs;
        for (size_t i = 0; i < n; i++) {
            CHECK_UTF8(v[i]->name, "a graph input/output name");
            for (size_t d = 0; d < v[i]->n_shape; d++)
                if (v[i]->shape[d]->value_case == CNNCONV__V1__DIMENSION__VALUE_SYMBOL)
                    CHECK_UTF8(v[i]->shape[d]->symbol, "a dimension symbol");
        }
    }
    for (size_t i = 0; i < h->n_tensors; i++) CHECK_UTF8(h->tensors[i]->name, "a tensor name");
    for (size_t i = 0; i < h->n_nodes; i++) {
        const Cnnconv__V1__Node *n = h->nodes[i];
        CHECK_UTF8(n->name, "a node name");
        for (size_t k = 0; k < n->n_inputs; k++) CHECK_UTF8(n->inputs[k], "a node input name");
        for (size_t k = 0; k < n->n_outputs; k++) CHECK_UTF8(n->outputs[k], "a node output name");
        const char *refs[4] = {0};
        switch (n->op_case) {
        case CNNCONV__V1__NODE__OP_CONV2D: refs[0] = n->conv2d->weight; refs[1] = n->conv2d->bias;
            if (n->conv2d->reparameterization && n->conv2d->reparameterization->kind_case == CNNCONV__V1__WEIGHT_REPARAMETERIZATION__KIND_WEIGHT_NORM)
                refs[2] = n->conv2d->reparameterization->weight_norm->gain;
            break;
        case CNNCONV__V1__NODE__OP_CONV_TRANSPOSE2D: refs[0] = n->conv_transpose2d->weight; refs[1] = n->conv_transpose2d->bias; break;
        case CNNCONV__V1__NODE__OP_BATCH_NORM: refs[0] = n->batch_norm->scale; refs[1] = n->batch_norm->bias;
            refs[2] = n->batch_norm->running_mean; refs[3] = n->batch_norm->running_variance; break;
        case CNNCONV__V1__NODE__OP_LINEAR: refs[0] = n->linear->weight; refs[1] = n->linear->bias;
            if (n->linear->reparameterization && n->linear->reparameterization->kind_case == CNNCONV__V1__WEIGHT_REPARAMETERIZATION__KIND_WEIGHT_NORM)
                refs[2] = n->linear->reparameterization->weight_norm->gain;
            break;
        case CNNCONV__V1__NODE__OP_AFFINE: refs[0] = n->affine->scale; refs[1] = n->affine->shift; break;
        case CNNCONV__V1__NODE__OP_LAYER_NORM: refs[0] = n->layer_norm->scale; refs[1] = n->layer_norm->bias; break;
        case CNNCONV__V1__NODE__OP_GROUP_NORM: refs[0] = n->group_norm->scale; refs[1] = n->group_norm->bias; break;
        case CNNCONV__V1__NODE__OP_INSTANCE_NORM: refs[0] = n->instance_norm->scale; refs[1] = n->instance_norm->bias; break;
        case CNNCONV__V1__NODE__OP_TENSOR_OP: {
            const Cnnconv__V1__TensorOp *t = n->tensor_op;
            CHECK_UTF8(t->kind, "a tensor-op kind");
            for (size_t a = 0; a < t->n_attributes; a++) {
                CHECK_UTF8(t->attributes[a]->name, "a tensor-op attribute name");
                if (t->attributes[a]->value_case == CNNCONV__V1__TENSOR_OP_ATTRIBUTE__VALUE_STRING)
                    CHECK_UTF8(t->attributes[a]->string, "a tensor-op attribute value");
            }
            for (size_t o = 0; o < t->n_operands; o++) CHECK_UTF8(t->operands[o]->constant, "a tensor reference");
            break;
        }
        default: break;
        }
        for (int k = 0; k < 4; k++)
            if (refs[k]) CHECK_UTF8(refs[k], "a tensor reference");
    }
    return CNNM_OK;
}

static cnnm_status decode_header(cnnm_model *m, cnnm_error *err) {
    const unsigned char *header = m->bytes + 64;
    uint32_t computed = crc32_of(header, m->header_length);
    uint32_t stored = le32(m->bytes + 48);
    if (computed != stored)
        return cnnm_fail(err, CNNM_ERR_HEADER_CHECKSUM, m->path,
                         "the header checksum is 0x%08x, the file says 0x%08x — the header is damaged", computed, stored);
    budget *b = calloc(1, sizeof *b);
    if (!b) return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, m->path, "out of memory decoding the header");
    uint64_t limit = m->header_length * CNNM_HEADER_ALLOCATION_RATIO + CNNM_HEADER_ALLOCATION_FLOOR;
    b->remaining = b->limit = limit < CNNM_MAX_HEADER_ALLOCATION ? limit : CNNM_MAX_HEADER_ALLOCATION;
    m->allocator_state = b;
    m->allocator.alloc = budget_alloc;
    m->allocator.free = budget_free;
    m->allocator.allocator_data = b;
    /* The schema has no recursive message, so nesting is bounded by the schema itself (the
     * Swift reader's 100-level limit cannot be reached); unknown fields are kept unparsed. */
    m->header = cnnconv__v1__model__unpack(&m->allocator, (size_t)m->header_length, header);
    if (!m->header) {
        if (b->exceeded)
            return cnnm_fail(err, CNNM_ERR_MALFORMED_HEADER, m->path,
                             "the header does not decode: it would need more than %llu bytes of memory",
                             (unsigned long long)b->limit);
        return cnnm_fail(err, CNNM_ERR_MALFORMED_HEADER, m->path,
                         "the header does not decode: it is not a valid cnnconv.v1.Model protobuf message");
    }
    cnnm_status s = check_strings(m, err);
    if (s != CNNM_OK) return s;
    return check_zero(m, 64 + m->header_length, m->data_offset, err);
}

/* ---- 4: the tensor table -------------------------------------------------------------------- */

static uint64_t decoded_budget(uint64_t file_size) {
    uint64_t scaled = file_size > UINT64_MAX / CNNM_MAX_DECODED_RATIO ? UINT64_MAX : file_size * CNNM_MAX_DECODED_RATIO;
    if (scaled < CNNM_DECODED_BYTES_FLOOR) scaled = CNNM_DECODED_BYTES_FLOOR;
    return scaled < CNNM_MAX_DECODED_BYTES ? scaled : CNNM_MAX_DECODED_BYTES;
}

static cnnm_status check_tensor_table(cnnm_model *m, cnnm_error *err) {
    const Cnnconv__V1__Model *h = m->header;
    const char *path = m->path;
    uint64_t expected_offset = 0;
    /* Names unique: sorted by (name, index), a repeat is an entry whose predecessor has its
     * name; the first one in table order is reported when the loop reaches it. */
    m->tensor_index = malloc((h->n_tensors ? h->n_tensors : 1) * sizeof *m->tensor_index);
    if (!m->tensor_index) return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, path, "out of memory indexing the tensor table");
    for (size_t i = 0; i < h->n_tensors; i++) {
        m->tensor_index[i].name = h->tensors[i]->name;
        m->tensor_index[i].id = i;
    }
    cnnm_names_sort(m->tensor_index, h->n_tensors);
    size_t first_repeat = SIZE_MAX;
    for (size_t k = 1; k < h->n_tensors; k++)
        if (strcmp(m->tensor_index[k - 1].name, m->tensor_index[k].name) == 0 && m->tensor_index[k].id < first_repeat)
            first_repeat = m->tensor_index[k].id;
    uint64_t budget = decoded_budget(m->size), decoded = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        const Cnnconv__V1__TensorEntry *e = h->tensors[i];
        const char *name = e->name;
        if (i == first_repeat)
            return cnnm_fail(err, CNNM_ERR_DUPLICATE_TENSOR, path, "two tensors are named '%s'", name);
        int width;
        switch ((int)e->dtype) {
        case CNNM_DTYPE_FLOAT32: width = 4; break;
        case CNNM_DTYPE_FLOAT16: case CNNM_DTYPE_BFLOAT16: width = 2; break;
        default:
            return cnnm_fail(err, CNNM_ERR_UNKNOWN_DTYPE, path, "tensor '%s' has unknown data type %d", name, (int)e->dtype);
        }
        int encoding = (int)e->encoding;
        if (encoding != CNNM_ENCODING_RAW && encoding != CNNM_ENCODING_DEFLATE && encoding != CNNM_ENCODING_SHUFFLE_DEFLATE)
            return cnnm_fail(err, CNNM_ERR_UNKNOWN_ENCODING, path, "tensor '%s' has unknown encoding %d", name, encoding);
        uint64_t count = 1;
        int overflow = 0;
        for (size_t d = 0; d < e->n_dims; d++) {
            uint64_t dim = e->dims[d];
            if (dim != 0 && count > UINT64_MAX / dim) overflow = 1;
            count *= dim; /* unsigned: wraps like Swift's multipliedReportingOverflow */
        }
        if (overflow || count >= CNNM_MAX_TENSOR_ELEMENTS) {
            if (overflow)
                return cnnm_fail(err, CNNM_ERR_TENSOR_TOO_LARGE, path,
                                 "tensor '%s' claims more than 2^64 elements, over the limit of %llu", name,
                                 (unsigned long long)(CNNM_MAX_TENSOR_ELEMENTS - 1));
            return cnnm_fail(err, CNNM_ERR_TENSOR_TOO_LARGE, path, "tensor '%s' claims %llu elements, over the limit of %llu",
                             name, (unsigned long long)count, (unsigned long long)(CNNM_MAX_TENSOR_ELEMENTS - 1));
        }
        uint64_t raw_length = count * (uint64_t)width; /* < 2^42 */
        if (encoding == CNNM_ENCODING_RAW) {
            if (e->stored_length != raw_length)
                return cnnm_fail(err, CNNM_ERR_TENSOR_LENGTH, path, "tensor '%s' stores %llu bytes, its shape and type need %llu bytes",
                                 name, (unsigned long long)e->stored_length, (unsigned long long)raw_length);
        } else {
            int big = e->stored_length > UINT64_MAX / CNNM_MAX_DEFLATE_RATIO;
            if (e->stored_length == 0 || (!big && raw_length > e->stored_length * CNNM_MAX_DEFLATE_RATIO))
                return cnnm_fail(err, CNNM_ERR_TENSOR_DECOMPRESSED_TOO_LARGE, path,
                                 "tensor '%s' would decompress %llu bytes into %llu bytes, beyond deflate's 1032:1 limit",
                                 name, (unsigned long long)e->stored_length, (unsigned long long)raw_length);
        }
        /* Claimed sizes against the file's budget, before anything is allocated. */
        if (!(width == 4 && encoding == CNNM_ENCODING_RAW)) {
            decoded += count * 4; /* count < 2^40, and the sum stops at the budget (<= 2^34) */
            if (decoded > budget)
                return cnnm_fail(err, CNNM_ERR_DECODED_TOO_LARGE, path,
                                 "tensor '%s' brings the decoded size to %llu bytes, over the %llu bytes a %llu-byte file may expand to "
                                 "(%ux its size, at least %llu bytes, at most %llu bytes) — a hostile or damaged file",
                                 name, (unsigned long long)decoded, (unsigned long long)budget, (unsigned long long)m->size,
                                 CNNM_MAX_DECODED_RATIO, (unsigned long long)CNNM_DECODED_BYTES_FLOOR,
                                 (unsigned long long)CNNM_MAX_DECODED_BYTES);
        }
        if (e->offset != expected_offset)
            return cnnm_fail(err, CNNM_ERR_TENSOR_MISPLACED, path,
                             "tensor '%s' starts at data offset %llu, expected %llu (tensors are packed in order, 64-byte aligned) — overlapping or misplaced",
                             name, (unsigned long long)e->offset, (unsigned long long)expected_offset);
        int o1 = e->stored_length > UINT64_MAX - e->offset;
        uint64_t end = e->offset + e->stored_length;
        int o2 = o1 || end > UINT64_MAX - m->data_offset;
        if (o1 || o2 || end > m->data_length)
            return cnnm_fail(err, CNNM_ERR_TENSOR_OUT_OF_BOUNDS, path,
                             "tensor '%s' ends at byte %llu, past the end of the file (%llu bytes) — the file is truncated or damaged",
                             name, (unsigned long long)(o1 || o2 ? UINT64_MAX : m->data_offset + end), (unsigned long long)m->size);
        /* From here offset..end lies inside the data section, itself inside the file. */
        expected_offset = align_up(end); /* end <= data_length < 2^64 - 64 */
        uint64_t gap_end = expected_offset < m->data_length ? expected_offset : m->data_length;
        cnnm_status s = check_zero(m, m->data_offset + end, m->data_offset + gap_end, err);
        if (s != CNNM_OK) return s;
        uint32_t computed = crc32_of(m->bytes + m->data_offset + e->offset, e->stored_length);
        if (computed != e->crc32)
            return cnnm_fail(err, CNNM_ERR_TENSOR_CHECKSUM, path,
                             "tensor '%s' checksum is 0x%08x, the file says 0x%08x — its data is damaged", name, computed, e->crc32);
    }
    uint64_t used = h->n_tensors ? h->tensors[h->n_tensors - 1]->offset + h->tensors[h->n_tensors - 1]->stored_length : 0;
    if (used != m->data_length)
        return cnnm_fail(err, CNNM_ERR_DATA_UNCOVERED, path, "the tensors cover %llu bytes of the %llu bytes data section",
                         (unsigned long long)used, (unsigned long long)m->data_length);
    return CNNM_OK;
}

/* ---- 5: tensor values ----------------------------------------------------------------------- */

/* Where inflated bytes go: byte b of element k to out[4k + b] (each element at the start of its
 * float's slot, widened in place afterwards), from stream position k*width + b (interleaved) or
 * b*count + k (shuffled). With direct set (f32 deflate), zlib writes out itself. */
typedef struct scatter {
    unsigned char *out;
    uint64_t count;
    int width, shuffled, direct;
    unsigned char *window; /* INFLATE_WINDOW bytes, when not direct */
} scatter;

#define INFLATE_WINDOW ((uInt)1 << 16)

static void scatter_bytes(const scatter *sc, const unsigned char *p, uint64_t n, uint64_t offset) {
    uint64_t k = sc->shuffled ? offset % sc->count : offset / (uint64_t)sc->width;
    uint64_t b = sc->shuffled ? offset / sc->count : offset % (uint64_t)sc->width;
    for (uint64_t i = 0; i < n; i++) {
        sc->out[4 * k + b] = p[i];
        if (sc->shuffled) {
            if (++k == sc->count) { k = 0; b++; }
        } else if (++b == (uint64_t)sc->width) {
            b = 0;
            k++;
        }
    }
}

/* Inflates a zlib stream of exactly out_len bytes into place (see scatter); returns NULL or what
 * is wrong. No buffer of out_len bytes is allocated: peak memory is the float result. */
static const char *inflate_exact(const unsigned char *in, uint64_t in_len, uint64_t out_len, const scatter *sc) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) return "inflateInit failed";
    uint64_t consumed = 0, produced = 0;
    const char *failure = NULL;
    for (;;) {
        if (zs.avail_in == 0 && consumed < in_len) {
            uint64_t chunk = in_len - consumed > (1u << 30) ? (1u << 30) : in_len - consumed;
            zs.next_in = (Bytef *)(in + consumed);
            zs.avail_in = (uInt)chunk;
            consumed += chunk;
        }
        unsigned char spare = 0;
        int status;
        if (produced < out_len) {
            uint64_t limit = sc->direct ? (1u << 30) : INFLATE_WINDOW;
            uint64_t room = out_len - produced > limit ? limit : out_len - produced;
            unsigned char *target = sc->direct ? sc->out + produced : sc->window;
            zs.next_out = target;
            zs.avail_out = (uInt)room;
            status = inflate(&zs, Z_NO_FLUSH);
            uint64_t made = room - zs.avail_out;
            if (!sc->direct && made) scatter_bytes(sc, target, made, produced);
            produced += made;
        } else {
            /* One spare byte past the expected size detects a stream that decodes to more. */
            zs.next_out = &spare;
            zs.avail_out = 1;
            status = inflate(&zs, Z_NO_FLUSH);
            if (zs.avail_out == 0) { failure = "the stream decompresses to more bytes than the tensor holds"; break; }
        }
        if (status == Z_STREAM_END) {
            if (produced != out_len) failure = "the stream decompresses to fewer bytes than the tensor holds";
            else if (zs.avail_in != 0 || consumed != in_len) failure = "bytes follow the end of the zlib stream";
            break;
        }
        if (status == Z_OK) continue;
        if (status == Z_BUF_ERROR) {
            if (zs.avail_in == 0 && consumed == in_len) { failure = "the zlib stream is truncated"; break; }
            continue;
        }
        failure = status == Z_DATA_ERROR ? "corrupt zlib stream" : "inflate failed";
        break;
    }
    inflateEnd(&zs);
    return failure;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do { mantissa <<= 1; e++; } while ((mantissa & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The element of type dtype whose little-endian bytes start at x. */
static float element_at(const unsigned char *x, cnnm_dtype dtype) {
    if (dtype == CNNM_DTYPE_FLOAT16) return half_to_float(le16(x));
    uint32_t bits = dtype == CNNM_DTYPE_FLOAT32 ? le32(x) : (uint32_t)le16(x) << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static cnnm_status decode_tensors(cnnm_model *m, cnnm_error *err) {
    const Cnnconv__V1__Model *h = m->header;
    size_t n = h->n_tensors;
    m->tensors = calloc(n ? n : 1, sizeof *m->tensors);
    m->decoded = calloc(n ? n : 1, sizeof *m->decoded);
    if (!m->tensors || !m->decoded) return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, m->path, "out of memory");
    int little = host_is_little_endian();
    unsigned char *window = NULL; /* the inflate window, shared by every compressed tensor */
    for (size_t i = 0; i < n; i++) {
        const Cnnconv__V1__TensorEntry *e = h->tensors[i];
        cnnm_tensor *t = &m->tensors[i];
        t->name = e->name;
        t->dtype = (cnnm_dtype)e->dtype;
        t->encoding = (cnnm_encoding)e->encoding;
        t->rank = e->n_dims;
        t->dims = e->dims;
        t->count = 1;
        for (size_t d = 0; d < e->n_dims; d++) t->count *= e->dims[d]; /* checked < 2^40 */
        t->file_offset = m->data_offset + e->offset;
        t->stored_length = e->stored_length;
        t->crc32 = e->crc32;
        const unsigned char *stored = m->bytes + t->file_offset;
        int width = t->dtype == CNNM_DTYPE_FLOAT32 ? 4 : 2;
        uint64_t raw_length = t->count * (uint64_t)width;
        if (t->dtype == CNNM_DTYPE_FLOAT32 && t->encoding == CNNM_ENCODING_RAW && little) {
            t->data = (const float *)(const void *)stored; /* 64-aligned: see cnnm_open_memory */
            t->mapped = 1;
            continue;
        }
        if (raw_length > SIZE_MAX || t->count > SIZE_MAX / sizeof(float)) {
            free(window);
            return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, m->path, "tensor '%s' is too large for this machine", t->name);
        }
        float *values = malloc(t->count ? (size_t)t->count * sizeof(float) : 1);
        if (!values) {
            free(window);
            return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, m->path, "out of memory decoding tensor '%s'", t->name);
        }
        m->decoded[i] = values;
        t->data = values;
        size_t count = (size_t)t->count;
        if (t->encoding == CNNM_ENCODING_RAW) {
            for (size_t k = 0; k < count; k++) values[k] = element_at(stored + k * (size_t)width, t->dtype);
            continue;
        }
        /* Compressed: inflate straight into the float slots, then widen each slot in place. */
        if (!window && !(window = malloc(INFLATE_WINDOW)))
            return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, m->path, "out of memory decoding tensor '%s'", t->name);
        scatter sc = {(unsigned char *)values, t->count, width, t->encoding == CNNM_ENCODING_SHUFFLE_DEFLATE,
                      width == 4 && t->encoding == CNNM_ENCODING_DEFLATE, window};
        const char *failure = inflate_exact(stored, t->stored_length, raw_length, &sc);
        if (failure) {
            free(window);
            return cnnm_fail(err, CNNM_ERR_TENSOR_CORRUPT, m->path, "tensor '%s' cannot be decoded: %s", t->name, failure);
        }
        for (size_t k = 0; k < count; k++) values[k] = element_at((const unsigned char *)&values[k], t->dtype);
    }
    free(window);
    return CNNM_OK;
}

/* ---- the API structs ---------------------------------------------------------------------- */

static const cnnm_tensor *resolve(const cnnm_model *m, const char *name) {
    return (name && name[0]) ? cnnm_tensor_find(m, name) : NULL;
}

static void window_of(const Cnnconv__V1__Window2d *w, cnnm_window *out) {
    memset(out, 0, sizeof *out);
    if (!w) return;
    out->kernel_h = w->kernel_h; out->kernel_w = w->kernel_w;
    out->stride_h = w->stride_h; out->stride_w = w->stride_w;
    out->dilation_h = w->dilation_h; out->dilation_w = w->dilation_w;
    out->pad_top = w->pad_top; out->pad_left = w->pad_left;
    out->pad_bottom = w->pad_bottom; out->pad_right = w->pad_right;
}

static void reparam_of(const cnnm_model *m, const Cnnconv__V1__WeightReparameterization *r, cnnm_reparameterization *out) {
    memset(out, 0, sizeof *out);
    if (!r) return;
    if (r->kind_case == CNNCONV__V1__WEIGHT_REPARAMETERIZATION__KIND_WEIGHT_NORM) {
        out->kind = CNNM_REPARAM_WEIGHT_NORM;
        out->gain = resolve(m, r->weight_norm->gain);
    } else if (r->kind_case == CNNCONV__V1__WEIGHT_REPARAMETERIZATION__KIND_WEIGHT_STANDARDIZATION) {
        out->kind = CNNM_REPARAM_WEIGHT_STANDARDIZATION;
        out->epsilon = r->weight_standardization->epsilon;
    }
}

/* An enum value this reader does not know (a newer schema's, or damage behind valid CRCs) is
 * refused naming node and field, as the Swift reader refuses it — never read as the default. */
static cnnm_status check_enums(const cnnm_model *m, const Cnnconv__V1__Node *n, cnnm_error *err) {
    struct known_enum { const char *field; int value, last; } f[3];
    size_t k = 0;
    switch (n->op_case) {
    case CNNCONV__V1__NODE__OP_DROPOUT:
        f[k++] = (struct known_enum){"dropout.convention", (int)n->dropout->convention, 1};
        f[k++] = (struct known_enum){"dropout.granularity", (int)n->dropout->granularity, 1};
        break;
    case CNNCONV__V1__NODE__OP_POOL2D: f[k++] = (struct known_enum){"pool2d.kind", (int)n->pool2d->kind, 1}; break;
    case CNNCONV__V1__NODE__OP_GLOBAL_POOL: f[k++] = (struct known_enum){"global_pool.kind", (int)n->global_pool->kind, 1}; break;
    case CNNCONV__V1__NODE__OP_RESIZE: {
        /* Cubic, antialiased, exclude_outside, half_pixel_symmetric, tf_crop_and_resize and rounded
         * output sizes are the Swift executor's alone (Resize.swift): refused by name. */
        const Cnnconv__V1__Resize *r = n->resize;
        const char *swift_only =
            r->mode == CNNCONV__V1__RESIZE_MODE__RESIZE_MODE_CUBIC ? "cubic mode"
            : r->coordinate_transform == CNNCONV__V1__COORDINATE_TRANSFORM__COORDINATE_TRANSFORM_HALF_PIXEL_SYMMETRIC
                ? "half_pixel_symmetric coordinates"
            : r->coordinate_transform == CNNCONV__V1__COORDINATE_TRANSFORM__COORDINATE_TRANSFORM_TF_CROP_AND_RESIZE
                ? "tf_crop_and_resize"
            : r->antialias ? "antialiasing"
            : r->exclude_outside ? "exclude_outside"
            : r->round_output_size ? "rounded output sizes" : NULL;
        if (swift_only)
            return cnnm_fail(err, CNNM_ERR_UNSUPPORTED_OP, m->path,
                             "node '%s': Resize with %s is not supported by the C library (the Swift executor runs it)",
                             n->name, swift_only);
        f[k++] = (struct known_enum){"resize.mode", (int)n->resize->mode, 1};
        f[k++] = (struct known_enum){"resize.coordinate_transform", (int)n->resize->coordinate_transform, 3};
        f[k++] = (struct known_enum){"resize.nearest_rounding", (int)n->resize->nearest_rounding, 3};
        break;
    }
    default: break;
    }
    for (size_t i = 0; i < k; i++)
        if (f[i].value < 0 || f[i].value > f[i].last)
            return cnnm_fail(err, CNNM_ERR_GRAPH_ATTRIBUTE, m->path,
                             "node '%s': field '%s' holds %d, which this reader does not know — the file is damaged or needs a newer reader",
                             n->name, f[i].field, f[i].value);
    return CNNM_OK;
}

static cnnm_status build_api(cnnm_model *m, cnnm_error *err) {
    const Cnnconv__V1__Model *h = m->header;
    size_t total_dims = 0;
    for (size_t i = 0; i < h->n_inputs; i++) total_dims += h->inputs[i]->n_shape;
    for (size_t i = 0; i < h->n_outputs; i++) total_dims += h->outputs[i]->n_shape;
    m->inputs = calloc(h->n_inputs ? h->n_inputs : 1, sizeof *m->inputs);
    m->outputs = calloc(h->n_outputs ? h->n_outputs : 1, sizeof *m->outputs);
    m->dims = calloc(total_dims ? total_dims : 1, sizeof *m->dims);
    m->nodes = calloc(h->n_nodes ? h->n_nodes : 1, sizeof *m->nodes);
    if (!m->inputs || !m->outputs || !m->dims || !m->nodes)
        return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, m->path, "out of memory");
    size_t next_dim = 0;
    for (int io = 0; io < 2; io++) {
        size_t n = io ? h->n_outputs : h->n_inputs;
        Cnnconv__V1__ValueInfo **src = io ? h->outputs : h->inputs;
        cnnm_value_info *dst = io ? m->outputs : m->inputs;
        for (size_t i = 0; i < n; i++) {
            dst[i].name = src[i]->name;
            dst[i].dtype = (cnnm_dtype)src[i]->dtype;
            dst[i].rank = src[i]->n_shape;
            dst[i].dims = m->dims + next_dim;
            for (size_t d = 0; d < src[i]->n_shape; d++) {
                cnnm_dim *out = &m->dims[next_dim++];
                const Cnnconv__V1__Dimension *dim = src[i]->shape[d];
                out->size = -1;
                out->symbol = NULL;
                if (dim->value_case == CNNCONV__V1__DIMENSION__VALUE_SIZE) /* huge sizes saturate; refused later */
                    out->size = dim->size <= (uint64_t)INT64_MAX ? (int64_t)dim->size : INT64_MAX;
                else if (dim->value_case == CNNCONV__V1__DIMENSION__VALUE_SYMBOL)
                    out->symbol = dim->symbol;
            }
        }
    }
    for (size_t i = 0; i < h->n_nodes; i++) {
        const Cnnconv__V1__Node *n = h->nodes[i];
        cnnm_node *out = &m->nodes[i];
        out->name = n->name;
        out->n_inputs = n->n_inputs;
        out->inputs = (const char *const *)n->inputs;
        out->n_outputs = n->n_outputs;
        out->outputs = (const char *const *)n->outputs;
        out->op = (cnnm_op)n->op_case;
        cnnm_status known = check_enums(m, n, err);
        if (known != CNNM_OK) return known;
        switch (n->op_case) {
        case CNNCONV__V1__NODE__OP_CONV2D:
            out->attr.conv2d.weight = resolve(m, n->conv2d->weight);
            out->attr.conv2d.bias = resolve(m, n->conv2d->bias);
            window_of(n->conv2d->window, &out->attr.conv2d.window);
            out->attr.conv2d.groups = n->conv2d->groups;
            reparam_of(m, n->conv2d->reparameterization, &out->attr.conv2d.reparameterization);
            break;
        case CNNCONV__V1__NODE__OP_CONV_TRANSPOSE2D:
            out->attr.conv_transpose2d.weight = resolve(m, n->conv_transpose2d->weight);
            out->attr.conv_transpose2d.bias = resolve(m, n->conv_transpose2d->bias);
            window_of(n->conv_transpose2d->window, &out->attr.conv_transpose2d.window);
            out->attr.conv_transpose2d.groups = n->conv_transpose2d->groups;
            out->attr.conv_transpose2d.output_padding_h = n->conv_transpose2d->output_padding_h;
            out->attr.conv_transpose2d.output_padding_w = n->conv_transpose2d->output_padding_w;
            break;
        case CNNCONV__V1__NODE__OP_BATCH_NORM:
            out->attr.batch_norm.scale = n->batch_norm->affine ? resolve(m, n->batch_norm->scale) : NULL;
            out->attr.batch_norm.bias = n->batch_norm->affine ? resolve(m, n->batch_norm->bias) : NULL;
            out->attr.batch_norm.running_mean = resolve(m, n->batch_norm->running_mean);
            out->attr.batch_norm.running_variance = resolve(m, n->batch_norm->running_variance);
            out->attr.batch_norm.epsilon = n->batch_norm->epsilon;
            out->attr.batch_norm.momentum = n->batch_norm->momentum;
            out->attr.batch_norm.affine = n->batch_norm->affine ? 1 : 0;
            out->attr.batch_norm.num_batches_tracked = n->batch_norm->num_batches_tracked;
            break;
        case CNNCONV__V1__NODE__OP_DROPOUT:
            out->attr.dropout.rate = n->dropout->rate;
            out->attr.dropout.classic = n->dropout->convention == CNNCONV__V1__DROPOUT_CONVENTION__DROPOUT_CONVENTION_CLASSIC;
            out->attr.dropout.channelwise = n->dropout->granularity == CNNCONV__V1__DROPOUT_GRANULARITY__DROPOUT_GRANULARITY_CHANNEL;
            break;
        case CNNCONV__V1__NODE__OP_LINEAR:
            out->attr.linear.weight = resolve(m, n->linear->weight);
            out->attr.linear.bias = resolve(m, n->linear->bias);
            reparam_of(m, n->linear->reparameterization, &out->attr.linear.reparameterization);
            break;
        case CNNCONV__V1__NODE__OP_CLIP:
            out->attr.clip.min = n->clip->min;
            out->attr.clip.max = n->clip->max;
            break;
        case CNNCONV__V1__NODE__OP_LEAKY_RELU: out->attr.leaky_relu.alpha = n->leaky_relu->alpha; break;
        case CNNCONV__V1__NODE__OP_HARD_SIGMOID:
            out->attr.hard_sigmoid.alpha = n->hard_sigmoid->alpha;
            out->attr.hard_sigmoid.beta = n->hard_sigmoid->beta;
            break;
        case CNNCONV__V1__NODE__OP_POOL2D:
            out->attr.pool2d.kind = n->pool2d->kind == CNNCONV__V1__POOL_KIND__POOL_KIND_AVERAGE ? CNNM_POOL_AVERAGE : CNNM_POOL_MAX;
            window_of(n->pool2d->window, &out->attr.pool2d.window);
            out->attr.pool2d.ceil_mode = n->pool2d->ceil_mode ? 1 : 0;
            out->attr.pool2d.count_include_pad = n->pool2d->count_include_pad ? 1 : 0;
            break;
        case CNNCONV__V1__NODE__OP_GLOBAL_POOL:
            out->attr.global_pool.kind = n->global_pool->kind == CNNCONV__V1__POOL_KIND__POOL_KIND_AVERAGE ? CNNM_POOL_AVERAGE : CNNM_POOL_MAX;
            break;
        case CNNCONV__V1__NODE__OP_FLATTEN: out->attr.flatten.axis = n->flatten->axis; break;
        case CNNCONV__V1__NODE__OP_CONCAT: out->attr.concat.axis = n->concat->axis; break;
        case CNNCONV__V1__NODE__OP_SOFTMAX: out->attr.softmax.axis = n->softmax->axis; break;
        case CNNCONV__V1__NODE__OP_AFFINE:
            out->attr.affine.scale = resolve(m, n->affine->scale);
            out->attr.affine.shift = resolve(m, n->affine->shift);
            break;
        case CNNCONV__V1__NODE__OP_LAYER_NORM:
            out->attr.layer_norm.scale = resolve(m, n->layer_norm->scale);
            out->attr.layer_norm.bias = resolve(m, n->layer_norm->bias);
            out->attr.layer_norm.epsilon = n->layer_norm->epsilon;
            out->attr.layer_norm.axis = n->layer_norm->axis;
            break;
        case CNNCONV__V1__NODE__OP_GROUP_NORM:
            out->attr.group_norm.num_groups = n->group_norm->num_groups;
            out->attr.group_norm.scale = resolve(m, n->group_norm->scale);
            out->attr.group_norm.bias = resolve(m, n->group_norm->bias);
            out->attr.group_norm.epsilon = n->group_norm->epsilon;
            break;
        case CNNCONV__V1__NODE__OP_INSTANCE_NORM:
            out->attr.instance_norm.scale = resolve(m, n->instance_norm->scale);
            out->attr.instance_norm.bias = resolve(m, n->instance_norm->bias);
            out->attr.instance_norm.epsilon = n->instance_norm->epsilon;
            break;
        case CNNCONV__V1__NODE__OP_LRN:
            out->attr.lrn.size = n->lrn->size;
            out->attr.lrn.alpha = n->lrn->alpha;
            out->attr.lrn.beta = n->lrn->beta;
            out->attr.lrn.bias = n->lrn->bias;
            break;
        case CNNCONV__V1__NODE__OP_CHANNEL_SHUFFLE: out->attr.channel_shuffle.groups = n->channel_shuffle->groups; break;
        case CNNCONV__V1__NODE__OP_RESIZE:
            out->attr.resize.bilinear = n->resize->mode == CNNCONV__V1__RESIZE_MODE__RESIZE_MODE_BILINEAR;
            out->attr.resize.scale_h = n->resize->scale_h;
            out->attr.resize.scale_w = n->resize->scale_w;
            out->attr.resize.coordinate_transform = (int)n->resize->coordinate_transform;
            out->attr.resize.nearest_rounding = (int)n->resize->nearest_rounding;
            break;
        case CNNCONV__V1__NODE__OP_RELU: case CNNCONV__V1__NODE__OP_SIGMOID: case CNNCONV__V1__NODE__OP_TANH:
        case CNNCONV__V1__NODE__OP_HARD_SWISH: case CNNCONV__V1__NODE__OP_SILU: case CNNCONV__V1__NODE__OP_ADD:
        case CNNCONV__V1__NODE__OP_MUL: case CNNCONV__V1__NODE__OP_IDENTITY:
            break;
        case CNNCONV__V1__NODE__OP_TENSOR_OP: out->attr.tensor_op.kind = n->tensor_op->kind; break;
        default:
            out->op = CNNM_OP_UNKNOWN;
            break;
        }
    }
    return CNNM_OK;
}

/* ---- opening ------------------------------------------------------------------------------ */

static cnnm_status open_image(cnnm_model *m, cnnm_model **model, cnnm_error *err) {
    cnnm_status s = check_preamble(m, err);
    if (s == CNNM_OK) s = decode_header(m, err);
    if (s == CNNM_OK) s = check_tensor_table(m, err);
    if (s == CNNM_OK) s = decode_tensors(m, err);
    if (s == CNNM_OK) s = build_api(m, err);
    if (s == CNNM_OK) s = cnnm_validate_graph(m, err);
    if (s != CNNM_OK) {
        cnnm_close(m);
        return s;
    }
    *model = m;
    cnnm_ok(err);
    return CNNM_OK;
}

static cnnm_model *new_model(const char *path, cnnm_error *err) {
    cnnm_model *m = calloc(1, sizeof *m);
    char *p = dup_string(path);
    if (!m || !p) {
        free(m);
        free(p);
        cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, path, "out of memory");
        return NULL;
    }
    m->path = p;
    return m;
}

cnnm_status cnnm_open_memory(const void *bytes, size_t length, cnnm_model **model, cnnm_error *err) {
    if (!model) return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_open_memory: model is NULL");
    *model = NULL;
    if (!bytes && length > 0) return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_open_memory: bytes is NULL");
    cnnm_model *m = new_model("<memory>", err);
    if (!m) return CNNM_ERR_OUT_OF_MEMORY;
    m->size = length;
    if (length == 0 || ((uintptr_t)bytes % CNNM_ALIGNMENT) == 0) {
        m->bytes = bytes;
    } else {
        if (length > SIZE_MAX - CNNM_ALIGNMENT) {
            cnnm_close(m);
            return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, "<memory>", "out of memory");
        }
        m->allocation = malloc(length + CNNM_ALIGNMENT);
        if (!m->allocation) {
            cnnm_close(m);
            return cnnm_fail(err, CNNM_ERR_OUT_OF_MEMORY, "<memory>", "out of memory copying %zu bytes", length);
        }
        uintptr_t base = (uintptr_t)m->allocation;
        unsigned char *aligned = (unsigned char *)m->allocation + ((CNNM_ALIGNMENT - base % CNNM_ALIGNMENT) % CNNM_ALIGNMENT);
        memcpy(aligned, bytes, length);
        m->bytes = aligned;
    }
    return open_image(m, model, err);
}

cnnm_status cnnm_open_file(const char *path, cnnm_model **model, cnnm_error *err) {
    if (!model) return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_open_file: model is NULL");
    *model = NULL;
    if (!path) return cnnm_fail(err, CNNM_ERR_INVALID_ARGUMENT, NULL, "cnnm_open_file: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return cnnm_fail(err, CNNM_ERR_IO, path, "%s",
                         e == ENOENT ? "no such file" : e == EACCES ? "permission denied" : e == EISDIR ? "is a directory" : strerror(e));
    }
    struct stat info;
    if (fstat(fd, &info) != 0) {
        int e = errno;
        close(fd);
        return cnnm_fail(err, CNNM_ERR_IO, path, "%s", strerror(e));
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        return cnnm_fail(err, CNNM_ERR_NOT_REGULAR_FILE, path, "is a directory or not a regular file");
    }
    if (info.st_size < 0 || (uint64_t)info.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return cnnm_fail(err, CNNM_ERR_IO, path, "the file is too large to map on this machine");
    }
    cnnm_model *m = new_model(path, err);
    if (!m) {
        close(fd);
        return CNNM_ERR_OUT_OF_MEMORY;
    }
    m->size = (uint64_t)info.st_size;
    if (m->size > 0) {
        void *mapped = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapped == MAP_FAILED) {
            int e = errno;
            close(fd);
            cnnm_close(m);
            return cnnm_fail(err, CNNM_ERR_IO, path, "cannot map the file: %s", strerror(e));
        }
        m->mapping = mapped;
        m->bytes = mapped;
    }
    close(fd);
    return open_image(m, model, err);
}

/* ---- accessors ---------------------------------------------------------------------------- */

void cnnm_format_version(const cnnm_model *m, unsigned *major, unsigned *minor) {
    if (major) *major = m->major;
    if (minor) *minor = m->minor;
}
const char *cnnm_model_name(const cnnm_model *m) { return m->header->name; }
const char *cnnm_model_producer(const cnnm_model *m) { return m->header->producer; }

size_t cnnm_metadata_count(const cnnm_model *m) { return m->header->n_metadata; }
const char *cnnm_metadata_key(const cnnm_model *m, size_t i) {
    return i < m->header->n_metadata ? m->header->metadata[i]->key : NULL;
}
const char *cnnm_metadata_value(const cnnm_model *m, size_t i) {
    return i < m->header->n_metadata ? m->header->metadata[i]->value : NULL;
}
const char *cnnm_metadata_get(const cnnm_model *m, const char *key) {
    /* A map written twice keeps the last value, as protobuf maps do. */
    const char *found = NULL;
    for (size_t i = 0; key && i < m->header->n_metadata; i++)
        if (strcmp(m->header->metadata[i]->key, key) == 0) found = m->header->metadata[i]->value;
    return found;
}

size_t cnnm_applied_pass_count(const cnnm_model *m) { return m->header->n_applied_passes; }
const char *cnnm_applied_pass(const cnnm_model *m, size_t i) {
    return i < m->header->n_applied_passes ? m->header->applied_passes[i] : NULL;
}

size_t cnnm_input_count(const cnnm_model *m) { return m->header->n_inputs; }
const cnnm_value_info *cnnm_input(const cnnm_model *m, size_t i) { return i < m->header->n_inputs ? &m->inputs[i] : NULL; }
size_t cnnm_output_count(const cnnm_model *m) { return m->header->n_outputs; }
const cnnm_value_info *cnnm_output(const cnnm_model *m, size_t i) { return i < m->header->n_outputs ? &m->outputs[i] : NULL; }

size_t cnnm_node_count(const cnnm_model *m) { return m->header->n_nodes; }
const cnnm_node *cnnm_node_at(const cnnm_model *m, size_t i) { return i < m->header->n_nodes ? &m->nodes[i] : NULL; }

size_t cnnm_tensor_count(const cnnm_model *m) { return m->header->n_tensors; }
const cnnm_tensor *cnnm_tensor_at(const cnnm_model *m, size_t i) { return i < m->header->n_tensors ? &m->tensors[i] : NULL; }
const cnnm_tensor *cnnm_tensor_find(const cnnm_model *m, const char *name) {
    if (!name) return NULL;
    size_t i = cnnm_names_first(m->tensor_index, m->header->n_tensors, name);
    return i == SIZE_MAX ? NULL : &m->tensors[i];
}

const struct Cnnconv__V1__Model *cnnm_header(const cnnm_model *m) { return m->header; }

const char *cnnm_op_name(cnnm_op op) {
    switch (op) {
    case CNNM_OP_UNKNOWN: return "unknown";
    case CNNM_OP_CONV2D: return "conv2d";
    case CNNM_OP_CONV_TRANSPOSE2D: return "conv_transpose2d";
    case CNNM_OP_BATCH_NORM: return "batch_norm";
    case CNNM_OP_DROPOUT: return "dropout";
    case CNNM_OP_LINEAR: return "linear";
    case CNNM_OP_RELU: return "relu";
    case CNNM_OP_CLIP: return "clip";
    case CNNM_OP_LEAKY_RELU: return "leaky_relu";
    case CNNM_OP_SIGMOID: return "sigmoid";
    case CNNM_OP_TANH: return "tanh";
    case CNNM_OP_HARD_SIGMOID: return "hard_sigmoid";
    case CNNM_OP_HARD_SWISH: return "hard_swish";
    case CNNM_OP_SILU: return "silu";
    case CNNM_OP_POOL2D: return "pool2d";
    case CNNM_OP_GLOBAL_POOL: return "global_pool";
    case CNNM_OP_FLATTEN: return "flatten";
    case CNNM_OP_ADD: return "add";
    case CNNM_OP_MUL: return "mul";
    case CNNM_OP_CONCAT: return "concat";
    case CNNM_OP_SOFTMAX: return "softmax";
    case CNNM_OP_AFFINE: return "affine";
    case CNNM_OP_LAYER_NORM: return "layer_norm";
    case CNNM_OP_GROUP_NORM: return "group_norm";
    case CNNM_OP_INSTANCE_NORM: return "instance_norm";
    case CNNM_OP_LRN: return "lrn";
    case CNNM_OP_CHANNEL_SHUFFLE: return "channel_shuffle";
    case CNNM_OP_RESIZE: return "resize";
    case CNNM_OP_IDENTITY: return "identity";
    case CNNM_OP_TENSOR_OP: return "tensor_op";
    }
    return "unknown";
}
