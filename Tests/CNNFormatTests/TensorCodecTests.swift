import CNNFormat
import CNNTestSupport
// Every element type and encoding round-trips; f16/bf16 round as IEEE says; raw f32 is zero-copy.
import Foundation
import SwiftProtobuf
import Testing

@Suite struct TensorCodecTests {
    /// Edge values: signed zeros, subnormals, the f16 range limits, large and tiny magnitudes.
    static let values: [Float] =
        [
            0, -0.0, 1, -1, 0.1, -2.5e-3, 65504, 1e-8, 3.14159265, 1e30, -7.25, 6.1e-5, 0.33333334,
            Float.leastNonzeroMagnitude, 123456.789,
        ] + (0..<300).map { Float(sin(Double($0) * 0.37)) * 4 }

    /// bfloat16 by its definition: keep the upper 16 bits after adding half an ulp, ties to even.
    static func referenceBF16(_ v: Float) -> Float {
        let bits = v.bitPattern
        let lsb = (bits >> 16) & 1
        let rounded = (UInt64(bits) + 0x7FFF + UInt64(lsb)) >> 16
        return Float(bitPattern: UInt32(truncatingIfNeeded: rounded) << 16)
    }

    static func header() -> Cnnconv_V1_Model {
        var m = Cnnconv_V1_Model()
        m.name = "codec"
        return m
    }

    @Test(arguments: StorageFormat.ElementType.allCases, StorageFormat.Encoding.allCases)
    func roundTrip(_ type: StorageFormat.ElementType, _ encoding: StorageFormat.Encoding) throws {
        let format = StorageFormat(type, encoding)
        let payload = TensorPayload(
            name: "t", dims: [Self.values.count], format: format, values: FloatBuffer(Self.values))
        let empty = TensorPayload(name: "empty", dims: [0, 3], format: format, values: FloatBuffer([]))
        let bytes = try ModelFileWriter.serialize(header: Self.header(), tensors: [payload, empty])
        let file = try ModelFile(bytes: bytes)
        let read = try file.values(of: "t").array
        #expect(file.storageFormat(of: file.entry(named: "t")!) == format)
        #expect(try file.values(of: "empty").count == 0)
        for (v, r) in zip(Self.values, read) {
            let expected: Float
            switch type {
            case .float32: expected = v
            case .float16: expected = Float(Float16(v))
            case .bfloat16: expected = Self.referenceBF16(v)
            }
            #expect(
                r.bitPattern == expected.bitPattern, "\(v) stored as \(format) read back as \(r), expected \(expected)")
        }
    }

    @Test func rawFloat32IsReadZeroCopyAndAligned() throws {
        let tmp = TemporaryDirectory()
        let path = tmp.file("m.cnnm")
        let a = TensorPayload(name: "a", dims: [3], values: FloatBuffer([1, 2, 3]))
        let b = TensorPayload(name: "b", dims: [2, 5], values: FloatBuffer((0..<10).map(Float.init)))
        try ModelFileWriter.write(header: Self.header(), tensors: [a, b], to: path)
        let file = try ModelFile(path: path)
        let values = try file.values(of: "b")
        #expect(values.isMapped)
        values.withUnsafeBufferPointer { p in
            #expect(Int(bitPattern: p.baseAddress!) % 64 == 0)
        }
        #expect(values.array == (0..<10).map(Float.init))
        #expect(file.entry(named: "b")!.offset == 64)
    }

    @Test func shuffleCompressesSmoothWeightsBetterThanDeflate() throws {
        let weights = (0..<4096).map { Float(sin(Double($0) * 0.01)) * 0.05 }
        func size(_ e: StorageFormat.Encoding) throws -> UInt64 {
            let bytes = try ModelFileWriter.serialize(
                header: Self.header(),
                tensors: [
                    TensorPayload(
                        name: "w", dims: [4096], format: StorageFormat(.float32, e), values: FloatBuffer(weights))
                ])
            return try ModelFile(bytes: bytes).entry(named: "w")!.storedLength
        }
        let raw = try size(.raw), deflate = try size(.deflate), shuffle = try size(.shuffle)
        #expect(raw == 4096 * 4)
        #expect(deflate < raw)
        #expect(shuffle < deflate)
    }

    @Test func writingIsDeterministic() throws {
        var header = Self.header()
        for i in 0..<50 { header.metadata["key\(i)"] = "value \(i)" }
        let t = [
            TensorPayload(
                name: "x", dims: [4], format: StorageFormat(.float16, .shuffle), values: FloatBuffer([1, 2, 3, 4]))
        ]
        let first = try ModelFileWriter.serialize(header: header, tensors: t)
        for _ in 0..<5 { #expect(try ModelFileWriter.serialize(header: header, tensors: t) == first) }
        // And the file written to disk is the same image.
        let tmp = TemporaryDirectory()
        try ModelFileWriter.write(header: header, tensors: t, to: tmp.file("a.cnnm"))
        #expect(readBytes(tmp.file("a.cnnm")) == first)
    }

    @Test func newerMinorVersionLoadsAndKeepsUnknownFields() throws {
        // Field 99 is unknown to this reader: a newer minor version's addition.
        let unknownField: [UInt8] = [0x9A, 0x06, 0x03, 0x61, 0x62, 0x63]  // field 99, length-delimited "abc"
        let known: [UInt8] = try Self.header().serializedBytes()
        let bytes = HostileFiles.assemble(headerBytes: known + unknownField, data: [], minor: 7)
        let file = try ModelFile(bytes: bytes)
        #expect(file.preamble.minorVersion == 7)
        #expect(file.header.unknownFields.data == Data(unknownField))
        // Rewritten through the format layer, the unknown field survives.
        let rewritten = try ModelFileWriter.serialize(header: file.header, tensors: [])
        #expect(try ModelFile(bytes: rewritten).header.unknownFields.data == file.header.unknownFields.data)
    }
}
