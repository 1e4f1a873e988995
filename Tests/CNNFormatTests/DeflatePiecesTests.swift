import CNNTestSupport
import Foundation
import Testing

// Compressed tensors written in independent pieces (issue 13): every size round-trips, the
// parallel writer gives the serial encoder's bytes, and the stream is one ordinary zlib stream.
@testable import CNNFormat

@Suite struct DeflatePiecesTests {
    static let formats: [StorageFormat] = StorageFormat.ElementType.allCases.flatMap { t in
        [StorageFormat(t, .deflate), StorageFormat(t, .shuffle)]
    }

    /// Values as stored, from a seeded generator (weights-like: small, all exponents busy).
    static func values(_ count: Int, _ format: StorageFormat, seed: UInt64 = 3) -> [Float] {
        var rng = TestRandom(seed)
        return format.roundTripped((0..<count).map { _ in Float(rng.uniform() * 0.2 - 0.1) })
    }

    /// Sizes around the piece boundary (1 MiB of stream: 262 144 f32 or 524 288 16-bit values),
    /// odd so that shuffled planes straddle the cuts, and tiny ones.
    @Test(arguments: formats, [1, 2, 7, 262_143, 262_144, 262_145, 524_289, 700_001])
    func roundTripsAtOddSizes(_ format: StorageFormat, _ count: Int) throws {
        let values = Self.values(count, format)
        let bytes = try ModelFileWriter.serialize(
            header: Cnnconv_V1_Model(),
            tensors: [
                TensorPayload(name: "w", dims: [count], format: format, values: FloatBuffer(values))
            ])
        let read = try ModelFile(bytes: bytes).values(of: "w").array
        #expect(read.map(\.bitPattern) == values.map(\.bitPattern))
    }

    /// The writer compresses every piece of every tensor at once on all cores; the stored bytes
    /// are the serial encoder's, byte for byte, and the cut follows the stream length only.
    @Test func parallelWriteIsByteIdenticalToSerialEncoding() throws {
        let counts = [700_001, 3, 262_145, 1_000_000]
        var payloads: [TensorPayload] = []
        for (i, count) in counts.enumerated() {
            let format = Self.formats[i % Self.formats.count]
            payloads.append(
                TensorPayload(
                    name: "t\(i)", dims: [count], format: format,
                    values: FloatBuffer(Self.values(count, format, seed: UInt64(i)))))
        }
        let file = try ModelFile(bytes: try ModelFileWriter.serialize(header: Cnnconv_V1_Model(), tensors: payloads))
        for p in payloads {
            let entry = try #require(file.entry(named: p.name))
            let start = Int(file.preamble.dataOffset + entry.offset)
            let stored = Array(file.storage.bytes[start..<start + Int(entry.storedLength)])
            let serial = try p.values.withUnsafeBufferPointer { try TensorCodec.encode($0, as: p.format) }
            #expect(stored == serial, "\(p.name) \(p.format)")
            let expectedPieces =
                (p.values.count * p.format.elementType.byteWidth + DeflatePieces.pieceBytes - 1)
                / DeflatePieces.pieceBytes
            #expect(DeflatePieces(count: p.values.count, format: p.format).count == expectedPieces)
        }
    }

    /// One zlib stream (RFC 1950): a header whose 16 bits are a multiple of 31, deflate data, and
    /// the Adler-32 of the whole uncompressed stream — computed here from its definition.
    @Test func piecesFormOneZlibStreamWithTheWholeStreamsAdler32() throws {
        let format = StorageFormat(.float32, .shuffle)
        let values = Self.values(600_001, format)
        let stored = try values.withUnsafeBufferPointer { try TensorCodec.encode($0, as: format) }
        #expect(stored[0] == 0x78)
        #expect((UInt16(stored[0]) << 8 | UInt16(stored[1])) % 31 == 0)
        // The shuffled stream by its definition: byte b of element e at count·b + e.
        var stream = [UInt8](repeating: 0, count: 4 * values.count)
        for (e, v) in values.enumerated() {
            for b in 0..<4 { stream[b * values.count + e] = UInt8(truncatingIfNeeded: v.bitPattern >> (8 * b)) }
        }
        var a: UInt32 = 1, s: UInt32 = 0
        for byte in stream { a = (a + UInt32(byte)) % 65521; s = (s + a) % 65521 }
        let adler = s << 16 | a
        let trailer = stored.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(trailer == adler)
    }

    /// Byte-shuffled Gaussian-like f32 weights still compress (Huffman coding keeps the
    /// exponent planes' redundancy): well under the raw size.
    @Test func shuffledWeightsCompress() throws {
        let format = StorageFormat(.float32, .shuffle)
        var rng = TestRandom(11)
        let values = (0..<300_000).map { _ in Float((rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 0.05) }
        let stored = try values.withUnsafeBufferPointer { try TensorCodec.encode($0, as: format) }
        #expect(Double(stored.count) < 0.9 * Double(4 * values.count))
    }

    /// A stream cut short or with bytes after it is refused, not read.
    @Test func damagedStreamsAreRefused() throws {
        let format = StorageFormat(.float32, .shuffle)
        let values = Self.values(300_000, format)
        let stored = try values.withUnsafeBufferPointer { try TensorCodec.encode($0, as: format) }
        for damaged in [Array(stored.dropLast(9)), stored + [0]] {
            #expect(throws: FormatError.self) {
                try damaged.withUnsafeBytes { try TensorCodec.decode($0, count: values.count, as: format, tensor: "w") }
            }
        }
        #expect(throws: FormatError.self) {
            try stored.withUnsafeBytes { try TensorCodec.decode($0, count: values.count - 1, as: format, tensor: "w") }
        }
    }

    /// libdeflate's CRC-32 against the check value of the CRC catalogue (CRC-32/ISO-HDLC).
    @Test func crc32MatchesTheCatalogueCheckValue() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        let long = [UInt8](repeating: 0xA5, count: 1 << 20)
        let whole = crc32(long)
        let halves = long.withUnsafeBytes { b in
            crc32(
                UnsafeRawBufferPointer(rebasing: b[(1 << 19)...]),
                continuing: crc32(UnsafeRawBufferPointer(rebasing: b[..<(1 << 19)])))
        }
        #expect(whole == halves)
    }
}
