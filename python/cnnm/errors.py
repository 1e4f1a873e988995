"""Every way a cnnconv file can be wrong, one kind each — the cases and wording of the Swift
reader's FormatError (Sources/CNNFormat/FormatError.swift), so a user reads the same message from
cnnconv, the C loader and Python: ``model.cnnm: tensor 'conv1.weight' checksum is 0x1a2b3c4d, the
file says 0x00000000 — its data is damaged``."""

__all__ = ["FormatError", "GraphError"]


def grouped(value):
    """48211902 -> '48,211,902'."""
    return f"{value:,}"


def grouped_bytes(value):
    return grouped(value) + " bytes"


def hex32(value):
    return f"0x{value:08x}"


class FormatError(ValueError):
    """An invalid or damaged file (or a failed write). ``kind`` is the Swift FormatError case
    (``"tensorChecksumMismatch"``), ``path`` the file, ``reason`` the message without the path."""

    def __init__(self, kind, reason, path=None):
        self.kind, self.reason, self.path = kind, reason, path
        super().__init__(f"{path}: {reason}" if path else reason)

    def at(self, path):
        """The same error naming `path`."""
        return type(self)(self.kind, self.reason, path)


class GraphError(FormatError):
    """A sound container describing an invalid graph (FORMAT.md section 5)."""


# The messages, case by case, as FormatError.description words them.


def empty():
    return FormatError("empty", "the file is empty")


def too_short(size):
    return FormatError("tooShort", f"the file is {size} bytes, shorter than the 64-byte preamble — not a cnnconv file, or truncated")


def bad_magic(found):
    text = " ".join(f"{b:02x}" for b in found)
    if len(found) >= 4 and found[1:4] == b"CNN":
        return FormatError("badMagic", f"the magic bytes are damaged ({text}) — the file went through a text-mode transfer (CR/LF conversion)")
    return FormatError("badMagic", f"not a cnnconv file: it starts with {text}, not 89 43 4e 4e 0d 0a 1a 0a")


def preamble_checksum(stored, computed):
    return FormatError("preambleChecksumMismatch",
                       f"the preamble checksum is {hex32(computed)}, the file says {hex32(stored)} — the first 64 bytes are damaged")


def unsupported_major(found, supported):
    if found > supported:
        return FormatError("unsupportedMajorVersion", f"the file is format {found}.x, written by a newer cnnconv; this reader "
                           f"supports format {supported}.x — upgrade cnnconv")
    return FormatError("unsupportedMajorVersion", f"the file is format {found}.x; this reader supports format {supported}.x only")


def reserved_not_zero(field, value):
    return FormatError("reservedFieldNotZero", f"the preamble's {field} is {value}, must be 0 in format 1.x — the file is damaged or from an incompatible writer")


def header_offset(offset):
    return FormatError("headerOffsetInvalid", f"the header offset is {offset}, must be 64")


def header_too_large(length, limit):
    return FormatError("headerTooLarge", f"the header claims {grouped_bytes(length)}, more than the {grouped_bytes(limit)} limit — the file is damaged")


def data_offset(found, expected):
    return FormatError("dataOffsetInvalid", f"the data section starts at byte {grouped(found)}, expected {grouped(expected)} — the preamble is inconsistent")


def length_mismatch(declared, size):
    tail = "the file is truncated" if declared > size else "trailing bytes after the data section"
    return FormatError("lengthMismatch", f"the file is {grouped_bytes(size)} but its preamble declares {grouped_bytes(declared)} — {tail}")


def header_checksum(stored, computed):
    return FormatError("headerChecksumMismatch", f"the header checksum is {hex32(computed)}, the file says {hex32(stored)} — the header is damaged")


def malformed_header(reason):
    return FormatError("malformedHeader", f"the header does not decode: {reason}")


def padding_not_zero(offset):
    return FormatError("paddingNotZero", f"padding byte {grouped(offset)} is not zero — the file is damaged")


def duplicate_tensor(name):
    return FormatError("duplicateTensorName", f"two tensors are named '{name}'")


def unknown_dtype(tensor, raw):
    return FormatError("unknownDataType", f"tensor '{tensor}' has unknown data type {raw}")


def unknown_encoding(tensor, raw):
    return FormatError("unknownEncoding", f"tensor '{tensor}' has unknown encoding {raw}")


def tensor_too_large(tensor, elements, limit):
    return FormatError("tensorTooLarge", f"tensor '{tensor}' claims {elements} elements, over the limit of {grouped(limit)}")


def tensor_length(tensor, stored, expected):
    return FormatError("tensorLengthMismatch", f"tensor '{tensor}' stores {grouped_bytes(stored)}, its shape and type need {grouped_bytes(expected)}")


def tensor_decompressed_too_large(tensor, size, stored):
    return FormatError("tensorDecompressedTooLarge",
                       f"tensor '{tensor}' would decompress {grouped_bytes(stored)} into {grouped_bytes(size)}, beyond deflate's 1032:1 limit")


def tensor_misplaced(tensor, offset, expected):
    return FormatError("tensorMisplaced", f"tensor '{tensor}' starts at data offset {grouped(offset)}, expected {grouped(expected)} "
                       "(tensors are packed in order, 64-byte aligned) — overlapping or misplaced")


def tensor_out_of_bounds(tensor, end, size):
    return FormatError("tensorOutOfBounds", f"tensor '{tensor}' ends at byte {grouped(end)}, past the end of the file "
                       f"({grouped_bytes(size)}) — the file is truncated or damaged")


def data_uncovered(used, length):
    return FormatError("dataSectionUncovered", f"the tensors cover {grouped_bytes(used)} of the {grouped_bytes(length)} data section")


def tensor_checksum(tensor, stored, computed):
    return FormatError("tensorChecksumMismatch",
                       f"tensor '{tensor}' checksum is {hex32(computed)}, the file says {hex32(stored)} — its data is damaged")


def tensor_corrupt(tensor, reason):
    return FormatError("tensorCorrupt", f"tensor '{tensor}' cannot be decoded: {reason}")


def not_regular_file():
    return FormatError("notARegularFile", "is a directory or not a regular file")


def io_error(reason):
    return FormatError("ioError", reason)
