// The zlib edge: CRC-32 and deflate/inflate of tensor bytes. Nothing C-shaped leaves this file.
import CZlib
import Foundation

/// zlib's CRC-32 (ISO-HDLC; `crc32("123456789") == 0xCBF43926`), over any byte count.
public func crc32(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
    guard var base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return previous }
    var crc = UInt(previous)
    var remaining = bytes.count
    // zlib takes a 32-bit length: feed it in chunks so tensors over 4 GiB work.
    while remaining > 0 {
        let chunk = min(remaining, 1 << 30)
        crc = CZlib.crc32(crc, base, uInt(chunk))
        base += chunk
        remaining -= chunk
    }
    return UInt32(truncatingIfNeeded: crc)
}

/// The format's checksum (zlib's CRC-32) over any byte container, for writers and tests alike.
public func crc32<C: ContiguousBytes>(_ bytes: C) -> UInt32 {
    bytes.withUnsafeBytes { crc32($0) }
}

enum Zlib {
    /// A zlib stream (RFC 1950) of `input`, at the given level (0-9).
    /// Returns nil only when zlib itself fails (out of memory).
    static func deflate(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return nil
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(min(input.count, Int(UInt32.max)))))
        var output = [UInt8](repeating: 0, count: max(bound, 64))
        var produced = 0
        var consumed = 0
        var status: Int32 = Z_OK
        let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        repeat {
            if stream.avail_in == 0, consumed < input.count, let base {
                let chunk = min(input.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: base + consumed)
                stream.avail_in = uInt(chunk)
                consumed += chunk
            }
            if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
            let flush = consumed == input.count ? Z_FINISH : Z_NO_FLUSH
            status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                let room = min(out.count - produced, 1 << 30)
                stream.next_out = out.baseAddress! + produced
                stream.avail_out = uInt(room)
                let result = CZlib.deflate(&stream, flush)
                produced += room - Int(stream.avail_out)
                return result
            }
            if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR { return nil }
        } while status != Z_STREAM_END
        output.removeSubrange(produced...)
        return output
    }

    /// Inflates a zlib stream into exactly `output.count` bytes; anything else is an error.
    static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        inflate(input, length: output.count, direct: output) { _, _ in }
    }

    /// Inflates a zlib stream of exactly `length` bytes through a 64 KiB window: `chunk` gets
    /// each run of decompressed bytes and its offset in the stream. Nothing of `length` bytes
    /// is allocated, so a caller can place the bytes straight where they belong.
    static func inflate(_ input: UnsafeRawBufferPointer, length: Int,
                        chunk: (UnsafeRawBufferPointer, Int) -> Void) -> String? {
        inflate(input, length: length, direct: nil, chunk: chunk)
    }

    private static func inflate(_ input: UnsafeRawBufferPointer, length: Int, direct: UnsafeMutableRawBufferPointer?,
                                chunk: (UnsafeRawBufferPointer, Int) -> Void) -> String? {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return "inflateInit failed"
        }
        defer { inflateEnd(&stream) }
        guard let inBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else {
            return "empty zlib stream"
        }
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: direct == nil ? 1 << 16 : 0, alignment: 16)
        defer { window.deallocate() }
        var consumed = 0
        var produced = 0
        while true {
            if stream.avail_in == 0 && consumed < input.count {
                let size = min(input.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: inBase + consumed)
                stream.avail_in = uInt(size)
                consumed += size
            }
            // One spare byte past the expected size detects a stream that decodes to more.
            var spare: UInt8 = 0
            let status: Int32
            if produced < length {
                let target: UnsafeMutableRawPointer
                let room: Int
                if let direct, let base = direct.baseAddress {
                    target = base + produced
                    room = min(length - produced, 1 << 30)
                } else if let base = window.baseAddress {
                    target = base
                    room = min(length - produced, window.count)
                } else {
                    return "no output buffer"
                }
                stream.next_out = target.assumingMemoryBound(to: UInt8.self)
                stream.avail_out = uInt(room)
                status = CZlib.inflate(&stream, Z_NO_FLUSH)
                let made = room - Int(stream.avail_out)
                if direct == nil, made > 0 { chunk(UnsafeRawBufferPointer(start: target, count: made), produced) }
                produced += made
            } else {
                status = withUnsafeMutablePointer(to: &spare) { p in
                    stream.next_out = p
                    stream.avail_out = 1
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                if stream.avail_out == 0 { return "the stream decompresses to more than \(length) bytes" }
            }
            switch status {
            case Z_STREAM_END:
                if produced != length {
                    return "the stream decompresses to \(produced) bytes, expected \(length)"
                }
                if stream.avail_in != 0 || consumed != input.count { return "bytes follow the end of the zlib stream" }
                return nil
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.avail_in == 0 && consumed == input.count { return "the zlib stream is truncated" }
                continue
            case Z_DATA_ERROR:
                return "corrupt zlib stream"
            default:
                return "inflate returned \(status)"
            }
        }
    }
}
