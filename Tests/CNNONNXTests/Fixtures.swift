// Reads fixtures/onnx: manifest.json and the .npy files beside each model (NumPy format 1.0/2.0,
// little-endian, C order, float32/int64/bool), so no Python is needed at test time.
import Foundation

enum FixturePaths {
    /// The package root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let onnx = root + "/fixtures/onnx"
}

/// A JSON value of the manifest's free-form `attributes`.
enum JSONValue: Decodable, Equatable {
    case int(Int)
    case double(Double)
    case string(String)
    case ints([Int])
    case doubles([Double])
    case other

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([Int].self) {
            self = .ints(a)
        } else if let a = try? c.decode([Double].self) {
            self = .doubles(a)
        } else {
            self = .other
        }
    }
    var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    var ints: [Int]? { if case .ints(let a) = self { return a } else { return nil } }
    var double: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
}

struct Manifest: Decodable {
    struct TensorEntry: Decodable { var name: String; var dtype: String; var shape: [Int]; var file: String }
    struct NodeEntry: Decodable {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // The manifest's own JSON key (written by the Python fixture script).
        var op_type: String; var name: String; var inputs: [String]; var outputs: [String];
        var attributes: [String: JSONValue]
    }
    struct Case: Decodable, CustomStringConvertible, Sendable {
        var name: String; var kind: String; var op: String; var opset: Int; var model: String
        var inputs: [TensorEntry]; var params: [TensorEntry]; var outputs: [TensorEntry]; var nodes: [NodeEntry]
        var description: String { name }
        var directory: String = FixturePaths.onnx
        var modelPath: String { directory + "/" + model }
        func path(_ t: TensorEntry) -> String { directory + "/" + t.file }
        enum CodingKeys: String, CodingKey { case name, kind, op, opset, model, inputs, params, outputs, nodes }
    }
    var cases: [Case]

    static func load(_ directory: String) -> Manifest {
        let url = URL(fileURLWithPath: directory + "/manifest.json")
        let m0: Manifest
        do { m0 = try JSONDecoder().decode(Manifest.self, from: try Data(contentsOf: url)) } catch {
            print("cannot read \(url.path): \(error)")
            return Manifest(cases: [])
        }
        var m = m0
        for i in m.cases.indices { m.cases[i].directory = directory }
        return m
    }
    static let shared = load(FixturePaths.onnx)
}

extension Manifest.TensorEntry: Sendable {}
extension Manifest.NodeEntry: Sendable {}
extension JSONValue: Sendable {}

/// A .npy array: shape and values (as Float for float32, exact integers for int64/bool).
struct NPYArray {
    var shape: [Int]
    var floats: [Float]
    var ints: [Int64]
}

struct NPYError: Error, CustomStringConvertible {
    var path: String, message: String
    var description: String { "\(path): \(message)" }
}

enum NPY {
    static func read(_ path: String) throws -> NPYArray {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func fail(_ m: String) -> NPYError { NPYError(path: path, message: m) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw fail("not a .npy file")
        }
        let headerLength: Int, start: Int
        if bytes[6] == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else {
            guard bytes.count >= 12 else { throw fail("truncated") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        }
        guard start + headerLength <= bytes.count else { throw fail("truncated header") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        guard header.contains("'fortran_order': False") else { throw fail("only C order is supported") }
        guard let descrRange = header.range(of: "'descr': '"),
            let end = header[descrRange.upperBound...].firstIndex(of: "'")
        else { throw fail("no descr") }
        let descr = String(header[descrRange.upperBound..<end])
        guard let shapeOpen = header.range(of: "'shape': ("),
            let shapeClose = header[shapeOpen.upperBound...].firstIndex(of: ")")
        else { throw fail("no shape") }
        let shape = header[shapeOpen.upperBound..<shapeClose].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let data = Array(bytes[(start + headerLength)...])
        switch descr {
        case "<f4":
            guard data.count == count * 4 else { throw fail("expected \(count) float32 values") }
            let f = (0..<count).map { i in
                Float(
                    bitPattern: UInt32(data[4 * i]) | UInt32(data[4 * i + 1]) << 8 | UInt32(data[4 * i + 2]) << 16
                        | UInt32(data[4 * i + 3]) << 24)
            }
            return NPYArray(shape: shape, floats: f, ints: [])
        case "<i8":
            guard data.count == count * 8 else { throw fail("expected \(count) int64 values") }
            let v: [Int64] = (0..<count).map { (i: Int) -> Int64 in
                var u: UInt64 = 0
                for k in 0..<8 { u |= UInt64(data[8 * i + k]) << UInt64(8 * k) }
                return Int64(bitPattern: u)
            }
            return NPYArray(shape: shape, floats: v.map(Float.init), ints: v)
        case "|b1":
            guard data.count == count else { throw fail("expected \(count) bools") }
            return NPYArray(shape: shape, floats: data.map { $0 != 0 ? 1 : 0 }, ints: data.map { $0 != 0 ? 1 : 0 })
        default:
            throw fail("dtype \(descr) is not supported")
        }
    }
}
