// zlib, for CRC32 and deflate/inflate of tensor data (CNNFormat/Zlib.swift wraps it).
#include <zlib.h>
