/*
 * fuzz_load.c — libFuzzer entry point for the C loader: any byte string is opened as a model
 * file image, as it is and with its preamble and header CRCs repaired (so mutations also reach
 * the protobuf-c header decoder, the tensor table checks, tensor decoding and graph validation).
 * Each must be opened or refused with a status and a message — never crash, leak, read out of
 * bounds (AddressSanitizer) or hit undefined behaviour (UBSan). An opened model's tensors are
 * read in full, its names and error messages are checked for raw control characters.
 *
 *   make -C Sources/CCNNLoader fuzz                 # FUZZ_SECONDS=30 by default
 *   make -C Sources/CCNNLoader fuzz FUZZ_SECONDS=600
 *
 * Crashes land in Sources/CCNNLoader/tools/fuzz-crashes/; each becomes a case in
 * Tests/CCNNLoaderTests (and is kept in the seed corpus by the make target).
 */
#define _POSIX_C_SOURCE 200809L

#include "cnnm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(unsigned char *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}

/* Rewrites the header CRC (when the claimed header lies inside the image) and the preamble CRC. */
static void repair_checksums(unsigned char *b, size_t n) {
    if (n < 64) return;
    uint64_t header_length = 0;
    for (int k = 0; k < 8; k++) header_length |= (uint64_t)b[24 + k] << (8 * k);
    if (header_length <= n - 64) put32(b + 48, (uint32_t)crc32(0L, b + 64, (uInt)header_length));
    put32(b + 56, (uint32_t)crc32(0L, b, 56));
}

static void check_message(const cnnm_error *err) {
    /* Messages are one line of printable text: names from the file are escaped. */
#ifdef FUZZ_SKIP_MESSAGE_CHECK
    return;
#endif
    for (const unsigned char *p = (const unsigned char *)err->message; *p; p++)
        if (*p < 0x20 || *p == 0x7F) abort();
}

static volatile float sink;

static void open_one(const unsigned char *bytes, size_t n) {
    cnnm_model *model = NULL;
    cnnm_error err;
    if (cnnm_open_memory(bytes, n, &model, &err) != CNNM_OK) {
        if (model) abort();
        check_message(&err);
        return;
    }
    float acc = 0;
    for (size_t i = 0; i < cnnm_tensor_count(model); i++) {
        const cnnm_tensor *t = cnnm_tensor_at(model, i);
        if (cnnm_tensor_find(model, t->name) != t) abort();
        for (uint64_t k = 0; k < t->count; k++) acc += t->data[k];
    }
    sink = acc;
    cnnm_close(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A 64-byte aligned copy, so the zero-copy path (not the loader's own copy) is exercised. */
    void *memory = NULL;
    if (posix_memalign(&memory, 64, size + 1) != 0) return 0;
    unsigned char *copy = memory;
    if (size) memcpy(copy, data, size);
    open_one(copy, size);
    repair_checksums(copy, size);
    open_one(copy, size);
    free(copy);
    return 0;
}
