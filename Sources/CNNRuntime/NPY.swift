// NumPy .npy files (format 1.0, 2.0, 3.0): float32 and float64 (integer arrays such as class
// labels are read as float64), C order, little-endian only.
// The format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// Reads refuse everything else with an `NPYError` naming the file and what was found.
import CNNFormat
import CNNKernels
import Foundation

/// Why a .npy file cannot be read or written.
public enum NPYError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(path: String, message: String)
    /// The file does not start with `\x93NUMPY`.
    case notNPY(path: String)
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    /// The header is cut short or is not the dictionary the format prescribes.
    case malformedHeader(path: String, message: String)
    /// A dtype other than little-endian float32 (`<f4`) or float64 (`<f8`).
    case unsupportedDType(path: String, descr: String)
    case fortranOrder(path: String)
    /// The data section holds fewer or more bytes than the shape needs.
    case wrongDataLength(path: String, expected: Int, found: Int)

    /// One line naming the file and what to do about it (convert with NumPy, as shown).
    public var description: String {
        switch self {
        case .io(let p, let m): return "\(p): \(m)"
        case .notNPY(let p): return "\(p): not a NumPy .npy file (no \\x93NUMPY magic)"
        case .unsupportedVersion(let p, let a, let b):
            return "\(p): .npy format version \(a).\(b) is not supported (1.0, 2.0, 3.0 are)"
        case .malformedHeader(let p, let m): return "\(p): malformed .npy header: \(m)"
        case .unsupportedDType(let p, let d):
            return
                "\(p): dtype '\(d)' is not supported; use little-endian float32 ('<f4') or float64 ('<f8'), e.g. x.astype('<f4') (integer labels may be '<i8', '<i4', '<i2' or 1-byte)"
        case .fortranOrder(let p): return "\(p): Fortran-order array; save a C-order one (np.ascontiguousarray)"
        case .wrongDataLength(let p, let e, let f): return "\(p): the shape needs \(e) data bytes, the file has \(f)"
        }
    }
}

/// An array read from or written to a .npy file.
public struct NPYArray: Sendable, Equatable {
    /// The stored elements in their own precision, so a float32 file round-trips bit for bit.
    public enum Values: Sendable, Equatable {
        /// `<f4`: what the Float executor reads and writes.
        case float32([Float])
        /// `<f8` (and integer arrays, widened): the Double reference mode's type.
        case float64([Double])
    }
    /// Dimensions, outermost first, as the header's `shape` tuple gives them.
    public var shape: [Int]
    /// The elements in C order.
    public var values: Values

    /// An array to write; `values` must hold the product of `shape` elements.
    public init(shape: [Int], values: Values) { self.shape = shape; self.values = values }
    /// An executor array to write as .npy: Float stays float32, Double stays float64.
    public init<S: KernelScalar>(_ array: NDArray<S>) {
        shape = array.shape
        if let f = array.values as? [Float] {
            values = .float32(f)
        } else {
            values = .float64(array.values.map(Double.init))
        }
    }

    /// Number of elements.
    public var count: Int {
        switch values {
        case .float32(let v): return v.count
        case .float64(let v): return v.count
        }
    }
    /// NumPy's name for the stored dtype.
    public var dtype: String {
        if case .float32 = values { return "float32" } else { return "float64" }
    }

    /// The values in `S` (converted if stored in the other precision).
    public func array<S: KernelScalar>(as: S.Type = S.self) -> NDArray<S> {
        switch values {
        case .float32(let v): return NDArray(shape: shape, values: (v as? [S]) ?? v.map { S($0) })
        case .float64(let v): return NDArray(shape: shape, values: (v as? [S]) ?? v.map { S($0) })
        }
    }
}

/// Reading and writing NumPy .npy files, so that inputs and outputs pass between cnnconv and
/// Python (PyTorch, onnxruntime) without a converter.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Header lengths beyond this are refused (NumPy itself limits headers to 10 000 bytes by default).
    static let maximumHeaderLength = 1 << 20

    /// The array in the file at `path`; refuses non-regular files (a FIFO would block) and every
    /// variant it cannot read exactly, naming the file.
    public static func read(_ path: String) throws(NPYError) -> NPYArray {
        // Non-blocking and regular files only: a FIFO or device would block or stream forever.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw .io(path: path, message: "is not a regular file")
        }
        let data: Data
        do { data = try handle.readToEnd() ?? Data() } catch {
            throw .io(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses the bytes of a .npy file; `path` only names it in errors.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws(NPYError) -> NPYArray {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw .notNPY(path: path) }
        let major = bytes[6], minor = bytes[7]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else {
                throw .malformedHeader(path: path, message: "file ends inside the header length")
            }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw .unsupportedVersion(path: path, major: major, minor: minor)
        }
        guard minor == 0 else { throw .unsupportedVersion(path: path, major: major, minor: minor) }
        guard headerLength <= maximumHeaderLength, headerStart + headerLength <= bytes.count else {
            throw .malformedHeader(
                path: path, message: "header of \(headerLength) bytes runs past the end of the \(bytes.count)-byte file"
            )
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let (descr, fortran, shape) = try parseHeader(header, path: path)
        guard !fortran else { throw .fortranOrder(path: path) }
        let width: Int
        switch descr {
        case "<f4": width = 4
        case "<f8": width = 8
        case "<i8", "<u8": width = 8
        case "<i4", "<u4": width = 4
        case "<i2", "<u2": width = 2
        case "|i1", "|u1", "|b1": width = 1
        default: throw .unsupportedDType(path: path, descr: descr)
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, d >= 0 else { throw .malformedHeader(path: path, message: "shape \(shape) is too large") }
            elements = p
        }
        let (needed, overflow) = elements.multipliedReportingOverflow(by: width)
        let start = headerStart + headerLength, available = bytes.count - start
        guard !overflow, needed == available else {
            throw .wrongDataLength(path: path, expected: overflow ? Int.max : needed, found: available)
        }
        if !descr.hasPrefix("<f") {
            // Integers (class labels): read as float64, exact below 2^53 in magnitude.
            let signed = descr.dropFirst().hasPrefix("i")
            let values = (0..<elements).map { i -> Double in
                var bits: UInt64 = 0
                for b in 0..<width { bits |= UInt64(bytes[start + i * width + b]) << (8 * UInt64(b)) }
                if signed && width < 8 && bits >> (8 * UInt64(width) - 1) & 1 == 1 { bits |= ~0 << (8 * UInt64(width)) }
                return signed ? Double(Int64(bitPattern: bits)) : Double(bits)
            }
            return NPYArray(shape: shape, values: .float64(values))
        }
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + start
            if width == 4 {
                var v = [Float](repeating: 0, count: elements)
                v.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: needed)) }
                return NPYArray(
                    shape: shape, values: .float32(v.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }))
            }
            var v = [Double](repeating: 0, count: elements)
            v.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: needed)) }
            return NPYArray(
                shape: shape, values: .float64(v.map { Double(bitPattern: UInt64(littleEndian: $0.bitPattern)) }))
        }
    }

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }`.
    static func parseHeader(_ header: String, path: String) throws(NPYError) -> (String, Bool, [Int]) {
        func fail(_ m: String) -> NPYError { .malformedHeader(path: path, message: m) }
        let text = header.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("{"), text.hasSuffix("}") else { throw fail("not a Python dict literal") }
        func value(after key: String) -> Substring? {
            for quote in ["'", "\""] {
                if let r = text.range(of: quote + key + quote) {
                    let rest = text[r.upperBound...].drop { $0 == " " }
                    guard rest.first == ":" else { return nil }
                    return rest.dropFirst().drop { $0 == " " }
                }
            }
            return nil
        }
        guard let d = value(after: "descr"), let q = d.first, q == "'" || q == "\"",
            let end = d.dropFirst().firstIndex(of: q)
        else { throw fail("no 'descr' string") }
        let descr = String(d[d.index(after: d.startIndex)..<end])
        guard let f = value(after: "fortran_order") else { throw fail("no 'fortran_order'") }
        let fortran: Bool
        if f.hasPrefix("False") {
            fortran = false
        } else if f.hasPrefix("True") {
            fortran = true
        } else {
            throw fail("'fortran_order' is neither True nor False")
        }
        guard let s = value(after: "shape"), s.first == "(", let close = s.firstIndex(of: ")") else {
            throw fail("no 'shape' tuple")
        }
        var shape: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let n = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), n >= 0 else {
                throw fail("shape entry '\(t)'")
            }
            shape.append(n)
        }
        return (descr, fortran, shape)
    }

    /// The bytes of a format 1.0 file (2.0 if the header needs it), header padded to 64 bytes.
    public static func encode(_ array: NPYArray) -> [UInt8] {
        let descr = array.dtype == "float32" ? "<f4" : "<f8"
        let dims = array.shape.map(String.init).joined(separator: ", ") + (array.shape.count == 1 ? "," : "")
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let prefix1 = 10, prefix2 = 12
        let large = prefix1 + dict.utf8.count + 1 > 65535
        let prefix = large ? prefix2 : prefix1
        let total = (prefix + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
        var out = magic + [large ? 2 : 1, 0]
        let n = dict.utf8.count
        if large {
            for i in 0..<4 { out.append(UInt8((n >> (8 * i)) & 0xFF)) }
        } else {
            out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        }
        out += Array(dict.utf8)
        switch array.values {
        case .float32(let v): for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
        case .float64(let v): for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
        }
        return out
    }

    /// Writes atomically (a temporary file in the same folder, then a rename).
    public static func write(_ array: NPYArray, to path: String) throws(NPYError) {
        do { try AtomicFileWriter.write(encode(array), to: path) } catch {  // CNNFormat: checks the destination
            throw .io(path: path, message: "cannot write: \(error)")
        }
    }
}
