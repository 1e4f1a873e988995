// Tensor element types and encodings (FORMAT.md section 3): Float32 values ⇄ stored bytes.

/// How a tensor is stored: element type and encoding. The in-memory values are always Float32.
public struct StorageFormat: Hashable, Sendable, CustomStringConvertible {
    /// The stored element types: half precision halves files, bf16 keeps f32's range (FORMAT.md section 3).
    public enum ElementType: String, Sendable, CaseIterable {
        case float32 = "f32"
        case float16 = "f16"
        case bfloat16 = "bf16"
        /// Bytes per stored element, for length checks on raw data.
        public var byteWidth: Int { self == .float32 ? 4 : 2 }
    }
    /// raw (mappable), deflate, or byte-shuffled deflate (compresses floats better).
    public enum Encoding: String, Sendable, CaseIterable {
        case raw, deflate, shuffle
    }
    /// The stored element type; values in memory are always Float32.
    public var elementType: ElementType
    /// The stored encoding; only raw f32 is served zero-copy.
    public var encoding: Encoding

    /// Defaults to f32 raw, the format readers can map without decoding.
    public init(_ elementType: ElementType = .float32, _ encoding: Encoding = .raw) {
        self.elementType = elementType
        self.encoding = encoding
    }
    /// The zero-copy format, named because writers default to it.
    public static let f32Raw = StorageFormat()
    /// The CLI's spelling ("f16 shuffle"), matching `--dtype`/`--compress` values.
    public var description: String { "\(elementType.rawValue) \(encoding.rawValue)" }
}

enum TensorCodec {
    /// Stored bytes of `values` in `format` (raw f32 bytes are the caller's to write directly).
    /// Compressed formats are built piece by piece (`DeflatePieces`), here one after another; the
    /// writer compresses the same pieces in parallel and gets the same bytes.
    static func encode(_ values: UnsafeBufferPointer<Float>, as format: StorageFormat) throws(FormatError) -> [UInt8] {
        if format.encoding == .raw { return rawBytes(values, as: format.elementType) }
        let pieces = DeflatePieces(count: values.count, format: format)
        var results: [DeflatePieces.Piece] = []
        for index in 0..<pieces.count { results.append(try pieces.compress(values, piece: index)) }
        return pieces.assemble(results)
    }

    /// Little-endian element bytes.
    static func rawBytes(_ values: UnsafeBufferPointer<Float>, as type: StorageFormat.ElementType) -> [UInt8] {
        let width = type.byteWidth
        return [UInt8](unsafeUninitializedCapacity: values.count * width) { out, initialized in
            streamBytes(values, type: type, shuffled: false, range: 0..<(values.count * width), into: out.baseAddress!)
            initialized = values.count * width
        }
    }

    /// Bytes `range` of the stream that stores `values` as `type`: element bytes little-endian,
    /// interleaved (byte b of element e at `width·e + b`) or shuffled (at `count·b + e`).
    static func streamBytes(
        _ values: UnsafeBufferPointer<Float>, type: StorageFormat.ElementType, shuffled: Bool,
        range: Range<Int>, into out: UnsafeMutablePointer<UInt8>
    ) {
        let n = values.count, width = type.byteWidth
        @inline(__always) func bits(_ e: Int) -> UInt32 {
            switch type {
            case .float32: return values[e].bitPattern
            case .float16: return UInt32(Float16(values[e]).bitPattern)
            case .bfloat16: return UInt32(bfloat16Bits(values[e]))
            }
        }
        var position = range.lowerBound, k = 0
        if shuffled {
            // A run of one plane at a time: plane b holds byte b of elements e0..<e1.
            while position < range.upperBound {
                let plane = position / n, e0 = position % n
                let e1 = min(n, e0 + (range.upperBound - position))
                let shift = UInt32(8 * plane)
                switch type {
                case .float32:
                    for e in e0..<e1 { out[k] = UInt8(truncatingIfNeeded: values[e].bitPattern >> shift); k += 1 }
                default:
                    for e in e0..<e1 { out[k] = UInt8(truncatingIfNeeded: bits(e) >> shift); k += 1 }
                }
                position += e1 - e0
            }
        } else if type == .float32, let base = values.baseAddress {
            // Little-endian floats are their own stream.
            let raw = UnsafeRawPointer(base)
            for p in range {
                out[k] = UInt8(
                    truncatingIfNeeded: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: p & ~3, as: UInt32.self))
                        >> UInt32(8 * (p & 3)));
                k += 1
            }
        } else {
            for p in range { out[k] = UInt8(truncatingIfNeeded: bits(p / width) >> UInt32(8 * (p % width))); k += 1 }
        }
    }

    /// Decodes `count` elements stored as `format` from `stored` into Float32. A compressed
    /// tensor inflates in one call (libdeflate, ≈ 1 GB/s): f32 deflate straight into the result,
    /// anything else into a scratch buffer of the stream's size that is then put into place —
    /// peak memory is the Float32 result plus the stream.
    static func decode(_ stored: UnsafeRawBufferPointer, count: Int, as format: StorageFormat, tensor: String)
        throws(FormatError) -> [Float]
    {
        if format.encoding == .raw { return floats(fromRaw: stored, count: count, type: format.elementType) }
        var failure: String?
        let width = format.elementType.byteWidth
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if format == StorageFormat(.float32, .deflate) {
                failure = Zlib.inflate(stored, into: UnsafeMutableRawBufferPointer(out))
                if failure == nil, UInt32(littleEndian: 1) != 1 {
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
                }
            } else {
                let stream = UnsafeMutableRawBufferPointer.allocate(byteCount: count * width, alignment: 64)
                defer { stream.deallocate() }
                failure = Zlib.inflate(stored, into: stream)
                if failure == nil {
                    if format.encoding == .shuffle {
                        unshuffle(
                            UnsafeRawBufferPointer(stream), count: count, type: format.elementType,
                            into: out.baseAddress!)
                    } else {
                        let decoded = floats(
                            fromRaw: UnsafeRawBufferPointer(stream), count: count, type: format.elementType)
                        decoded.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: count) }
                    }
                }
            }
            initialized = failure == nil ? count : 0
        }
        if let failure { throw .tensorCorrupt(tensor: tensor, reason: failure) }
        return values
    }

    /// Float32 values from a shuffled stream: byte b of element e is at `count·b + e`.
    private static func unshuffle(
        _ stream: UnsafeRawBufferPointer, count n: Int, type: StorageFormat.ElementType,
        into out: UnsafeMutablePointer<Float>
    ) {
        let planes = stream.bindMemory(to: UInt8.self).baseAddress!
        switch type {
        case .float32:
            let b0 = planes, b1 = planes + n, b2 = planes + 2 * n, b3 = planes + 3 * n
            for e in 0..<n {
                out[e] = Float(
                    bitPattern: UInt32(b0[e]) | UInt32(b1[e]) << 8 | UInt32(b2[e]) << 16 | UInt32(b3[e]) << 24)
            }
        case .float16:
            let b0 = planes, b1 = planes + n
            for e in 0..<n { out[e] = Float(Float16(bitPattern: UInt16(b0[e]) | UInt16(b1[e]) << 8)) }
        case .bfloat16:
            let b0 = planes, b1 = planes + n
            for e in 0..<n { out[e] = Float(bitPattern: (UInt32(b0[e]) | UInt32(b1[e]) << 8) << 16) }
        }
    }

    static func floats(fromRaw raw: UnsafeRawBufferPointer, count: Int, type: StorageFormat.ElementType) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch type {
            case .float32:
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            case .float16:
                for i in 0..<count {
                    out[i] = Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    )
                }
            case .bfloat16:
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            }
            initialized = count
        }
    }
}

/// A compressed tensor's stream cut into pieces of `pieceBytes` that compress independently
/// (`Zlib.deflatePiece`), so one large tensor keeps every core busy. The cut depends only on
/// the stream's length, never on the thread count: serial and parallel writes give the same bytes.
struct DeflatePieces {
    /// 1 MiB of stream per piece: large enough that the lost matches across cuts and the block
    /// headers cost nothing measurable, small enough that ResNet-18 makes ~50 pieces.
    static let pieceBytes = 1 << 20

    struct Piece {
        var bytes: [UInt8]
        var adler: UInt32
        var length: Int
    }

    let elementCount: Int
    let format: StorageFormat
    var streamLength: Int { elementCount * format.elementType.byteWidth }
    var count: Int { max(1, (streamLength + Self.pieceBytes - 1) / Self.pieceBytes) }
    var settings: Zlib.Settings { format.encoding == .shuffle ? .shuffled : .interleaved }

    init(count: Int, format: StorageFormat) {
        self.elementCount = count
        self.format = format
    }

    /// Piece `index` of the stream of `values` (which holds `elementCount` values).
    func compress(_ values: UnsafeBufferPointer<Float>, piece index: Int) throws(FormatError) -> Piece {
        let start = index * Self.pieceBytes
        let end = min(streamLength, start + Self.pieceBytes)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, end - start), alignment: 64)
        defer { bytes.deallocate() }
        let out = bytes.bindMemory(to: UInt8.self).baseAddress!
        TensorCodec.streamBytes(
            values, type: format.elementType, shuffled: format.encoding == .shuffle, range: start..<end, into: out)
        let input = UnsafeRawBufferPointer(start: out, count: end - start)
        guard let compressed = Zlib.deflatePiece(input, last: index == count - 1, settings: settings) else {
            throw .compressionFailed("zlib could not deflate \(end - start) bytes")
        }
        return Piece(bytes: compressed, adler: Zlib.adler32(input), length: end - start)
    }

    /// The zlib stream: header, the pieces in order, the Adler-32 of the whole stream (big-endian).
    func assemble(_ pieces: [Piece]) -> [UInt8] {
        var out = Zlib.header(settings: settings)
        out.reserveCapacity(2 + pieces.reduce(0) { $0 + $1.bytes.count } + 4)
        var adler: UInt32 = 1
        for piece in pieces {
            out += piece.bytes
            adler = Zlib.adler32Combine(adler, piece.adler, lengthOfB: piece.length)
        }
        out += [
            UInt8(adler >> 24), UInt8(truncatingIfNeeded: adler >> 16), UInt8(truncatingIfNeeded: adler >> 8),
            UInt8(truncatingIfNeeded: adler),
        ]
        return out
    }
}

/// bfloat16 bits of `v`, rounded to nearest even; NaN stays NaN.
@inline(__always)
func bfloat16Bits(_ v: Float) -> UInt16 {
    let bits = v.bitPattern
    if v.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}

extension StorageFormat {
    /// The values as they read back after storage (f16/bf16 rounding), for callers that
    /// need to know what a written file will hold.
    public func roundTripped(_ values: [Float]) -> [Float] {
        switch elementType {
        case .float32: return values
        case .float16: return values.map { Float(Float16($0)) }
        case .bfloat16: return values.map { Float(bitPattern: UInt32(bfloat16Bits($0)) << 16) }
        }
    }
}
