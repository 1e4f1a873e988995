// Issue 12, the C loader's part: a decoded-bytes budget like the Swift reader's (checked before
// allocating, inflating straight into the result), name lookups that stay fast on 200k nodes,
// and error messages that never carry a raw control or bidi character. Each test fails on the
// loader before these fixes (the chain takes minutes there: linear lookups per node).
import CCNNLoader
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import XCTest

/// A header-only model: input `x` [1, 4], then `count` Relu nodes chained, output the last.
func reluChain(_ count: Int, name: (Int) -> String = { "relu\($0)" }) -> [UInt8] {
    assemble(header: reluChainHeader(count, name: name), data: [])
}

func reluChainHeader(_ count: Int, name: (Int) -> String = { "relu\($0)" }) -> Cnnconv_V1_Model {
    var h = Cnnconv_V1_Model()
    h.name = "chain"
    var input = Cnnconv_V1_ValueInfo()
    input.name = "x"
    input.dtype = .float32
    input.shape = [1, 4].map { d in
        var dim = Cnnconv_V1_Dimension(); dim.size = UInt64(d); return dim
    }
    h.inputs = [input]
    h.nodes.reserveCapacity(count)
    var previous = "x"
    for i in 0..<count {
        var node = Cnnconv_V1_Node()
        node.name = name(i)
        node.inputs = [previous]
        previous = "v\(i)"
        node.outputs = [previous]
        node.relu = Cnnconv_V1_Relu()
        h.nodes.append(node)
    }
    var output = Cnnconv_V1_ValueInfo()
    output.name = previous
    output.dtype = .float32
    h.outputs = [output]
    return h
}

final class HostileLimitsTests: XCTestCase {
    /// Four f16+deflate tensors of 5 M zeros: 80 MB of floats from a ~40 KB file. Refused at the
    /// 4th tensor, like the Swift reader, before any tensor is decoded.
    func testDecodedBytesOverTheBudgetAreRefusedLikeSwift() throws {
        let count = 5_000_000
        let zeros = FloatBuffer([Float](repeating: 0, count: count))
        let bomb = try ModelFileWriter.serialize(
            header: Cnnconv_V1_Model(),
            tensors: (0..<4).map {
                TensorPayload(name: "t\($0)", dims: [count], format: StorageFormat(.float16, .deflate), values: zeros)
            })
        let c = CLoader.open(bytes: bomb)
        XCTAssertEqual(String(cString: cnnm_status_name(c.status)), "CNNM_ERR_DECODED_TOO_LARGE", c.message)
        let budget = max(128 * UInt64(bomb.count), 64 << 20)  // FORMAT.md section 3
        XCTAssertTrue(
            c.message.contains(
                "tensor 't3' brings the decoded size to \(4 * count * 4) bytes, over the \(budget) bytes"), c.message)
        XCTAssertNil(verdictMismatch(bomb))
    }

    /// Compressed tensors of every kind inflate in place to the Swift reader's values (windows
    /// of 64 KiB, shuffled planes that straddle them).
    func testStreamedDecodingMatchesSwift() throws {
        var rng = TestRandom(5)
        var payloads: [TensorPayload] = []
        for type in StorageFormat.ElementType.allCases {
            for encoding in [StorageFormat.Encoding.deflate, .shuffle] {
                let format = StorageFormat(type, encoding)
                payloads.append(
                    TensorPayload(
                        name: "\(type)-\(encoding)", dims: [70_001], format: format,
                        values: FloatBuffer(format.roundTripped(rng.floats(70_001, scale: 3)))))
            }
        }
        let graphBytes = try affineModel(payloads)
        guard let opened = CLoader.open(bytes: graphBytes).model else {
            return XCTFail(CLoader.open(bytes: graphBytes).message)
        }
        for p in payloads {
            let t = cnnm_tensor_find(opened.pointer, p.name)
            XCTAssertNotNil(t, p.name)
            guard let t else { continue }
            let values = (0..<Int(t.pointee.count)).map { t.pointee.data[$0].bitPattern }
            XCTAssertEqual(values, p.values.array.map(\.bitPattern), p.name)
        }
    }

    /// Affine nodes over [1, n] whose scale/shift are the given tensors (pairs of equal length).
    func affineModel(_ payloads: [TensorPayload]) throws -> [UInt8] {
        let n = payloads[0].dims[0]
        var b = GraphBuilder(name: "codecs")
        var x = b.input("x", [.fixed(1), .fixed(n)])
        for k in stride(from: 0, to: payloads.count, by: 2) {
            let scale = Tensor(
                name: payloads[k].name, shape: [n], values: payloads[k].values.array, storage: payloads[k].format)
            let shift = Tensor(
                name: payloads[k + 1].name, shape: [n], values: payloads[k + 1].values.array,
                storage: payloads[k + 1].format)
            x = b.add("affine\(k)", .affine(Affine(scale: scale, shift: shift)), x)
        }
        b.output(x)
        return try b.build().serialized()
    }

    /// 200 000 nodes: the loader validates (sorted indexes instead of a linear search per name)
    /// and runs the chain in seconds; before, 40 000 nodes took a minute.
    func testA200kNodeChainLoadsAndRunsInSeconds() throws {
        let bytes = reluChain(200_000)
        let start = Date()
        guard let model = CLoader.open(bytes: bytes).model else { return XCTFail(CLoader.open(bytes: bytes).message) }
        let loaded = Date().timeIntervalSince(start)
        XCTAssertEqual(cnnm_node_count(model.pointer), 200_000)
        XCTAssertLessThan(loaded, 5, "loading took \(loaded) s")
        let out = try runC(bytes, inputs: [RefArray(shape: [1, 4], data: [-1, 2, -3, 4])])
        XCTAssertEqual(out[0].data, [0, 2, 0, 4])  // relu, however many times
        XCTAssertLessThan(Date().timeIntervalSince(start), 15)
        // Duplicates are still found, at the node Swift names: the last node repeats the first's name.
        let dup = reluChain(200_000) { $0 == 199_999 ? "relu0" : "relu\($0)" }
        let c = CLoader.open(bytes: dup)
        XCTAssertEqual(c.status, CNNM_ERR_GRAPH_DUPLICATE_NAME, c.message)
        XCTAssertTrue(c.message.contains("two nodes are named 'relu0'"), c.message)
    }

    /// Names with an ESC sequence (clear screen, window title), a bidi override, a newline and
    /// a C1 control reach the C error message escaped, as the Swift reader escapes them.
    func testErrorMessagesEscapeControlAndBidiCharacters() throws {
        let hostile = "a\u{1B}[2J\u{1B}]0;pwned\u{07}\u{202E}b\nc\u{9B}"
        // Node 2 reads a value nobody defines, so its name and the value's are in the message.
        var header = reluChainHeader(3) { $0 == 2 ? hostile : "n\($0)" }
        header.nodes[2].inputs = [hostile]
        let bytes = assemble(header: header, data: [])
        let c = CLoader.open(bytes: bytes)
        XCTAssertEqual(c.status, CNNM_ERR_GRAPH_UNDEFINED_VALUE, c.message)
        let escaped = "a\\x1b[2J\\x1b]0;pwned\\x07\\u{202e}b\\x0ac\\u{009b}"
        XCTAssertEqual(escaped, displaySafe(hostile))
        XCTAssertTrue(c.message.contains("node '\(escaped)' (relu) reads '\(escaped)'"), c.message)
        XCTAssertFalse(
            c.message.unicodeScalars.contains {
                $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E
            })
        // The Swift reader's message escapes the same way.
        let swift = String(describing: swiftVerdict(bytes).map { ModelError(path: "<memory>", reason: $0) })
        XCTAssertTrue(swift.contains(escaped), swift)
        // Bytes that are not UTF-8 in a path are shown as \xHH.
        var model: OpaquePointer?
        var error = cnnm_error()
        XCTAssertNotEqual(cnnm_open_file("/nonexistent/\u{1B}[31mred\u{202E}", &model, &error), CNNM_OK)
        XCTAssertEqual(message(of: error), "/nonexistent/\\x1b[31mred\\u{202e}: no such file")
    }
}
