/*
 * make_hostile.c — writes the hostile model files ci-check.sh feeds to cnnm-run (issue 12), with
 * valid CRCs so that each reaches the check it is about:
 *
 *   make_hostile bomb OUT      a valid graph of four Affine nodes over [1, 5 M] whose eight scale and
 *                              shift tensors are f16+deflate zeros: 160 MB of floats from ~80 KB
 *                              (over the decoded-bytes budget; refused before anything is decoded)
 *   make_hostile chain N OUT   a valid graph: input x [1, 4], then N Relu nodes chained
 *   make_hostile names OUT     a node whose name and input carry ESC sequences, a bidi override,
 *                              a newline and a C1 control, reading a value nobody defines
 *   make_hostile tensor_op CASE OUT
 *                              x [1, 4] -> a Transpose tensor op (perm [1, 0]) -> y: CASE valid is a
 *                              sound file (loads; the C executor refuses to run it); unknown names
 *                              kind 'NoSuchKind'; dangling adds a constant operand 'ghost' the table
 *                              lacks; duplicate gives 'perm' twice; oversized gives 'perm' 2^20 + 1
 *                              values
 *
 * Built and run by ci-check.sh only (libprotobuf-c, zlib); not part of the library.
 */
#include "cnnmodel.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k)); }
static void put64(unsigned char *p, uint64_t v) { for (int k = 0; k < 8; k++) p[k] = (unsigned char)(v >> (8 * k)); }
static uint64_t align64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }

/* Preamble + header + zero padding + data, as FORMAT.md section 1 lays them out. */
static int write_model(const char *path, const Cnnconv__V1__Model *model, const unsigned char *data, uint64_t data_length) {
    size_t header_length = cnnconv__v1__model__get_packed_size(model);
    unsigned char *header = malloc(header_length ? header_length : 1);
    if (!header) return 0;
    cnnconv__v1__model__pack(model, header);
    uint64_t data_offset = align64(64 + header_length);
    unsigned char pre[64] = {0x89, 0x43, 0x4E, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A};
    put16(pre + 8, 1);
    put16(pre + 10, 0);
    put64(pre + 16, 64);
    put64(pre + 24, header_length);
    put64(pre + 32, data_offset);
    put64(pre + 40, data_length);
    put32(pre + 48, (uint32_t)crc32(0L, header, (uInt)header_length));
    put32(pre + 56, (uint32_t)crc32(0L, pre, 56));
    FILE *f = fopen(path, "wb");
    int ok = f != NULL;
    static const unsigned char zeros[64];
    if (ok) ok = fwrite(pre, 1, 64, f) == 64 && fwrite(header, 1, header_length, f) == header_length &&
                 fwrite(zeros, 1, (size_t)(data_offset - 64 - header_length), f) == data_offset - 64 - header_length &&
                 (data_length == 0 || fwrite(data, 1, (size_t)data_length, f) == data_length);
    if (f && fclose(f) != 0) ok = 0;
    free(header);
    return ok;
}

static Cnnconv__V1__ValueInfo *value(const char *name, int rank, const uint64_t *dims) {
    Cnnconv__V1__ValueInfo *v = malloc(sizeof *v);
    Cnnconv__V1__ValueInfo init = CNNCONV__V1__VALUE_INFO__INIT;
    *v = init;
    v->name = (char *)name;
    v->dtype = CNNCONV__V1__DATA_TYPE__DATA_TYPE_FLOAT32;
    v->n_shape = (size_t)rank;
    v->shape = calloc((size_t)rank + 1, sizeof *v->shape);
    for (int d = 0; d < rank; d++) {
        Cnnconv__V1__Dimension dinit = CNNCONV__V1__DIMENSION__INIT;
        v->shape[d] = malloc(sizeof **v->shape);
        *v->shape[d] = dinit;
        v->shape[d]->value_case = CNNCONV__V1__DIMENSION__VALUE_SIZE;
        v->shape[d]->size = dims[d];
    }
    return v;
}

static int bomb(const char *path) {
    enum { TENSORS = 8, COUNT = 5000000 };
    uLong raw_length = (uLong)COUNT * 2; /* f16 */
    unsigned char *raw = calloc(raw_length, 1);
    uLongf stored = compressBound(raw_length);
    unsigned char *stream = malloc(stored);
    if (!raw || !stream || compress2(stream, &stored, raw, raw_length, 9) != Z_OK) return 0;
    free(raw);
    uint32_t crc = (uint32_t)crc32(0L, stream, (uInt)stored);
    uint64_t step = align64(stored), data_length = step * (TENSORS - 1) + stored;
    unsigned char *data = calloc((size_t)data_length, 1);
    Cnnconv__V1__Model model = CNNCONV__V1__MODEL__INIT;
    Cnnconv__V1__TensorEntry entries[TENSORS], *table[TENSORS];
    char names[TENSORS][8];
    uint64_t dims[1] = {COUNT};
    for (int i = 0; i < TENSORS; i++) {
        Cnnconv__V1__TensorEntry init = CNNCONV__V1__TENSOR_ENTRY__INIT;
        entries[i] = init;
        snprintf(names[i], sizeof names[i], "t%d", i);
        entries[i].name = names[i];
        entries[i].dtype = CNNCONV__V1__DATA_TYPE__DATA_TYPE_FLOAT16;
        entries[i].encoding = CNNCONV__V1__ENCODING__ENCODING_DEFLATE;
        entries[i].n_dims = 1;
        entries[i].dims = dims;
        entries[i].offset = step * (uint64_t)i;
        entries[i].stored_length = stored;
        entries[i].crc32 = crc;
        memcpy(data + entries[i].offset, stream, stored);
        table[i] = &entries[i];
    }
    /* x [1, COUNT] -> affine0(t0, t1) -> ... -> affine3(t6, t7): every tensor is used. */
    static const uint64_t shape[2] = {1, COUNT};
    Cnnconv__V1__ValueInfo *input = value("x", 2, shape);
    Cnnconv__V1__Node nodes[TENSORS / 2], *list[TENSORS / 2];
    Cnnconv__V1__Affine affines[TENSORS / 2];
    static char node_names[TENSORS / 2][8], *values[TENSORS / 2 + 1] = {"x"};
    for (int i = 0; i < TENSORS / 2; i++) {
        Cnnconv__V1__Node init = CNNCONV__V1__NODE__INIT;
        Cnnconv__V1__Affine ainit = CNNCONV__V1__AFFINE__INIT;
        snprintf(node_names[i], sizeof node_names[i], "a%d", i);
        values[i + 1] = node_names[i];
        affines[i] = ainit;
        affines[i].scale = names[2 * i];
        affines[i].shift = names[2 * i + 1];
        nodes[i] = init;
        nodes[i].name = node_names[i];
        nodes[i].n_inputs = 1;
        nodes[i].inputs = &values[i];
        nodes[i].n_outputs = 1;
        nodes[i].outputs = &values[i + 1];
        nodes[i].op_case = CNNCONV__V1__NODE__OP_AFFINE;
        nodes[i].affine = &affines[i];
        list[i] = &nodes[i];
    }
    Cnnconv__V1__ValueInfo *output = value(values[TENSORS / 2], 0, NULL);
    model.name = "bomb";
    model.n_inputs = 1;
    model.inputs = &input;
    model.n_outputs = 1;
    model.outputs = &output;
    model.n_nodes = TENSORS / 2;
    model.nodes = list;
    model.n_tensors = TENSORS;
    model.tensors = table;
    int ok = write_model(path, &model, data, data_length);
    free(stream);
    free(data);
    return ok;
}

static int chain(long count, const char *path, int hostile_names) {
    Cnnconv__V1__Model model = CNNCONV__V1__MODEL__INIT;
    static const uint64_t shape[2] = {1, 4};
    Cnnconv__V1__ValueInfo *input = value("x", 2, shape);
    Cnnconv__V1__Relu relu = CNNCONV__V1__RELU__INIT;
    Cnnconv__V1__Node *nodes = calloc((size_t)count, sizeof *nodes);
    Cnnconv__V1__Node **list = calloc((size_t)count, sizeof *list);
    char **names = calloc((size_t)count + 1, sizeof *names);
    if (!nodes || !list || !names) return 0;
    names[0] = "x";
    for (long i = 0; i < count; i++) {
        Cnnconv__V1__Node init = CNNCONV__V1__NODE__INIT;
        nodes[i] = init;
        names[i + 1] = malloc(24);
        snprintf(names[i + 1], 24, "v%ld", i);
        nodes[i].name = names[i + 1]; /* node names and their outputs may share a name */
        nodes[i].n_inputs = 1;
        nodes[i].inputs = &names[i];
        nodes[i].n_outputs = 1;
        nodes[i].outputs = &names[i + 1];
        nodes[i].op_case = CNNCONV__V1__NODE__OP_RELU;
        nodes[i].relu = &relu;
        list[i] = &nodes[i];
    }
    static char hostile[] = "n\x1b[2J\x1b]0;pwned\x07\xe2\x80\xae" "b\nc\xc2\x9b";
    static char *hostile_input[1] = {hostile};
    if (hostile_names) {
        nodes[count - 1].name = hostile;
        nodes[count - 1].inputs = hostile_input;
    }
    Cnnconv__V1__ValueInfo *output = value(names[count], 0, NULL);
    model.name = "chain";
    model.n_inputs = 1;
    model.inputs = &input;
    model.n_outputs = 1;
    model.outputs = &output;
    model.n_nodes = (size_t)count;
    model.nodes = list;
    return write_model(path, &model, NULL, 0);
}

static int tensor_op(const char *which, const char *path) {
    static const uint64_t shape[2] = {1, 4};
    Cnnconv__V1__ValueInfo *input = value("x", 2, shape);
    Cnnconv__V1__ValueInfo *output = value("y", 0, NULL);
    size_t n_perm = strcmp(which, "oversized") == 0 ? ((size_t)1 << 20) + 1 : 2;
    int64_t *perm = calloc(n_perm, sizeof *perm);
    if (!perm) return 0;
    perm[0] = 1;
    Cnnconv__V1__Ints ints = CNNCONV__V1__INTS__INIT;
    ints.n_values = n_perm;
    ints.values = perm;
    Cnnconv__V1__TensorOpAttribute attributes[2], *attribute_list[2] = {&attributes[0], &attributes[1]};
    for (int i = 0; i < 2; i++) {
        Cnnconv__V1__TensorOpAttribute init = CNNCONV__V1__TENSOR_OP_ATTRIBUTE__INIT;
        attributes[i] = init;
        attributes[i].name = "perm";
        attributes[i].value_case = CNNCONV__V1__TENSOR_OP_ATTRIBUTE__VALUE_INTS;
        attributes[i].ints = &ints;
    }
    Cnnconv__V1__TensorOpOperand operands[2], *operand_list[2] = {&operands[0], &operands[1]};
    for (int i = 0; i < 2; i++) {
        Cnnconv__V1__TensorOpOperand init = CNNCONV__V1__TENSOR_OP_OPERAND__INIT;
        operands[i] = init;
    }
    operands[1].constant = "ghost";
    Cnnconv__V1__TensorOp op = CNNCONV__V1__TENSOR_OP__INIT;
    op.kind = strcmp(which, "unknown") == 0 ? "NoSuchKind" : "Transpose";
    op.n_attributes = strcmp(which, "duplicate") == 0 ? 2 : 1;
    op.attributes = attribute_list;
    op.n_operands = strcmp(which, "dangling") == 0 ? 2 : 1;
    op.operands = operand_list;
    static char *x_name[1] = {"x"}, *y_name[1] = {"y"};
    Cnnconv__V1__Node node = CNNCONV__V1__NODE__INIT, *nodes[1] = {&node};
    node.name = "t";
    node.n_inputs = 1;
    node.inputs = x_name;
    node.n_outputs = 1;
    node.outputs = y_name;
    node.op_case = CNNCONV__V1__NODE__OP_TENSOR_OP;
    node.tensor_op = &op;
    Cnnconv__V1__Model model = CNNCONV__V1__MODEL__INIT;
    model.name = "tensor_op";
    model.n_inputs = 1;
    model.inputs = &input;
    model.n_outputs = 1;
    model.outputs = &output;
    model.n_nodes = 1;
    model.nodes = nodes;
    int ok = write_model(path, &model, NULL, 0);
    free(perm);
    return ok;
}

int main(int argc, char **argv) {
    int ok = 0;
    if (argc == 3 && strcmp(argv[1], "bomb") == 0) ok = bomb(argv[2]);
    else if (argc == 4 && strcmp(argv[1], "chain") == 0) ok = chain(atol(argv[2]), argv[3], 0);
    else if (argc == 3 && strcmp(argv[1], "names") == 0) ok = chain(3, argv[2], 1);
    else if (argc == 4 && strcmp(argv[1], "tensor_op") == 0) ok = tensor_op(argv[2], argv[3]);
    else {
        fprintf(stderr, "usage: make_hostile bomb OUT | chain N OUT | names OUT | tensor_op valid|unknown|dangling|duplicate|oversized OUT\n");
        return 2;
    }
    if (!ok) fprintf(stderr, "make_hostile: cannot write %s\n", argv[argc - 1]);
    return ok ? 0 : 1;
}
