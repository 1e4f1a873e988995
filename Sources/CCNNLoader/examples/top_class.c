/* top_class.c — loads a cnnconv model, runs it on one input (raw little-endian float32, batch 1)
 * and prints the top class. Build against the installed library:
 *     cc top_class.c $(pkg-config --cflags --libs cnnm) -o top_class
 *     ./top_class model.folded.cnnm input.f32          -> "class 7 (score 4.25)" */
#include <cnnm.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    cnnm_model *model;
    cnnm_error err;
    if (argc != 3) return fprintf(stderr, "usage: top_class MODEL INPUT.f32\n"), 2;
    if (cnnm_open_file(argv[1], &model, &err) != CNNM_OK) return fprintf(stderr, "%s\n", err.message), 3;
    const cnnm_value_info *info = cnnm_input(model, 0);  /* symbolic dims (the batch) read as 1 */
    cnnm_array x = {NULL, info->rank, {0}}, y;
    size_t n = 1;
    for (size_t d = 0; d < info->rank; d++) n *= x.dims[d] = info->dims[d].size > 0 ? (uint64_t)info->dims[d].size : 1;
    FILE *f = fopen(argv[2], "rb");
    x.data = malloc(n * sizeof(float));
    if (!f || !x.data || fread(x.data, sizeof(float), n, f) != n) return fprintf(stderr, "%s: expected %zu floats\n", argv[2], n), 3;
    if (cnnm_run(model, &x, 1, &y, 1, &err) != CNNM_OK) return fprintf(stderr, "%s\n", err.message), 3;
    size_t best = 0;
    for (size_t i = 1; i < cnnm_array_count(&y); i++) if (y.data[i] > y.data[best]) best = i;
    printf("class %zu (score %g)\n", best, y.data[best]);
    cnnm_array_free(&y);
    free(x.data);
    fclose(f);
    cnnm_close(model);
    return 0;
}
