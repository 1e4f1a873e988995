// One JSON convention for every `--json`: an object with schemaVersion 1, camelCase keys all the
// way down, numbers or null (never the strings "nan"/"inf").
import CNNTestSupport
import Foundation
import Testing

@Suite struct JSONConventionTests {
    /// Every key in `value`, recursively, but not inside maps whose keys are data (op names,
    /// metadata keys, tensor names): those are not field names.
    static let dataMaps: Set<String> = [
        "opCounts", "metadata", "perOpKindMs", "histogram", "fusedPatterns", "outputs", "batchNormStatistics",
    ]
    func keys(_ value: Any) -> [String] {
        if let d = value as? [String: Any] {
            return d.keys.sorted()
                + d.flatMap { k, v in Self.dataMaps.contains(k) && v is [String: Any] ? [] : keys(v) }
        }
        if let a = value as? [Any] { return a.flatMap(keys) }
        return []
    }

    @Test func everyCommandFollowsIt() throws {
        let tmp = TemporaryDirectory()
        let model = Repository.fixture("mixed_ops.cnnm")
        let commands: [[String]] = [
            ["inspect", model, "--json"],
            ["fold", model, "-o", tmp.file("f.cnnm"), "--json"],
            ["verify", model, model, "--samples", "2", "--per-layer", "--json"],
            ["run", model, "--mc-dropout", "2", "--repeat", "2", "--profile", "--json"],
            ["export", model, "-o", tmp.file("m.onnx"), "--json"],
            ["import", tmp.file("m.onnx"), "-o", tmp.file("back.cnnm"), "--json"],
            [
                "recalibrate", Repository.fixture("digits/digits_cnn.cnnm"), "--inputs",
                Repository.fixture("digits/calib_images.npy"),
                "-o", tmp.file("recalibrated.cnnm"), "--json",
            ],
            [
                "run", Repository.fixture("digits/digits_cnn.cnnm"), "--input",
                Repository.fixture("digits/test_images.npy"),
                "--mc-dropout", "3", "--labels", Repository.fixture("digits/test_labels.npy"), "--json",
            ],
        ]
        for arguments in commands {
            let r = try CLI.run(arguments)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(arguments)")
            #expect(object["schemaVersion"] as? Int == 1, "\(arguments[0])")
            let snake = keys(object).filter { $0.contains("_") }
            #expect(snake.isEmpty, "\(arguments[0]): keys not in camelCase: \(Set(snake).sorted())")
            #expect(!r.stdout.contains("\"nan\"") && !r.stdout.contains("\"inf\""), "\(arguments[0])")
        }
    }
}
