// The C loader (plain zlib inflate) reads the compressed tensors Swift writes in independent
// pieces (issue 13): several pieces per tensor, every element type, both compressed encodings.
import CCNNLoader
import CNNFormat
import CNNGraph
import CNNTestSupport
import XCTest

final class PiecedStreamTests: XCTestCase {
    func testCLoaderReadsMultiPieceTensors() throws {
        var rng = TestRandom(5)
        var b = GraphBuilder(name: "pieces")
        var x = b.input("x", [.symbol("N"), .fixed(1001)])
        var expected: [String: [Float]] = [:]
        var features = 1001
        for type in StorageFormat.ElementType.allCases {
            for encoding in [StorageFormat.Encoding.deflate, .shuffle] {
                // 600 × 1001 or 1001 × 600 values: 2-3 pieces of 1 MiB, odd so planes straddle the cuts.
                let format = StorageFormat(type, encoding), out = features == 1001 ? 600 : 1001
                let values = format.roundTripped((0..<(out * features)).map { _ in Float(rng.uniform()) * 0.1 })
                let name = "\(type.rawValue).\(encoding.rawValue)"
                x = b.add(
                    name,
                    .linear(
                        Linear(weight: Tensor(name: name, shape: [out, features], values: values, storage: format))), x)
                expected[name] = values
                features = out
            }
        }
        b.output(x)
        let bytes = try b.build().serialized()
        guard let c = CLoader.open(bytes: bytes).model else {
            return XCTFail("C refused: \(CLoader.open(bytes: bytes).message)")
        }
        for (name, values) in expected {
            guard let t = cnnm_tensor_find(c.pointer, name)?.pointee else { XCTFail("no tensor \(name)"); continue }
            XCTAssertEqual(Int(t.count), values.count, name)
            let read = UnsafeBufferPointer(start: t.data, count: Int(t.count))
            XCTAssertTrue(zip(read, values).allSatisfy { $0.bitPattern == $1.bitPattern }, name)
        }
    }
}
