// Every damaged or hostile file is refused with the error that names what is wrong — no crash,
// no huge allocation.
import CNNFormat
import CNNTestSupport
import Foundation
import SwiftProtobuf
import Testing

@Suite struct HostileInputTests {
    /// A small valid file: two tensors, one raw and one compressed.
    static let small: [UInt8] = {
        var m = Cnnconv_V1_Model()
        m.name = "small"
        m.metadata = ["k": "v"]
        let a = TensorPayload(name: "a", dims: [5], values: FloatBuffer([1, 2, 3, 4, 5]))
        let b = TensorPayload(
            name: "b", dims: [3, 7], format: StorageFormat(.float16, .shuffle),
            values: FloatBuffer((0..<21).map { Float($0) / 3 }))
        let c = TensorPayload(name: "c", dims: [2], values: FloatBuffer([-1, 1]))
        return (try? ModelFileWriter.serialize(header: m, tensors: [a, b, c])) ?? []
    }()

    func reason(_ bytes: [UInt8]) -> FormatError? {
        do {
            let file = try ModelFile(bytes: bytes)
            for e in file.tensorEntries { _ = try file.values(of: e.name) }
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func theSmallFileIsValid() {
        #expect(Self.small.count > 200)
        #expect(reason(Self.small) == nil)
    }

    @Test func everyPrefixIsRefused() {
        for length in 0..<Self.small.count {
            let r = reason(Array(Self.small.prefix(length)))
            switch length {
            case 0: #expect(r == .empty)
            case 1..<64: #expect(r == .tooShort(fileSize: UInt64(length)), "prefix \(length)")
            default:
                #expect(
                    r == .lengthMismatch(declared: UInt64(Self.small.count), fileSize: UInt64(length)),
                    "prefix \(length)")
            }
        }
    }

    @Test func everyFlippedBitIsDetected() {
        // One bit in every byte, cycling through bit positions; plus all 8 bits of the preamble.
        var positions = (0..<Self.small.count).map { ($0, $0 % 8) }
        positions += (0..<64).flatMap { byte in (0..<8).map { (byte, $0) } }
        for (byte, bit) in positions {
            var damaged = Self.small
            damaged[byte] ^= UInt8(1 << bit)
            #expect(reason(damaged) != nil, "flipping bit \(bit) of byte \(byte) went unnoticed")
        }
    }

    @Test func aTrailingByteIsRefused() {
        #expect(
            reason(Self.small + [0])
                == .lengthMismatch(declared: UInt64(Self.small.count), fileSize: UInt64(Self.small.count + 1)))
    }

    @Test func wrongMagicSaysSo() {
        let text = Array("name: model\nlayers: 3\n".utf8) + [UInt8](repeating: 0x20, count: 100)
        guard case .badMagic? = reason(text) else { Issue.record("expected badMagic"); return }
        #expect(String(describing: reason(text)!).contains("not a cnnconv file"))
        // A CR/LF-converted file: "\r\n" became "\n", so everything shifts by one.
        var converted = Self.small
        converted.remove(at: 4)
        #expect(String(describing: reason(converted)!).contains("text-mode"))
    }

    @Test func newerMajorVersionIsRefusedClearly() {
        let newer = HostileFiles.withVersion(Self.small, major: 2, minor: 0)
        #expect(reason(newer) == .unsupportedMajorVersion(found: 2, supported: 1))
        #expect(String(describing: reason(newer)!).contains("newer cnnconv"))
    }

    @Test func newerMinorVersionIsRead() {
        #expect(reason(HostileFiles.withVersion(Self.small, major: 1, minor: 3)) == nil)
    }

    func header(_ entries: [Cnnconv_V1_TensorEntry]) -> Cnnconv_V1_Model {
        var m = Cnnconv_V1_Model()
        m.tensors = entries
        return m
    }

    @Test func aTensorPastTheEndOfTheFileIsRefused() {
        let data = HostileFiles.floatBytes([1, 2, 3, 4])
        var e = HostileFiles.entry("w", dims: [4], offset: 0, bytes: data)
        e.dims = [1000]
        e.storedLength = 4000
        let r = reason(HostileFiles.assemble(header: header([e]), data: data))
        guard case .tensorOutOfBounds(let name, _, _)? = r else { Issue.record("got \(String(describing: r))"); return }
        #expect(name == "w")
    }

    @Test func aTensorOf2To40ElementsIsRefusedWithoutAllocating() {
        let data = HostileFiles.floatBytes([1, 2, 3, 4])
        var e = HostileFiles.entry("huge", dims: [1 << 20, 1 << 20], offset: 0, bytes: data)
        e.encoding = .deflate
        #expect(
            reason(HostileFiles.assemble(header: header([e]), data: data))
                == .tensorTooLarge(tensor: "huge", elements: grouped(UInt64(1) << 40), limit: (1 << 40) - 1))
        // Dims whose product overflows 64 bits.
        e.dims = [1 << 40, 1 << 40]
        guard case .tensorTooLarge? = reason(HostileFiles.assemble(header: header([e]), data: data)) else {
            Issue.record("overflowing dims accepted"); return
        }
    }

    @Test func anImpossibleDecompressionRatioIsRefused() {
        let data = HostileFiles.floatBytes([1, 2, 3, 4])
        var e = HostileFiles.entry("bomb", dims: [1 << 30], offset: 0, bytes: data)
        e.encoding = .shuffleDeflate
        #expect(
            reason(HostileFiles.assemble(header: header([e]), data: data))
                == .tensorDecompressedTooLarge(tensor: "bomb", bytes: 4 << 30, stored: 16))
    }

    @Test func overlappingTensorsAreRefused() {
        let data = HostileFiles.floatBytes((0..<16).map(Float.init))
        let a = HostileFiles.entry("a", dims: [16], offset: 0, bytes: data)
        let b = HostileFiles.entry("b", dims: [4], offset: 0, bytes: Array(data[0..<16]))
        #expect(
            reason(HostileFiles.assemble(header: header([a, b]), data: data))
                == .tensorMisplaced(tensor: "b", offset: 0, expected: 64))
    }

    @Test func duplicateNamesUnknownTypesAndCorruptStreamsAreRefused() {
        let data = HostileFiles.floatBytes([1, 2, 3, 4])
        let a = HostileFiles.entry("a", dims: [4], offset: 0, bytes: data)
        var padded = data + [UInt8](repeating: 0, count: 48) + data
        #expect(
            reason(
                HostileFiles.assemble(
                    header: header([a, HostileFiles.entry("a", dims: [4], offset: 64, bytes: data)]), data: padded))
                == .duplicateTensorName("a"))
        var unknown = a
        unknown.dtype = Cnnconv_V1_DataType(rawValue: 42)!
        #expect(
            reason(HostileFiles.assemble(header: header([unknown]), data: data))
                == .unknownDataType(tensor: "a", raw: 42))
        var corrupt = a
        corrupt.encoding = .deflate
        guard case .tensorCorrupt(let name, _)? = reason(HostileFiles.assemble(header: header([corrupt]), data: data))
        else {
            Issue.record("a corrupt zlib stream was accepted"); return
        }
        #expect(name == "a")
        padded[50] = 1  // non-zero padding between the two tensors
        let twoEntries = header([a, HostileFiles.entry("b", dims: [4], offset: 64, bytes: data)])
        let image = HostileFiles.assemble(header: twoEntries, data: padded)
        let dataOffset = UInt64(image.count - padded.count)
        #expect(reason(image) == .paddingNotZero(offset: dataOffset + 50))
    }

    @Test func uncoveredDataSectionIsRefused() {
        let data = HostileFiles.floatBytes([1, 2, 3, 4]) + [0, 0, 0, 0]
        let a = HostileFiles.entry("a", dims: [4], offset: 0, bytes: Array(data[0..<16]))
        #expect(
            reason(HostileFiles.assemble(header: header([a]), data: data))
                == .dataSectionUncovered(used: 16, dataLength: 20))
    }

    @Test func filesystemErrorsNameTheProblem() throws {
        let tmp = TemporaryDirectory()
        func fail(_ path: String) -> String {
            do { _ = try ModelFile(path: path); return "" } catch { return error.description }
        }
        #expect(fail(tmp.file("missing.cnnm")) == "\(tmp.file("missing.cnnm")): no such file")
        #expect(fail(tmp.path).contains("is a directory"))
        let empty = tmp.write([], to: "empty.cnnm")
        #expect(fail(empty) == "\(empty): the file is empty")
    }
}
