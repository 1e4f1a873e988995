// Tensor element types and encodings (FORMAT.md section 3): Float32 values ⇄ stored bytes.

/// How a tensor is stored: element type and encoding. The in-memory values are always Float32.
public struct StorageFormat: Hashable, Sendable, CustomStringConvertible {
    /// The stored element types: half precision halves files, bf16 keeps f32's range (FORMAT.md section 3).
    public enum ElementType: String, Sendable, CaseIterable {
        case float32 = "f32", float16 = "f16", bfloat16 = "bf16"
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
    static func encode(_ values: UnsafeBufferPointer<Float>, as format: StorageFormat) throws(FormatError) -> [UInt8] {
        var raw = rawBytes(values, as: format.elementType)
        switch format.encoding {
        case .raw:
            return raw
        case .deflate:
            break
        case .shuffle:
            raw = shuffle(raw, width: format.elementType.byteWidth)
        }
        guard let compressed = raw.withUnsafeBytes({ Zlib.deflate($0) }) else {
            throw .compressionFailed("zlib could not deflate \(raw.count) bytes")
        }
        return compressed
    }

    /// Little-endian element bytes.
    static func rawBytes(_ values: UnsafeBufferPointer<Float>, as type: StorageFormat.ElementType) -> [UInt8] {
        let width = type.byteWidth
        return [UInt8](unsafeUninitializedCapacity: values.count * width) { out, initialized in
            let raw = UnsafeMutableRawPointer(out.baseAddress!)
            switch type {
            case .float32:
                for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case .float16:
                for (i, v) in values.enumerated() { raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            case .bfloat16:
                for (i, v) in values.enumerated() { raw.storeBytes(of: bfloat16Bits(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            }
            initialized = values.count * width
        }
    }

    /// Decodes `count` elements stored as `format` from `stored` into Float32. Compressed
    /// tensors inflate straight into the result (no intermediate copy of the raw or shuffled
    /// bytes): peak memory is the Float32 result plus a 64 KiB window.
    static func decode(_ stored: UnsafeRawBufferPointer, count: Int, as format: StorageFormat, tensor: String) throws(FormatError) -> [Float] {
        if format.encoding == .raw { return floats(fromRaw: stored, count: count, type: format.elementType) }
        var failure: String?
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let bytes = UnsafeMutableRawBufferPointer(out)
            failure = inflate(stored, count: count, as: format, into: bytes)
            if failure == nil { widenInPlace(bytes, count: count, type: format.elementType) }
            initialized = failure == nil ? count : 0
        }
        if let failure { throw .tensorCorrupt(tensor: tensor, reason: failure) }
        return values
    }

    /// Inflates the stored stream so that byte b of element e lands at `4 e + b` of `out`
    /// (interleaved or shuffled in the stream). f32 deflate is the identity: zlib writes `out`.
    private static func inflate(_ stored: UnsafeRawBufferPointer, count: Int, as format: StorageFormat,
                                into out: UnsafeMutableRawBufferPointer) -> String? {
        let width = format.elementType.byteWidth
        if format == StorageFormat(.float32, .deflate) { return Zlib.inflate(stored, into: out) }
        guard let base = out.baseAddress else { return Zlib.inflate(stored, into: out) }
        let shuffled = format.encoding == .shuffle
        return Zlib.inflate(stored, length: count * width) { bytes, offset in
            // Stream position p holds byte p % width of element p / width (interleaved), or
            // byte p / count of element p % count (shuffled).
            var element = shuffled ? offset % count : offset / width
            var byte = shuffled ? offset / count : offset % width
            for b in bytes {
                base.storeBytes(of: b, toByteOffset: 4 * element + byte, as: UInt8.self)
                if shuffled {
                    element += 1
                    if element == count { element = 0; byte += 1 }
                } else {
                    byte += 1
                    if byte == width { byte = 0; element += 1 }
                }
            }
        }
    }

    /// Turns the little-endian element bytes at the start of each 4-byte slot into Float32, in place.
    private static func widenInPlace(_ bytes: UnsafeMutableRawBufferPointer, count: Int, type: StorageFormat.ElementType) {
        guard let raw = bytes.baseAddress else { return }
        for i in 0..<count {
            let value: Float
            switch type {
            case .float32: value = Float(bitPattern: UInt32(littleEndian: raw.load(fromByteOffset: 4 * i, as: UInt32.self)))
            case .float16: value = Float(Float16(bitPattern: UInt16(littleEndian: raw.load(fromByteOffset: 4 * i, as: UInt16.self))))
            case .bfloat16: value = Float(bitPattern: UInt32(UInt16(littleEndian: raw.load(fromByteOffset: 4 * i, as: UInt16.self))) << 16)
            }
            raw.storeBytes(of: value, toByteOffset: 4 * i, as: Float.self)
        }
    }

    static func floats(fromRaw raw: UnsafeRawBufferPointer, count: Int, type: StorageFormat.ElementType) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch type {
            case .float32:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .float16:
                for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .bfloat16:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            }
            initialized = count
        }
    }

    /// Byte 0 of every element, then byte 1, …
    static func shuffle(_ bytes: [UInt8], width: Int) -> [UInt8] {
        let n = bytes.count / width
        var out = [UInt8](repeating: 0, count: bytes.count)
        for e in 0..<n { for b in 0..<width { out[b * n + e] = bytes[e * width + b] } }
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
