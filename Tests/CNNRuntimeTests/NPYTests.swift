// .npy reading and writing: byte-exact against numpy's own output, round trips, and every
// refusal (dtype, byte order, Fortran order, truncation, bad magic) as a typed error.
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

@Suite("NPY")
struct NPYTests {
    /// `np.save(f, np.array([1.0, -2.5], dtype='<f4'))` with numpy 2.4.6, byte for byte.
    static let numpyBytes: [UInt8] =
        [147, 78, 85, 77, 80, 89, 1, 0, 118, 0]
        + Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".utf8)
        + [UInt8](repeating: 32, count: 60) + [10, 0, 0, 128, 63, 0, 0, 32, 192]

    @Test func matchesNumpyByteForByte() throws {
        #expect(Self.numpyBytes.count == 128 + 8)
        let a = try NPY.decode(Self.numpyBytes)
        #expect(a == NPYArray(shape: [2], values: .float32([1, -2.5])))
        #expect(NPY.encode(a) == Self.numpyBytes)
    }

    @Test func roundTrips() throws {
        let dir = TemporaryDirectory()
        let f32 = NPYArray(shape: [2, 3, 1], values: .float32([1, 2, 3, 4, 5, .infinity]))
        let f64 = NPYArray(shape: [], values: .float64([Double.pi]))
        let empty = NPYArray(shape: [0, 4], values: .float32([]))
        for (i, a) in [f32, f64, empty].enumerated() {
            let p = dir.file("a\(i).npy")
            try NPY.write(a, to: p)
            #expect(try NPY.read(p) == a)
            #expect(NPY.encode(a).count % 64 == a.count * (a.dtype == "float32" ? 4 : 8) % 64)
        }
        #expect(NPYArray(shape: [2], values: .float64([1, 2])).array(as: Float.self).values == [1, 2])
        // A committed onnxruntime output reads (format 1.0 from numpy).
        let y = try NPY.read(Repository.fixture("onnx/conv_3x3_s1_p1/output_y.npy"))
        #expect(y.shape == [1, 4, 8, 8] && y.dtype == "float32")
    }

    static func file(_ descr: String, fortran: String = "False", shape: String = "(2,)", data: Int = 8) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
        dict += String(repeating: " ", count: 117 - dict.utf8.count) + "\n"
        return [147, 78, 85, 77, 80, 89, 1, 0, 118, 0] + Array(dict.utf8) + [UInt8](repeating: 0, count: data)
    }

    @Test func refusals() throws {
        #expect(throws: NPYError.unsupportedDType(path: "<memory>", descr: ">f4")) { try NPY.decode(Self.file(">f4")) }
        #expect(throws: NPYError.unsupportedDType(path: "<memory>", descr: "<c8")) {
            try NPY.decode(Self.file("<c8", data: 16))
        }
        #expect(throws: NPYError.unsupportedDType(path: "<memory>", descr: "<f2")) {
            try NPY.decode(Self.file("<f2", data: 4))
        }
        #expect(throws: NPYError.fortranOrder(path: "<memory>")) { try NPY.decode(Self.file("<f4", fortran: "True")) }
        #expect(throws: NPYError.wrongDataLength(path: "<memory>", expected: 8, found: 7)) {
            try NPY.decode(Self.file("<f4", data: 7))
        }
        #expect(throws: NPYError.wrongDataLength(path: "<memory>", expected: 8, found: 9)) {
            try NPY.decode(Self.file("<f4", data: 9))
        }
        #expect(throws: NPYError.notNPY(path: "<memory>")) { try NPY.decode(Array("hello world".utf8)) }
        #expect(throws: NPYError.self) { try NPY.decode(Array(Self.file("<f4").prefix(50))) }
        var v4 = Self.file("<f4"); v4[6] = 4
        #expect(throws: NPYError.unsupportedVersion(path: "<memory>", major: 4, minor: 0)) { try NPY.decode(v4) }
        #expect(throws: NPYError.self) { try NPY.decode(Self.file("<f4", shape: "(2, x)")) }
        let int64 = Repository.fixture("onnx/channel_shuffle_g2/param_shape1.npy")
        if FileManager.default.fileExists(atPath: int64) {
            // Integer arrays (class labels, ONNX shapes) read exactly, as float64.
            #expect(try NPY.read(int64).count > 0)
        }
        var labels = Self.file("<i8", data: 16)
        labels[labels.count - 16] = 7
        labels.replaceSubrange(
            (labels.count - 8)..., with: [0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8])
        #expect(try NPY.decode(labels).values == .float64([7, -3]))
        do { _ = try NPY.decode(Self.file("<c8", data: 16), path: "x.npy") } catch {
            #expect(error.description.contains("x.npy") && error.description.contains("<f4"))
        }
        #expect(throws: NPYError.self) { try NPY.read("/nonexistent/x.npy") }
    }
}
