import CNNTestSupport
import Foundation
import Testing

// Values computed on demand (issue 13, fold speed): every way of reading them gives the
// generator's values, and the writer streams them to the same bytes as the values held in
// memory, atomically.
@testable import CNNFormat

@Suite struct ComputedValuesTests {
    /// A generator with a closed form, so every read is checked against the formula.
    static func formula(_ i: Int) -> Float { Float(i % 1000) * 0.25 - Float(i / 1000) }

    static func computed(_ count: Int) -> FloatBuffer {
        FloatBuffer(count: count) { start, out in
            for k in 0..<out.count { out[k] = formula(start + k) }
        }
    }

    /// Sizes around the chunk (65 536 elements), so pieces straddle it, and empty.
    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 200_003])
    func everyReadGivesTheFormula(_ count: Int) {
        let expected = (0..<count).map(Self.formula)
        let buffer = Self.computed(count)
        #expect(buffer.count == count && !buffer.isMapped)
        var streamed: [Float] = [], starts: [Int] = []
        buffer.forEachChunk { start, chunk in
            starts.append(start)
            streamed += chunk
        }
        #expect(streamed == expected)
        #expect(starts == Array(stride(from: 0, to: count, by: 65_536)))
        if count > 10 {
            var part = [Float](repeating: 0, count: 7)
            part.withUnsafeMutableBufferPointer { buffer.copyValues(from: count - 9, into: $0) }
            #expect(part == Array(expected[(count - 9)..<(count - 2)]))
        }
        #expect(buffer.array == expected)
        #expect(buffer == FloatBuffer(expected))
        // Once read whole, the values are kept: one piece from then on.
        var pieces = 0
        buffer.forEachChunk { _, chunk in
            pieces += 1; #expect(Array(chunk) == expected)
        }
        #expect(pieces == 1)
    }

    /// The writer checksums computed values in one pass and writes them in another: the file is
    /// the one written from the same values held in memory, byte for byte.
    @Test func streamedWriteIsByteIdenticalToTheValuesInMemory() throws {
        let counts = [200_003, 3, 65_536, 0, 1]
        func payloads(computed: Bool) -> [TensorPayload] {
            counts.enumerated().map { i, n in
                let values = computed ? Self.computed(n) : FloatBuffer((0..<n).map(Self.formula))
                return TensorPayload(
                    name: "t\(i)", dims: [n], format: i == 2 ? StorageFormat(.float16, .shuffle) : .f32Raw,
                    values: values)
            }
        }
        let reference = try ModelFileWriter.serialize(header: Cnnconv_V1_Model(), tensors: payloads(computed: false))
        #expect(
            try ModelFileWriter.serialize(header: Cnnconv_V1_Model(), tensors: payloads(computed: true)) == reference)
        let dir = TemporaryDirectory()
        try ModelFileWriter.write(header: Cnnconv_V1_Model(), tensors: payloads(computed: true), to: dir.file("m.cnnm"))
        #expect(readBytes(dir.file("m.cnnm")) == reference)
        // The CRCs in the table are zlib's over the stored bytes (checked on open).
        let file = try ModelFile(path: dir.file("m.cnnm"))
        #expect(try file.values(of: "t0").array == (0..<200_003).map(Self.formula))
    }

    /// The writer's compute-ahead thread: pieces arrive in order across tensors, and a write
    /// that fails half-way stops it (no hang, the ring is freed after the thread is done).
    @Test func computeAheadKeepsOrderAndStopsOnError() throws {
        struct Stop: Error {}
        let sources = [Self.computed(300_000), Self.computed(5), Self.computed(70_000)]
        let ahead = ComputeAhead(sources)
        for source in sources {
            var bytes: [UInt8] = []
            try ahead.write(count: source.count) { bytes += $0 }
            #expect(bytes == source.array.withUnsafeBytes { Array($0) })
        }
        ahead.finish()
        let failing = ComputeAhead(sources)
        var pieces = 0
        #expect(throws: Stop.self) {
            try failing.write(count: sources[0].count) { _ in
                pieces += 1
                if pieces == 2 { throw Stop() }
            }
        }
        failing.finish()
        #expect(pieces == 2)
    }

    /// A write abandoned half-way leaves the file it would replace as it was; a finished one
    /// replaces it whole.
    @Test func anAbandonedReplacementLeavesTheOldFileWhole() throws {
        let dir = TemporaryDirectory()
        let old = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let path = dir.write(old, to: "m.cnnm")
        do {
            var writer = try AtomicFileWriter(destination: path)
            try [UInt8](repeating: 9, count: 1 << 20).withUnsafeBytes { try writer.write($0) }
            _ = consume writer
        }
        #expect(readBytes(path) == old)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.cnnm"])
        try AtomicFileWriter.write([UInt8](repeating: 5, count: 100), to: path)
        #expect(readBytes(path) == [UInt8](repeating: 5, count: 100))
    }

    /// A file this process maps stays readable through the mapping when replaced (`--in-place`
    /// computes the values it writes from it), and is replaced whole.
    @Test func replacingAMappedFileKeepsItsMappingReadable() throws {
        let dir = TemporaryDirectory()
        let old = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let path = dir.write(old, to: "m.cnnm")
        let mapped = try MappedFile(path: path)
        try AtomicFileWriter.write(Array(mapped.bytes.reversed()), to: path)
        #expect(Array(mapped.bytes) == old)
        #expect(readBytes(path) == old.reversed())
    }
}
