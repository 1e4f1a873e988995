// The fixed 64-byte preamble of a cnnconv file (FORMAT.md, section 1) and the format's limits.

/// Named limits and constants of format 1.x. FORMAT.md states the same numbers.
public enum FormatLimits {
    /// PNG-style: a non-ASCII first byte, CR LF and a ^Z catch text-mode transfers and 7-bit channels.
    public static let magic: [UInt8] = [0x89, 0x43, 0x4E, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The major version this build reads and writes; another major version is refused.
    public static let majorVersion: UInt16 = 1
    /// The minor version written; files with a newer minor still load (unknown fields are kept).
    public static let minorVersion: UInt16 = 0
    /// Fixed so that a reader can check the preamble before trusting any length in it.
    public static let preambleLength = 64
    /// Alignment of the data section and of every tensor in it.
    public static let alignment: UInt64 = 64
    /// Caps what a hostile preamble can make a reader allocate before any CRC is checked.
    public static let maxHeaderLength: UInt64 = 256 << 20
    /// Tensors hold fewer elements than this (2^40).
    public static let maxTensorElements: UInt64 = 1 << 40
    /// Deflate never expands more than 1032:1; a larger claim is a hostile or damaged file.
    public static let maxDeflateRatio: UInt64 = 1032
    /// What a file may expand to in memory (FORMAT.md section 3, "Decoded size"): the Float32
    /// bytes of every tensor that is not served zero-copy (all but raw f32), summed, are at most
    /// `maxDecodedRatio` × the file's size (but always `decodedBytesFloor` for small files), and
    /// never more than `maxDecodedBytes`. Deflate's 1032:1 per tensor times f16→f32 would let a
    /// 1 MB file ask for 2 GB; this bounds it to 128 MB.
    public static let maxDecodedRatio: UInt64 = 128
    /// The budget of a small file, so that a tiny compressed model still decodes.
    public static let decodedBytesFloor: UInt64 = 64 << 20
    /// The budget of any file, however large: no file may ask for more memory than this.
    public static let maxDecodedBytes: UInt64 = 16 << 30

    /// The decoded-bytes budget of a file of `fileSize` bytes.
    public static func decodedBudget(fileSize: UInt64) -> UInt64 {
        let (scaled, overflow) = fileSize.multipliedReportingOverflow(by: maxDecodedRatio)
        return min(maxDecodedBytes, max(decodedBytesFloor, overflow ? .max : scaled))
    }
    /// Bounds protobuf recursion in the header decoder (a hostile file can nest messages deeply).
    public static let headerMessageDepthLimit = 100
}

/// The preamble's fields, in file order.
public struct Preamble: Equatable, Sendable {
    /// Refused unless it equals `FormatLimits.majorVersion`.
    public var majorVersion: UInt16 = FormatLimits.majorVersion
    /// Informational: newer minors load.
    public var minorVersion: UInt16 = FormatLimits.minorVersion
    /// Reserved for format 1: must be 0, so that a future flag is never silently ignored.
    public var flags: UInt32 = 0
    /// Always 64 in format 1; stored so that a later version can move the header.
    public var headerOffset: UInt64 = UInt64(FormatLimits.preambleLength)
    /// The header's length, checked against `maxHeaderLength` and the file size before reading.
    public var headerLength: UInt64 = 0
    /// Where the 64-aligned data section starts; must follow from the header length.
    public var dataOffset: UInt64 = 0
    /// The data section's length: offset plus length must be the file's size (truncation shows).
    public var dataLength: UInt64 = 0
    /// CRC-32 of the header bytes, checked before the protobuf decoder sees them.
    public var headerCRC32: UInt32 = 0

    /// A preamble with the current version and zero lengths, for writers to fill in.
    public init() {}

    /// Where the data section starts for a header of `headerLength` bytes.
    public static func dataOffset(forHeaderLength headerLength: UInt64) -> UInt64 {
        alignUp(UInt64(FormatLimits.preambleLength) + headerLength)
    }

    /// Parses and checks the preamble of a file of `fileSize` bytes, in the order FORMAT.md
    /// section 6 gives, with overflow-checked arithmetic.
    public static func parse(_ bytes: UnsafeRawBufferPointer, fileSize: UInt64) throws(FormatError) -> Preamble {
        if fileSize == 0 { throw .empty }
        guard bytes.count >= FormatLimits.preambleLength, fileSize >= UInt64(FormatLimits.preambleLength) else {
            if bytes.count >= 4,
                !bytes.prefix(min(bytes.count, 8)).elementsEqual(FormatLimits.magic.prefix(min(bytes.count, 8)))
            {
                throw .badMagic(found: Array(bytes.prefix(8)))
            }
            throw .tooShort(fileSize: fileSize)
        }
        var reader = LittleEndianReader(bytes)
        let magic = reader.bytes(8)
        guard magic == FormatLimits.magic else { throw .badMagic(found: magic) }
        let storedPreambleCRC = bytes.loadUnaligned(fromByteOffset: 56, as: UInt32.self).littleEndian
        let computedPreambleCRC = crc32(UnsafeRawBufferPointer(rebasing: bytes[0..<56]))
        guard storedPreambleCRC == computedPreambleCRC else {
            throw .preambleChecksumMismatch(stored: storedPreambleCRC, computed: computedPreambleCRC)
        }
        var p = Preamble()
        p.majorVersion = reader.u16()
        p.minorVersion = reader.u16()
        guard p.majorVersion == FormatLimits.majorVersion else {
            throw .unsupportedMajorVersion(found: p.majorVersion, supported: FormatLimits.majorVersion)
        }
        p.flags = reader.u32()
        guard p.flags == 0 else { throw .reservedFieldNotZero(field: "flags", value: UInt64(p.flags)) }
        p.headerOffset = reader.u64()
        p.headerLength = reader.u64()
        p.dataOffset = reader.u64()
        p.dataLength = reader.u64()
        p.headerCRC32 = reader.u32()
        let reserved1 = reader.u32()
        _ = reader.u32()  // preamble CRC, checked above
        let reserved2 = reader.u32()
        guard reserved1 == 0 else {
            throw .reservedFieldNotZero(field: "reserved field at byte 52", value: UInt64(reserved1))
        }
        guard reserved2 == 0 else {
            throw .reservedFieldNotZero(field: "reserved field at byte 60", value: UInt64(reserved2))
        }
        guard p.headerOffset == UInt64(FormatLimits.preambleLength) else { throw .headerOffsetInvalid(p.headerOffset) }
        guard p.headerLength <= FormatLimits.maxHeaderLength else {
            throw .headerTooLarge(length: p.headerLength, limit: FormatLimits.maxHeaderLength)
        }
        let expectedDataOffset = dataOffset(forHeaderLength: p.headerLength)
        guard p.dataOffset == expectedDataOffset else {
            throw .dataOffsetInvalid(found: p.dataOffset, expected: expectedDataOffset)
        }
        let (end, overflow) = p.dataOffset.addingReportingOverflow(p.dataLength)
        guard !overflow, end == fileSize else {
            throw .lengthMismatch(declared: overflow ? UInt64.max : end, fileSize: fileSize)
        }
        return p
    }

    /// The 64 preamble bytes, preamble CRC included.
    public func encoded() -> [UInt8] {
        var out = FormatLimits.magic
        out.reserveCapacity(FormatLimits.preambleLength)
        appendLittleEndian(majorVersion, to: &out)
        appendLittleEndian(minorVersion, to: &out)
        appendLittleEndian(flags, to: &out)
        appendLittleEndian(headerOffset, to: &out)
        appendLittleEndian(headerLength, to: &out)
        appendLittleEndian(dataOffset, to: &out)
        appendLittleEndian(dataLength, to: &out)
        appendLittleEndian(headerCRC32, to: &out)
        appendLittleEndian(UInt32(0), to: &out)
        let crc = out.withUnsafeBytes { crc32($0) }
        appendLittleEndian(crc, to: &out)
        appendLittleEndian(UInt32(0), to: &out)
        return out
    }
}

/// The first multiple of 64 at or after `value`. Callers keep `value` far below 2^64.
@inline(__always)
public func alignUp(_ value: UInt64) -> UInt64 {
    (value + FormatLimits.alignment - 1) & ~(FormatLimits.alignment - 1)
}

func appendLittleEndian<I: FixedWidthInteger>(_ value: I, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

/// Reads little-endian integers from a buffer the caller has sized (bounds are checked once).
struct LittleEndianReader {
    let buffer: UnsafeRawBufferPointer
    var position = 0
    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    mutating func bytes(_ n: Int) -> [UInt8] {
        precondition(position + n <= buffer.count)
        defer { position += n }
        return Array(buffer[position..<position + n])
    }
    mutating func integer<I: FixedWidthInteger>(_: I.Type) -> I {
        precondition(position + MemoryLayout<I>.size <= buffer.count)
        defer { position += MemoryLayout<I>.size }
        return I(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: I.self))
    }
    mutating func u16() -> UInt16 { integer(UInt16.self) }
    mutating func u32() -> UInt32 { integer(UInt32.self) }
    mutating func u64() -> UInt64 { integer(UInt64.self) }
}
