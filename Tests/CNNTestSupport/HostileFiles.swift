// Builds damaged and hostile model files on purpose: valid checksums around invalid content,
// so each test reaches the check it means to exercise.
import CNNFormat
import Foundation
import SwiftProtobuf

/// Byte-level builders for damaged files, shared so each hostile-input test says only what it breaks.
public enum HostileFiles {
    /// A file image from a hand-made header and data section, with correct preamble and
    /// header CRCs (tensor CRCs are whatever the header says).
    package static func assemble(
        header: Cnnconv_V1_Model, data: [UInt8], major: UInt16 = FormatLimits.majorVersion,
        minor: UInt16 = FormatLimits.minorVersion
    ) -> [UInt8] {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return assemble(
            headerBytes: (try? header.serializedBytes(options: options)) ?? [], data: data, major: major, minor: minor)
    }

    /// The same from header bytes as given (to carry fields this reader does not know).
    public static func assemble(
        headerBytes: [UInt8], data: [UInt8], major: UInt16 = FormatLimits.majorVersion,
        minor: UInt16 = FormatLimits.minorVersion
    ) -> [UInt8] {
        var p = Preamble()
        p.majorVersion = major
        p.minorVersion = minor
        p.headerLength = UInt64(headerBytes.count)
        p.dataOffset = Preamble.dataOffset(forHeaderLength: p.headerLength)
        p.dataLength = UInt64(data.count)
        p.headerCRC32 = crc32(headerBytes)
        var out = p.encoded() + headerBytes
        out += [UInt8](repeating: 0, count: Int(p.dataOffset) - out.count)
        return out + data
    }

    /// A tensor entry for `values` stored raw f32 at `offset`, with its CRC.
    package static func entry(_ name: String, dims: [UInt64], offset: UInt64, bytes: [UInt8]) -> Cnnconv_V1_TensorEntry
    {
        var e = Cnnconv_V1_TensorEntry()
        e.name = name
        e.dtype = .float32
        e.dims = dims
        e.offset = offset
        e.storedLength = UInt64(bytes.count)
        e.crc32 = crc32(bytes)
        return e
    }

    /// Values as the file stores them (little-endian f32), for hand-made data sections.
    public static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// Rewrites the major/minor version of a valid file image and fixes the preamble CRC.
    public static func withVersion(_ bytes: [UInt8], major: UInt16, minor: UInt16) -> [UInt8] {
        var b = bytes
        b[8] = UInt8(major & 0xFF); b[9] = UInt8(major >> 8)
        b[10] = UInt8(minor & 0xFF); b[11] = UInt8(minor >> 8)
        return fixingPreambleCRC(b)
    }

    /// Recomputes the preamble's CRC after a test edited it, so the reader gets past that check.
    public static func fixingPreambleCRC(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        let crc = crc32(Array(b[0..<56]))
        for i in 0..<4 { b[56 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
        return b
    }
}
