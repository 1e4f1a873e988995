// oneDNN's C API (Debian's libdnnl-dev 2.x), for the executor's Float32 convolutions, and the
// one OpenMP call that sets how many threads oneDNN (built with Debian's OpenMP runtime) uses.
#include <dnnl.h>

void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);

/// DNNL_MEMORY_ALLOCATE is a pointer cast, which Swift does not import.
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
