// libFuzzer entry point: any byte string is imported as an ONNX model (external data resolved in
// a scratch folder holding one small data file). The import must either produce a graph that
// writes as a model file and reads back equal, or be refused with a typed error — never crash,
// trap on overflow, allocate without bound, hang, or touch memory out of bounds (AddressSanitizer
// watches; run with -rss_limit_mb and -timeout to catch the rest).
import CNNGraph
import CNNONNX
import Foundation

/// A folder with `weights.bin` (4 KiB) for models that name external data.
let scratch: String = {
    let dir = NSTemporaryDirectory() + "cnnconv-onnx-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    FileManager.default.createFile(
        atPath: dir + "/weights.bin", contents: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0) }))
    return dir
}()

/// libFuzzer's entry point: one input read as an ONNX model; any outcome but a crash, hang or
/// unbounded allocation is a pass.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNXImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard let (graph, _) = try? ONNXImporter.importModel(data: bytes, source: "fuzz.onnx", baseDirectory: scratch)
    else { return 0 }
    // What the importer accepts, the model file format must carry.
    guard let written = try? graph.serialized(), let reread = try? Graph(bytes: written), reread == graph else {
        fatalError("an imported graph did not round-trip through the model file format")
    }
    return 0
}
