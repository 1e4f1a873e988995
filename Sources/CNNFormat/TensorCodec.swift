// Tensor element types and encodings (FORMAT.md section 3): Float32 values ⇄ stored bytes.

/// How a tensor is stored: element type and encoding. The in-memory values are always Float32.
public struct StorageFormat: Hashable, Sendable, CustomStringConvertible {
    public enum ElementType: String, Sendable, CaseIterable {
        case float32 = "f32", float16 = "f16", bfloat16 = "bf16"
        public var byteWidth: Int { self == .float32 ? 4 : 2 }
    }
    public enum Encoding: String, Sendable, CaseIterable {
        case raw, deflate, shuffle
    }
    public var elementType: ElementType
    public var encoding: Encoding

    public init(_ elementType: ElementType = .float32, _ encoding: Encoding = .raw) {
        self.elementType = elementType
        self.encoding = encoding
    }
    public static let f32Raw = StorageFormat()
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

    /// Decodes `count` elements stored as `format` from `stored` into Float32.
    static func decode(_ stored: UnsafeRawBufferPointer, count: Int, as format: StorageFormat, tensor: String) throws(FormatError) -> [Float] {
        let width = format.elementType.byteWidth
        let rawLength = count * width
        var raw: [UInt8]
        switch format.encoding {
        case .raw:
            return floats(fromRaw: stored, count: count, type: format.elementType)
        case .deflate, .shuffle:
            raw = [UInt8](repeating: 0, count: rawLength)
            let failure = raw.withUnsafeMutableBytes { Zlib.inflate(stored, into: $0) }
            if let failure { throw .tensorCorrupt(tensor: tensor, reason: failure) }
            if format.encoding == .shuffle { raw = unshuffle(raw, width: width) }
        }
        return raw.withUnsafeBytes { floats(fromRaw: $0, count: count, type: format.elementType) }
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

    static func unshuffle(_ bytes: [UInt8], width: Int) -> [UInt8] {
        let n = bytes.count / width
        var out = [UInt8](repeating: 0, count: bytes.count)
        for e in 0..<n { for b in 0..<width { out[e * width + b] = bytes[b * n + e] } }
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
