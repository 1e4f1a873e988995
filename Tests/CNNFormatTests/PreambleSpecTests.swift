// Reads a fixture byte by byte as schema/FORMAT.md describes it — not through the reader — so
// the spec and the code cannot drift apart silently.
import CNNFormat
import CNNTestSupport
import SwiftProtobuf
import Testing

@Suite struct PreambleSpecTests {
    func u16(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(b[at]) | UInt64(b[at + 1]) << 8 }
    func u32(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
    func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }

    @Test func crc32MatchesTheCheckValueInFormatMD() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test(arguments: ["small_cnn.cnnm", "resnet_mini.cnnm", "mixed_ops.cnnm", "every_op.cnnm"])
    func fixtureFollowsTheSpec(_ name: String) throws {
        let b = readBytes(Repository.fixture(name))
        #expect(b.count > 64)
        // Section 1: the preamble.
        #expect(Array(b[0..<8]) == [0x89, 0x43, 0x4E, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(u16(b, 8) == 1)  // major
        #expect(u16(b, 10) == 0)  // minor
        #expect(u32(b, 12) == 0)  // flags
        #expect(u64(b, 16) == 64)  // header_offset
        let headerLength = u64(b, 24)
        let dataOffset = u64(b, 32)
        let dataLength = u64(b, 40)
        #expect(dataOffset % 64 == 0 && dataOffset >= 64 + headerLength && dataOffset < 64 + headerLength + 64)
        #expect(dataOffset + dataLength == UInt64(b.count))
        #expect(u32(b, 48) == UInt64(crc32(Array(b[64..<64 + Int(headerLength)]))))
        #expect(u32(b, 52) == 0)
        #expect(u32(b, 56) == UInt64(crc32(Array(b[0..<56]))))
        #expect(u32(b, 60) == 0)
        #expect(b[(64 + Int(headerLength))..<Int(dataOffset)].allSatisfy { $0 == 0 })
        // Section 2 and 3: the header's tensor table and the packing rule.
        let header = try Cnnconv_V1_Model(serializedBytes: Array(b[64..<64 + Int(headerLength)]))
        var expected: UInt64 = 0
        for t in header.tensors {
            #expect(t.offset == expected, "tensor \(t.name) is not packed")
            #expect(t.offset % 64 == 0)
            let start = Int(dataOffset + t.offset)
            let bytes = Array(b[start..<start + Int(t.storedLength)])
            #expect(crc32(bytes) == t.crc32)
            if t.encoding == .raw && t.dtype == .float32 {
                #expect(t.storedLength == 4 * t.dims.reduce(1, *))
                #expect((dataOffset + t.offset) % 64 == 0)
            }
            let end = t.offset + t.storedLength
            expected = (end + 63) / 64 * 64
            let gapEnd = min(expected, dataLength)
            #expect(b[Int(dataOffset + end)..<Int(dataOffset + gapEnd)].allSatisfy { $0 == 0 })
        }
        #expect(header.tensors.last.map { $0.offset + $0.storedLength } == dataLength)
    }
}
