/*
 * cnnm_version.c — the version of the library linked at run time (include/cnnm.h, "version").
 */
#include "cnnm.h"

const char *cnnm_version(void) { return CNNM_VERSION_STRING; }

unsigned cnnm_version_number(void) { return CNNM_VERSION_NUMBER; }
