/*
 * cnnm-run — the example program for the C loader: loads a cnnconv model and runs it on
 * one float32 .npy input, writing the output as float32 .npy. No Swift involved.
 *
 *   cnnm-run MODEL INPUT.npy OUTPUT.npy   run a one-input, one-output model
 *   cnnm-run --check MODEL...             open and check each model only (CI: hostile files)
 *   cnnm-run --input-shape MODEL          print the first input's shape, symbols read as 1
 *
 * Exit codes (as the cnnconv CLI): 0 ok, 2 usage error, 3 invalid or corrupt input (model,
 * .npy, or an op the executor does not run), 1 anything else (writing the output, memory).
 */
#include "cnnm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
#define EXIT_INVALID 3

static const char *program = "cnnm-run";

static int usage(void) {
    fprintf(stderr, "usage: %s MODEL INPUT.npy OUTPUT.npy\n       %s --check MODEL...\n       %s --input-shape MODEL\n",
            program, program, program);
    return EXIT_USAGE;
}

/* Reads a whole file (up to 4 GiB). Returns NULL and prints why on failure. */
static unsigned char *read_file(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    size_t capacity = 1 << 16, used = 0;
    unsigned char *buf = malloc(capacity);
    while (buf) {
        size_t n = fread(buf + used, 1, capacity - used, f);
        used += n;
        if (used < capacity) break;
        if (capacity >= ((size_t)1 << 32)) { fprintf(stderr, "%s: larger than 4 GiB\n", path); free(buf); buf = NULL; break; }
        unsigned char *grown = realloc(buf, capacity * 2);
        if (!grown) { free(buf); buf = NULL; break; }
        buf = grown;
        capacity *= 2;
    }
    if (buf && ferror(f)) { perror(path); free(buf); buf = NULL; }
    fclose(f);
    *length = used;
    return buf;
}

/* The value of `key` in a .npy header dict: a pointer just past "'key':" and spaces. */
static const char *dict_value(const char *header, const char *key) {
    char pattern[32];
    snprintf(pattern, sizeof pattern, "'%s':", key);
    const char *p = strstr(header, pattern);
    if (!p) return NULL;
    p += strlen(pattern);
    while (*p == ' ') p++;
    return p;
}

/* Parses a float32, C-order, little-endian .npy file into `array` (data points into `file`). */
static int parse_npy(const char *path, unsigned char *file, size_t length, cnnm_array *array) {
    if (length < 10 || memcmp(file, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: not a .npy file (no \\x93NUMPY magic)\n", path);
        return 0;
    }
    unsigned major = file[6];
    size_t header_length, start;
    if (major == 1) { header_length = (size_t)file[8] | ((size_t)file[9] << 8); start = 10; }
    else if (major == 2 || major == 3) {
        if (length < 12) { fprintf(stderr, "%s: truncated .npy header\n", path); return 0; }
        header_length = (size_t)file[8] | ((size_t)file[9] << 8) | ((size_t)file[10] << 16) | ((size_t)file[11] << 24);
        start = 12;
    } else { fprintf(stderr, "%s: .npy format version %u is not supported\n", path, major); return 0; }
    if (header_length > length - start || header_length > 65536) { fprintf(stderr, "%s: truncated .npy header\n", path); return 0; }
    char *header = malloc(header_length + 1);
    if (!header) return 0;
    memcpy(header, file + start, header_length);
    header[header_length] = '\0';
    int ok = 0;
    const char *descr = dict_value(header, "descr"), *fortran = dict_value(header, "fortran_order"), *shape = dict_value(header, "shape");
    if (!descr || !fortran || !shape) {
        fprintf(stderr, "%s: the .npy header lacks descr, fortran_order or shape\n", path);
    } else if (strncmp(descr, "'<f4'", 5) != 0) {
        const char *end = strchr(descr, ',');
        fprintf(stderr, "%s: dtype %.*s is not supported; cnnm-run reads float32 little-endian ('<f4') only\n", path,
                (int)(end ? end - descr : 8), descr);
    } else if (strncmp(fortran, "False", 5) != 0) {
        fprintf(stderr, "%s: Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)\n", path);
    } else if (*shape != '(') {
        fprintf(stderr, "%s: the .npy shape is not a tuple\n", path);
    } else {
        const char *p = shape + 1;
        uint64_t count = 1;
        array->rank = 0;
        ok = 1;
        while (ok) {
            while (*p == ' ' || *p == ',') p++;
            if (*p == ')') break;
            char *end;
            unsigned long long dim = strtoull(p, &end, 10);
            if (end == p || array->rank == CNNM_MAX_RANK || dim == 0 || dim > ((uint64_t)1 << 40) ||
                count > (((uint64_t)1 << 40) / dim)) {
                fprintf(stderr, "%s: unsupported .npy shape (rank up to %d, sizes 1 to 2^40)\n", path, CNNM_MAX_RANK);
                ok = 0;
                break;
            }
            array->dims[array->rank++] = dim;
            count *= dim;
            p = end;
        }
        size_t data_start = start + header_length;
        if (ok && (length - data_start) / 4 != count) {
            fprintf(stderr, "%s: holds %zu data bytes, its shape needs %llu\n", path, length - data_start,
                    (unsigned long long)(count * 4));
            ok = 0;
        } else if (ok && (length - data_start) % 4 != 0) {
            fprintf(stderr, "%s: trailing bytes after the data\n", path);
            ok = 0;
        }
        if (ok) {
            /* Copy into an aligned float buffer (the file's data need not be 4-byte aligned). */
            array->data = malloc(count ? (size_t)count * sizeof(float) : 1);
            if (!array->data) { fprintf(stderr, "%s: out of memory\n", path); ok = 0; }
            else {
                for (uint64_t i = 0; i < count; i++) {
                    const unsigned char *b = file + data_start + 4 * i;
                    uint32_t bits = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
                    memcpy(&array->data[i], &bits, 4);
                }
            }
        }
    }
    free(header);
    return ok;
}

static int write_npy(const char *path, const cnnm_array *a) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (size_t i = 0; i < a->rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%llu%s", (unsigned long long)a->dims[i],
                      (a->rank == 1 || i + 1 < a->rank) ? ", " : "");
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Pad with spaces so that magic + length + header is a multiple of 64, ending in '\n'. */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t header_length = padded - 10;
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 0; }
    unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_length & 0xFF), (unsigned char)(header_length >> 8)};
    fwrite(prefix, 1, 10, f);
    fwrite(dict, 1, (size_t)n, f);
    for (size_t i = (size_t)n; i + 1 < header_length; i++) fputc(' ', f);
    fputc('\n', f);
    uint64_t count = cnnm_array_count(a);
    for (uint64_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &a->data[i], 4);
        unsigned char b[4] = {(unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16), (unsigned char)(bits >> 24)};
        fwrite(b, 1, 4, f);
    }
    int ok = !ferror(f);
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "%s: cannot write the output\n", path);
    return ok;
}

static int check_models(int count, char **paths) {
    int worst = 0;
    for (int i = 0; i < count; i++) {
        cnnm_model *model = NULL;
        cnnm_error err;
        if (cnnm_open_file(paths[i], &model, &err) != CNNM_OK) {
            fprintf(stderr, "%s: %s [%s]\n", program, err.message, cnnm_status_name(err.code));
            worst = EXIT_INVALID;
            continue;
        }
        printf("%s: ok: %zu nodes, %zu tensors\n", paths[i], cnnm_node_count(model), cnnm_tensor_count(model));
        cnnm_close(model);
    }
    return worst;
}

int main(int argc, char **argv) {
    if (argc > 0 && argv[0]) program = argv[0];
    if (argc >= 3 && strcmp(argv[1], "--check") == 0) return check_models(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "--input-shape") == 0) {
        cnnm_model *model = NULL;
        cnnm_error err;
        if (cnnm_open_file(argv[2], &model, &err) != CNNM_OK) {
            fprintf(stderr, "%s: %s [%s]\n", program, err.message, cnnm_status_name(err.code));
            return EXIT_INVALID;
        }
        const cnnm_value_info *in = cnnm_input(model, 0);
        for (size_t d = 0; in && d < in->rank; d++)
            printf("%s%lld", d ? " " : "", (long long)(in->dims[d].size > 0 ? in->dims[d].size : 1));
        printf("\n");
        cnnm_close(model);
        return 0;
    }
    if (argc != 4 || argv[1][0] == '-') return usage();
    cnnm_model *model = NULL;
    cnnm_error err;
    if (cnnm_open_file(argv[1], &model, &err) != CNNM_OK) {
        fprintf(stderr, "%s: %s [%s]\n", program, err.message, cnnm_status_name(err.code));
        return EXIT_INVALID;
    }
    if (cnnm_input_count(model) != 1 || cnnm_output_count(model) != 1) {
        fprintf(stderr, "%s: %s: the model has %zu inputs and %zu outputs; cnnm-run runs one-input, one-output models\n",
                program, argv[1], cnnm_input_count(model), cnnm_output_count(model));
        cnnm_close(model);
        return EXIT_INVALID;
    }
    if (cnnm_check_runnable(model, &err) != CNNM_OK) {
        fprintf(stderr, "%s: %s [%s]\n", program, err.message, cnnm_status_name(err.code));
        cnnm_close(model);
        return EXIT_INVALID;
    }
    size_t length = 0;
    unsigned char *file = read_file(argv[2], &length);
    cnnm_array input;
    memset(&input, 0, sizeof input);
    if (!file || !parse_npy(argv[2], file, length, &input)) {
        free(file);
        cnnm_close(model);
        return EXIT_INVALID;
    }
    free(file);
    cnnm_array output;
    memset(&output, 0, sizeof output);
    int code = 0;
    if (cnnm_run(model, &input, 1, &output, 1, &err) != CNNM_OK) {
        fprintf(stderr, "%s: %s [%s]\n", program, err.message, cnnm_status_name(err.code));
        code = err.code == CNNM_ERR_OUT_OF_MEMORY ? 1 : EXIT_INVALID;
    } else {
        if (!write_npy(argv[3], &output)) code = 1;
        cnnm_array_free(&output);
    }
    free(input.data);
    cnnm_close(model);
    return code;
}
