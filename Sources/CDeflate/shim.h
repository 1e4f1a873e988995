// libdeflate (Debian libdeflate-dev): a PCLMULQDQ CRC-32 and a whole-buffer zlib decompressor,
// several times faster than zlib's (CNNFormat/Zlib.swift wraps it).
#include <libdeflate.h>
