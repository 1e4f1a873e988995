// oneDNN is loaded at run time (Sources/CDNNL): a machine without libdnnl must still run every
// model, on the native kernels, with the same results as asking for them. The library's absence
// is simulated by pointing CNNCONV_DNNL_LIBRARY at a file that does not exist (the loader reads
// it once per process, so each case is its own `cnnconv` process).
import CNNTestSupport
import Foundation
import Testing

@Suite struct OneDNNFallbackCLITests {
    /// `cnnconv run` on a fixed seed with `environment`, returning the output .npy's bytes.
    func runOutput(_ model: String, _ environment: [String: String], _ tmp: TemporaryDirectory, _ name: String)
        throws -> [UInt8]
    {
        let out = tmp.file("\(name).npy")
        let r = try CLI.run(["run", model, "--seed", "7", "--output", out], environment: environment)
        #expect(r.status == 0, "\(name): \(r.stderr)")
        return readBytes(out)
    }

    @Test func withoutTheLibraryTheNativeKernelsRunAndGiveTheNativeResult() throws {
        let tmp = TemporaryDirectory()
        let model = tmp.file("mobilenetv2.cnnm")
        let imported = try CLI.run(["import", Repository.fixture("zoo/mobilenetv2_w0.125_b1.onnx"), "-o", model])
        try #require(imported.status == 0, "\(imported.stderr)")
        let missing = ["CNNCONV_DNNL_LIBRARY": tmp.file("no-such-libdnnl.so.2")]
        let fallback = try runOutput(model, missing, tmp, "fallback")
        let native = try runOutput(model, ["CNNCONV_CONV": "native"], tmp, "native")
        #expect(!fallback.isEmpty)
        // Where oneDNN does load, its output differs from the native one (BatchNorm folded into the
        // weights, other summation order): so the equality above shows the library was not used.
        if FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/libdnnl.so.2") {
            let withOneDNN = try runOutput(model, [:], tmp, "onednn")
            #expect(withOneDNN != native, "oneDNN and native gave identical bytes: the test cannot tell them apart")
        }
        #expect(fallback == native, "without libdnnl the output must be the native kernels' bit for bit")
        // Asking for oneDNN when it cannot load falls back too, rather than failing.
        let forced = try runOutput(model, missing.merging(["CNNCONV_CONV": "onednn"]) { $1 }, tmp, "forced")
        #expect(forced == native)
    }
}
