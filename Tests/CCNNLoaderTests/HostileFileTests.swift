// Every damaged or hostile file is refused by the C loader with the error the Swift reader
// gives (FORMAT.md sections 1-6): prefixes, flipped bits, and files built wrong on purpose.
import CCNNLoader
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import XCTest

/// A small valid file: one conv (f32 raw), a linear (f16 shuffle), a bias (bf16 deflate).
func smallModelBytes() throws -> [UInt8] {
    var rng = TestRandom(3)
    var b = GraphBuilder(name: "small", metadata: ["k": "v"])
    let x = b.input("x", [.symbol("N"), .fixed(2), .fixed(4), .fixed(4)])
    let c = b.add(
        "conv",
        .conv2d(
            Conv2d(
                weight: Tensor(name: "conv.w", shape: [3, 2, 3, 3], values: rng.floats(54)),
                bias: Tensor(
                    name: "conv.b", shape: [3], values: StorageFormat(.bfloat16, .deflate).roundTripped(rng.floats(3)),
                    storage: StorageFormat(.bfloat16, .deflate)),
                window: Window2d(k: 3, p: 1))), x)
    let g = b.add("gap", .globalPool(.average), c)
    let f = b.add("flat", .flatten(axis: 1), g)
    let l = b.add(
        "fc",
        .linear(
            Linear(
                weight: Tensor(
                    name: "fc.w", shape: [2, 3], values: StorageFormat(.float16, .shuffle).roundTripped(rng.floats(6)),
                    storage: StorageFormat(.float16, .shuffle)))), f)
    b.output(l)
    return try b.build().serialized()
}

final class HostileFileTests: XCTestCase {
    func testTheSmallModelIsValid() throws {
        let bytes = try smallModelBytes()
        XCTAssertNil(swiftVerdict(bytes))
        XCTAssertEqual(CLoader.open(bytes: bytes).status, CNNM_OK, CLoader.open(bytes: bytes).message)
    }

    func testEveryPrefixIsRefusedLikeSwift() throws {
        let bytes = try smallModelBytes()
        for n in 0..<bytes.count {
            let prefix = Array(bytes[0..<n])
            let c = CLoader.open(bytes: prefix)
            XCTAssertNotEqual(c.status, CNNM_OK, "prefix \(n) accepted")
            if let mismatch = verdictMismatch(prefix) { XCTFail("prefix \(n): \(mismatch)") }
        }
    }

    func testFlippedBitsAreRefusedLikeSwift() throws {
        let bytes = try smallModelBytes()
        var refused = 0
        for position in 0..<bytes.count {
            for bit in [position % 8, (position + 3) % 8] {
                var damaged = bytes
                damaged[position] ^= UInt8(1 << bit)
                if CLoader.open(bytes: damaged).status != CNNM_OK { refused += 1 }
                if let mismatch = verdictMismatch(damaged) { XCTFail("byte \(position) bit \(bit): \(mismatch)") }
            }
        }
        // Every byte is covered by a CRC or must be zero: no flip goes unnoticed.
        XCTAssertEqual(refused, 2 * bytes.count)
    }

    /// Header bytes mutated behind valid CRCs: both decoders (protobuf-c, SwiftProtobuf) and both
    /// graph checkers meet the damage; they must agree on accept/refuse and on the error.
    ///
    /// One known, deliberate difference: a known field encoded with the wrong wire type (say a
    /// varint where a submessage belongs). SwiftProtobuf and protoc keep it as an unknown field;
    /// protobuf-c refuses the message, so the C loader says CNNM_ERR_MALFORMED_HEADER. No writer
    /// produces such a header; the C side is stricter, never more lenient. (≈ 0.6% of these cases.)
    func testMutatedHeadersBehindValidChecksumsAgreeWithSwift() throws {
        let bytes = try smallModelBytes()
        let headerLength = bytes.withUnsafeBytes {
            Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
        let header = Array(bytes[64..<64 + headerLength])
        let data = dataSection(bytes)
        var rng = TestRandom(99)
        var mismatches: [String] = []
        var stricter = 0
        for case_ in 0..<1500 {
            var h = header
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let p = Int(rng.next() % UInt64(h.count))
                switch rng.next() % 4 {
                case 0: h[p] = UInt8(truncatingIfNeeded: rng.next())
                case 1: h.remove(at: p)
                case 2: h.insert(UInt8(truncatingIfNeeded: rng.next()), at: p)
                default: h[p] ^= UInt8(1 << (rng.next() % 8))
                }
            }
            var p = Preamble()
            p.headerLength = UInt64(h.count)
            p.dataOffset = Preamble.dataOffset(forHeaderLength: p.headerLength)
            p.dataLength = UInt64(data.count)
            p.headerCRC32 = crc32(h)
            var image = p.encoded() + h
            image += [UInt8](repeating: 0, count: Int(p.dataOffset) - image.count)
            image += data
            guard let m = verdictMismatch(image) else { continue }
            if CLoader.open(bytes: image).status == CNNM_ERR_MALFORMED_HEADER { stricter += 1; continue }
            mismatches.append("case \(case_): \(m)")
        }
        XCTAssertLessThan(stricter, 30, "protobuf-c refused \(stricter) headers SwiftProtobuf reads")
        XCTAssertTrue(
            mismatches.isEmpty,
            "\(mismatches.count) disagreements, e.g.\n" + mismatches.prefix(8).joined(separator: "\n"))
    }

    func testTrailingBytesAndTextModeDamage() throws {
        let bytes = try smallModelBytes()
        expect(bytes + [0], CNNM_ERR_LENGTH_MISMATCH, mentioning: "trailing")
        var crlf = bytes
        crlf.remove(at: 4)  // \r\n → \n, as a text-mode transfer does
        expect(crlf, CNNM_ERR_BAD_MAGIC, mentioning: "text-mode")
        expect(
            Array("hello world, not a model at all, clearly much longer than 64 bytes".utf8), CNNM_ERR_BAD_MAGIC,
            mentioning: "not a cnnconv file")
        expect(Array(bytes[0..<20]), CNNM_ERR_TOO_SHORT, mentioning: "shorter than the 64-byte preamble")
    }

    func testPreambleFieldsAreChecked() throws {
        let bytes = try smallModelBytes()
        expect(
            patchPreamble(bytes) { putLE(UInt16(2), at: 8, in: &$0) }, CNNM_ERR_UNSUPPORTED_VERSION,
            mentioning: "format 2.x")
        expect(
            patchPreamble(bytes) { putLE(UInt16(0), at: 8, in: &$0) }, CNNM_ERR_UNSUPPORTED_VERSION,
            mentioning: "format 0.x")
        expect(
            patchPreamble(bytes) { putLE(UInt32(1), at: 12, in: &$0) }, CNNM_ERR_RESERVED_NOT_ZERO, mentioning: "flags")
        expect(
            patchPreamble(bytes) { putLE(UInt64(65), at: 16, in: &$0) }, CNNM_ERR_HEADER_OFFSET,
            mentioning: "header offset")
        expect(
            patchPreamble(bytes) { putLE(UInt64(1) << 40, at: 24, in: &$0) }, CNNM_ERR_HEADER_TOO_LARGE,
            mentioning: "limit")
        expect(
            patchPreamble(bytes) { putLE(UInt64.max - 7, at: 40, in: &$0) }, CNNM_ERR_LENGTH_MISMATCH,
            mentioning: "truncated")
        expect(
            patchPreamble(bytes) { putLE(UInt64(128), at: 32, in: &$0) }, CNNM_ERR_DATA_OFFSET,
            mentioning: "data section starts")
        expect(
            patchPreamble(bytes) { putLE(UInt32(9), at: 52, in: &$0) }, CNNM_ERR_RESERVED_NOT_ZERO,
            mentioning: "byte 52")
        // A newer minor version loads.
        let newer = patchPreamble(bytes) { putLE(UInt16(7), at: 10, in: &$0) }
        XCTAssertEqual(CLoader.open(bytes: newer).status, CNNM_OK)
        XCTAssertNil(verdictMismatch(newer))
    }

    func testTensorTableAttacks() throws {
        let bytes = try smallModelBytes()
        let header = try ModelFile(bytes: bytes).header
        let data = dataSection(bytes)
        func variant(_ edit: (inout Cnnconv_V1_Model) -> Void, data d: [UInt8]? = nil) -> [UInt8] {
            var h = header
            edit(&h)
            return assemble(header: h, data: d ?? data)
        }
        // A tensor beyond the end of the data section.
        expect(
            variant({ $0.tensors[2].storedLength += 4096 }), CNNM_ERR_TENSOR_OUT_OF_BOUNDS, mentioning: "past the end")
        // An offset that wraps around 2^64.
        expect(
            variant({
                $0.tensors[1].offset = UInt64.max - 3; $0.tensors[1].storedLength = 64
            }), CNNM_ERR_TENSOR_MISPLACED, mentioning: "conv.b")
        // 2^40 elements, and dims whose product overflows 64 bits.
        expect(
            variant({ $0.tensors[0].dims = [1 << 20, 1 << 20] }), CNNM_ERR_TENSOR_TOO_LARGE, mentioning: "1099511627776"
        )
        expect(variant({ $0.tensors[0].dims = [1 << 32, 1 << 32, 2] }), CNNM_ERR_TENSOR_TOO_LARGE, mentioning: "2^64")
        // Overlapping tensors: the second starts inside the first.
        expect(variant({ $0.tensors[1].offset = 64 }), CNNM_ERR_TENSOR_MISPLACED, mentioning: "overlapping")
        // A deflate claim beyond 1032:1.
        expect(
            variant({ $0.tensors[1].dims = [1 << 30] }), CNNM_ERR_TENSOR_DECOMPRESSED_TOO_LARGE, mentioning: "1032:1")
        // Unknown dtype / encoding, duplicate names, raw length disagreeing with the shape.
        expect(variant({ $0.tensors[0].dtype = .unspecified }), CNNM_ERR_UNKNOWN_DTYPE, mentioning: "conv.w")
        expect(
            variant({ $0.tensors[0].encoding = Cnnconv_V1_Encoding(rawValue: 9)! }), CNNM_ERR_UNKNOWN_ENCODING,
            mentioning: "encoding 9")
        expect(variant({ $0.tensors[2].name = "conv.w" }), CNNM_ERR_DUPLICATE_TENSOR, mentioning: "conv.w")
        expect(variant({ $0.tensors[0].dims = [3, 2, 3, 2] }), CNNM_ERR_TENSOR_LENGTH, mentioning: "conv.w")
        // A wrong CRC, the data section not covered, non-zero padding.
        expect(variant({ $0.tensors[0].crc32 ^= 1 }), CNNM_ERR_TENSOR_CHECKSUM, mentioning: "conv.w")
        expect(
            variant({ _ in }, data: data + [UInt8](repeating: 0, count: 64)), CNNM_ERR_DATA_UNCOVERED,
            mentioning: "cover")
        var dirty = data
        dirty[Int(header.tensors[0].storedLength)] = 1  // the gap after the first tensor
        expect(variant({ _ in }, data: dirty), CNNM_ERR_PADDING_NOT_ZERO, mentioning: "padding byte")
        // A zlib stream that passes its CRC but does not inflate: garbage bytes with a valid CRC.
        var garbage = data
        let start = Int(header.tensors[1].offset)
        for i in start..<start + Int(header.tensors[1].storedLength) { garbage[i] = 0x55 }
        let corrupt = variant(
            { $0.tensors[1].crc32 = crc32(Array(garbage[start..<start + Int(header.tensors[1].storedLength)])) },
            data: garbage)
        XCTAssertEqual(
            CLoader.open(bytes: corrupt).status, CNNM_ERR_TENSOR_CORRUPT, CLoader.open(bytes: corrupt).message)
        XCTAssertNotNil(swiftVerdict(corrupt))
    }

    func testGraphAttacks() throws {
        let bytes = try smallModelBytes()
        let header = try ModelFile(bytes: bytes).header
        let data = dataSection(bytes)
        func variant(_ edit: (inout Cnnconv_V1_Model) -> Void) -> [UInt8] {
            var h = header
            edit(&h)
            return assemble(header: h, data: data)
        }
        expect(variant({ $0.nodes[0].conv2D.weight = "nope" }), CNNM_ERR_GRAPH_MISSING_TENSOR, mentioning: "'nope'")
        expect(variant({ $0.nodes[0].conv2D.bias = "" }), CNNM_ERR_GRAPH_UNREFERENCED_TENSOR, mentioning: "conv.b")
        expect(variant({ $0.nodes[1].inputs = ["ghost"] }), CNNM_ERR_GRAPH_UNDEFINED_VALUE, mentioning: "ghost")
        expect(variant({ $0.nodes.swapAt(0, 1) }), CNNM_ERR_GRAPH_UNDEFINED_VALUE, mentioning: "conv")
        expect(variant({ $0.nodes[1].name = "conv" }), CNNM_ERR_GRAPH_DUPLICATE_NAME, mentioning: "conv")
        expect(variant({ $0.nodes[1].outputs = ["x"] }), CNNM_ERR_GRAPH_DUPLICATE_NAME, mentioning: "'x'")
        expect(variant({ $0.outputs[0].name = "nowhere" }), CNNM_ERR_GRAPH_UNDEFINED_VALUE, mentioning: "nowhere")
        expect(variant({ $0.inputs[0].shape[1].size = 5 }), CNNM_ERR_GRAPH_SHAPE, mentioning: "channels")
        expect(variant({ $0.nodes[0].conv2D.groups = 2 }), CNNM_ERR_GRAPH_SHAPE, mentioning: "groups 2")
        expect(variant({ $0.nodes[0].conv2D.window.strideH = 0 }), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "stride")
        expect(
            variant({
                $0.nodes[3].linear.weight = "conv.w"; $0.nodes[0].conv2D.weight = "fc.w"
            }), CNNM_ERR_GRAPH_SHAPE, mentioning: "fc.w")
        expect(variant({ $0.nodes[2].flatten.axis = 7 }), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "axis 7")
        expect(variant({ $0.nodes[1].op = nil }), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "newer")
        expect(variant({ $0.inputs = [] }), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "no inputs")
        expect(
            variant({
                $0.outputs[0].shape = [.init(), .init()]; $0.outputs[0].shape[1].size = 3
            }), CNNM_ERR_GRAPH_SHAPE, mentioning: "declared")
    }

    func testNonFiniteParametersAndBadBatchNorm() throws {
        func model(variance: Float, weight: Float, rate: Double) throws -> [UInt8] {
            var b = GraphBuilder(name: "bn")
            let x = b.input("x", [.fixed(1), .fixed(2)])
            let n = b.add(
                "bn",
                .batchNorm(
                    BatchNorm(
                        scale: nil, bias: nil, runningMean: Tensor(name: "m", shape: [2], values: [0, 0]),
                        runningVariance: Tensor(name: "v", shape: [2], values: [1, 1]))), x)
            b.output(b.add("drop", .dropout(Dropout(rate: 0.5)), n))
            var header = try ModelFile(bytes: b.build().serialized()).header
            header.nodes[1].dropout.rate = rate
            let values: [String: [Float]] = ["m": [0, weight], "v": [1, variance]]
            let payloads = header.tensors.map {
                TensorPayload(name: $0.name, dims: [2], values: FloatBuffer(values[$0.name]!))
            }
            return try ModelFileWriter.serialize(header: header, tensors: payloads)
        }
        XCTAssertEqual(CLoader.open(bytes: try model(variance: 1, weight: 0, rate: 0.5)).status, CNNM_OK)
        expect(try model(variance: -1, weight: 0, rate: 0.5), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "running variance")
        expect(try model(variance: 1, weight: .nan, rate: 0.5), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "NaN")
        expect(try model(variance: 1, weight: .infinity, rate: 0.5), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "infinite")
        expect(try model(variance: 1, weight: 0, rate: 1), CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "rate")
    }

    func testFileSystemCases() throws {
        let dir = NSTemporaryDirectory() + "cnnm-hostile-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let empty = dir + "/empty.cnnm"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let missing = dir + "/missing.cnnm"
        for (path, status, words) in [
            (empty, CNNM_ERR_EMPTY, "empty"), (dir, CNNM_ERR_NOT_REGULAR_FILE, "directory"),
            (missing, CNNM_ERR_IO, "no such file"),
        ] {
            let c = CLoader.open(path: path)
            XCTAssertEqual(c.status, status, c.message)
            XCTAssertTrue(c.message.hasPrefix(path + ": "), c.message)
            XCTAssertTrue(c.message.contains(words), c.message)
            // The Swift reader says the same.
            do { _ = try ModelFile(path: path); XCTFail("Swift accepted \(path)") } catch {
                XCTAssertEqual(expectedStatus(error.reason), status, "\(error)")
            }
        }
        XCTAssertEqual(CLoader.open(bytes: []).status, CNNM_ERR_EMPTY)
        var model: OpaquePointer?
        XCTAssertEqual(cnnm_open_memory(nil, 10, &model, nil), CNNM_ERR_INVALID_ARGUMENT)
        XCTAssertNil(model)
    }

    // MARK: -

    func expect(
        _ bytes: [UInt8], _ status: cnnm_status, mentioning words: String, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let c = CLoader.open(bytes: bytes)
        XCTAssertEqual(
            String(cString: cnnm_status_name(c.status)), String(cString: cnnm_status_name(status)), c.message,
            file: file, line: line)
        XCTAssertTrue(c.message.contains(words), "message \"\(c.message)\" lacks \"\(words)\"", file: file, line: line)
        XCTAssertTrue(c.message.hasPrefix("<memory>: "), c.message, file: file, line: line)
        if let mismatch = verdictMismatch(bytes) {
            XCTFail("Swift and C disagree: \(mismatch)", file: file, line: line)
        }
    }
}
