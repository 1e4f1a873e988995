// Values known at import time (initializers, Constant outputs, folded shape arithmetic), and
// the decoding of ONNX TensorProtos into them: raw_data, typed fields, and external data files.
import Foundation

/// A tensor whose values the importer knows. Floating types are held as Float32 (the graph's
/// parameter type); integer and boolean types as Int64 (shape arithmetic).
struct ConstTensor: Equatable {
    enum Values: Equatable {
        case float([Float])
        case int([Int64])
    }
    var shape: [Int]
    var values: Values
    /// The initializer or value name it came from; nil for values computed by the importer.
    var name: String?

    init(shape: [Int], values: Values, name: String? = nil) {
        self.shape = shape; self.values = values; self.name = name
    }
    init(shape: [Int], floats: [Float], name: String? = nil) {
        self.init(shape: shape, values: .float(floats), name: name)
    }
    init(shape: [Int], ints: [Int64], name: String? = nil) { self.init(shape: shape, values: .int(ints), name: name) }

    var count: Int {
        switch values {
        case .float(let a): return a.count
        case .int(let a): return a.count
        }
    }
    var isFloat: Bool { if case .float = values { return true } else { return false } }
    var floats: [Float] {
        switch values {
        case .float(let a): return a
        case .int(let a): return a.map { Float($0) }
        }
    }
    var doubles: [Double] {
        switch values {
        case .float(let a): return a.map { Double($0) }
        case .int(let a): return a.map { Double($0) }
        }
    }
    var int64s: [Int64] {
        switch values {
        case .float(let a): return a.map { $0.isFinite ? Int64(exactly: $0.rounded(.towardZero)) ?? 0 : 0 }
        case .int(let a): return a
        }
    }
    var ints: [Int] { int64s.map { Int(truncatingIfNeeded: $0) } }
    /// The single value of a one-element tensor.
    var scalar: Double? { count == 1 ? doubles[0] : nil }

    /// Same kind, new values.
    func with(shape: [Int], doubles: [Double]) -> ConstTensor {
        isFloat
            ? ConstTensor(shape: shape, floats: doubles.map { Float($0) })
            : ConstTensor(
                shape: shape,
                ints: doubles.map {
                    $0.isFinite
                        ? Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? (($0 < 0) ? Int64.min : Int64.max))
                        : 0
                })
    }

    /// Values gathered by flat index (for reshapes/transposes/broadcasts), keeping the kind.
    func gathering(_ indices: [Int], shape: [Int]) -> ConstTensor {
        switch values {
        case .float(let a): return ConstTensor(shape: shape, floats: indices.map { a[$0] })
        case .int(let a): return ConstTensor(shape: shape, ints: indices.map { a[$0] })
        }
    }
}

/// ONNX `TensorProto.DataType` codes the importer reads.
enum ONNXDataType: Int32 {
    case float = 1
    case uint8 = 2
    case int8 = 3
    case uint16 = 4
    case int16 = 5
    case int32 = 6
    case int64 = 7
    case string = 8
    case bool = 9
    case float16 = 10
    case double = 11
    case uint32 = 12
    case uint64 = 13
    case bfloat16 = 16

    var byteSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16, .float16, .bfloat16: return 2
        case .float, .int32, .uint32: return 4
        case .int64, .double, .uint64: return 8
        case .string: return 0
        }
    }
    var isFloatingPoint: Bool { self == .float || self == .double || self == .float16 || self == .bfloat16 }
}

enum TensorDecoder {
    /// Decodes `proto`; `externalData` says where external data may be read (nil: refused).
    static func decode(_ proto: Onnx_TensorProto, externalData: ExternalDataFolder?, nameOverride: String? = nil)
        throws(ONNXError) -> ConstTensor
    {
        let name = nameOverride ?? proto.name
        let label = name.isEmpty ? "<unnamed>" : name
        func fail(_ m: String) -> ONNXError { .badTensor(tensor: label, message: m) }

        guard proto.dims.count <= ImportLimits.maxRank else {
            throw fail("rank \(proto.dims.count) is above \(ImportLimits.maxRank)")
        }
        var count = 1
        for d in proto.dims {
            guard d >= 0, d <= Int64(ImportLimits.maxElements) else { throw fail("dimension \(d) is out of range") }
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, p <= ImportLimits.maxElements else {
                throw fail("dims \(proto.dims) hold more than \(ImportLimits.maxElements) elements")
            }
            count = p
        }
        let shape = proto.dims.map { Int($0) }
        guard proto.hasDataType, let type = ONNXDataType(rawValue: proto.dataType), type != .string else {
            throw fail(
                "data type \(proto.dataType) is not supported (float, float16, bfloat16, double and integer/bool types are)"
            )
        }
        if proto.hasSegment { throw fail("segmented tensors are not supported") }

        var raw: Data? = nil
        if proto.dataLocation == .external {
            raw = try readExternal(proto, count: count, type: type, folder: externalData, label: label)
        } else if proto.hasRawData {
            raw = proto.rawData
        }
        if let raw {
            let (expected, overflow) = count.multipliedReportingOverflow(by: type.byteSize)
            guard !overflow, raw.count == expected else {
                throw fail("holds \(raw.count) bytes of data, dims \(shape) of type \(type) need \(expected)")
            }
            return ConstTensor(shape: shape, values: decodeRaw(raw, type: type, count: count), name: name)
        }

        // Typed fields.
        func check(_ n: Int, _ field: String) throws(ONNXError) {
            guard n == count else { throw fail("\(field) holds \(n) values, dims \(shape) need \(count)") }
        }
        switch type {
        case .float:
            try check(proto.floatData.count, "float_data")
            return ConstTensor(shape: shape, floats: proto.floatData, name: name)
        case .double:
            try check(proto.doubleData.count, "double_data")
            return ConstTensor(shape: shape, floats: proto.doubleData.map { Float($0) }, name: name)
        case .float16, .bfloat16:
            try check(proto.int32Data.count, "int32_data")
            let half = type == .float16
            let values: [Float] = proto.int32Data.map { (v: Int32) -> Float in
                let bits = UInt16(truncatingIfNeeded: v)
                return half ? halfToFloat(bits) : bfloat16ToFloat(bits)
            }
            return ConstTensor(shape: shape, floats: values, name: name)
        case .int32, .int16, .int8, .uint16, .uint8, .bool:
            try check(proto.int32Data.count, "int32_data")
            return ConstTensor(shape: shape, ints: proto.int32Data.map { Int64($0) }, name: name)
        case .int64:
            try check(proto.int64Data.count, "int64_data")
            return ConstTensor(shape: shape, ints: proto.int64Data, name: name)
        case .uint32, .uint64:
            try check(proto.uint64Data.count, "uint64_data")
            return ConstTensor(shape: shape, ints: proto.uint64Data.map { Int64(clamping: $0) }, name: name)
        case .string:
            throw fail("string tensors are not supported")
        }
    }

    static func decodeRaw(_ data: Data, type: ONNXDataType, count: Int) -> ConstTensor.Values {
        data.withUnsafeBytes { (p: UnsafeRawBufferPointer) -> ConstTensor.Values in
            func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                T(littleEndian: p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            switch type {
            case .float: return .float((0..<count).map { Float(bitPattern: load($0, UInt32.self)) })
            case .double: return .float((0..<count).map { Float(Double(bitPattern: load($0, UInt64.self))) })
            case .float16: return .float((0..<count).map { halfToFloat(load($0, UInt16.self)) })
            case .bfloat16: return .float((0..<count).map { bfloat16ToFloat(load($0, UInt16.self)) })
            case .int8: return .int((0..<count).map { Int64(load($0, Int8.self)) })
            case .uint8: return .int((0..<count).map { Int64(load($0, UInt8.self)) })
            case .bool: return .int((0..<count).map { load($0, UInt8.self) != 0 ? 1 : 0 })
            case .int16: return .int((0..<count).map { Int64(load($0, Int16.self)) })
            case .uint16: return .int((0..<count).map { Int64(load($0, UInt16.self)) })
            case .int32: return .int((0..<count).map { Int64(load($0, Int32.self)) })
            case .uint32: return .int((0..<count).map { Int64(load($0, UInt32.self)) })
            case .int64: return .int((0..<count).map { load($0, Int64.self) })
            case .uint64: return .int((0..<count).map { Int64(clamping: load($0, UInt64.self)) })
            case .string: return .int([])
            }
        }
    }

    /// Reads `location` (relative to the model's folder, never escaping it) at `offset`/`length`.
    static func readExternal(
        _ proto: Onnx_TensorProto, count: Int, type: ONNXDataType, folder: ExternalDataFolder?,
        label: String
    ) throws(ONNXError) -> Data {
        func fail(_ m: String) -> ONNXError { .badTensor(tensor: label, message: m) }
        var fields: [String: String] = [:]
        for entry in proto.externalData { fields[entry.key] = entry.value }
        guard let location = fields["location"], !location.isEmpty else {
            throw fail("external data without a 'location'")
        }
        guard let folder else {
            throw fail("external data '\(location)' needs the model's folder (import from a file path)")
        }
        let offset = Int(fields["offset"] ?? "0")
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: type.byteSize)
        guard let offset, offset >= 0, !overflow else {
            throw fail("external data offset '\(fields["offset"] ?? "")' is not a valid byte offset")
        }
        let length: Int? = fields["length"] == nil ? byteCount : Int(fields["length"] ?? "")
        guard let length, length == byteCount else {
            throw fail(
                "external data length \(fields["length"] ?? "") does not match dims \(proto.dims) of type \(type) (\(byteCount) bytes)"
            )
        }
        do {
            let path = try SafeFile.resolve(location, in: folder)
            let file = try SafeFile.open(path, followSymlink: false)
            defer { file.close() }
            return try SafeFile.read(file, offset: offset, length: length)
        } catch {
            throw fail("external data '\(location)': \(error.message)")
        }
    }
}

/// IEEE 754 binary16 → Float.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // Zero or subnormal: mantissa · 2^-24.
        let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
}

func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
