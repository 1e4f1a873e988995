// The bytes `fold --no-verify` writes, against files written by the tool before folded weights
// were streamed into the output (issue 13): main at ea02ffd, `cnnconv fold MODEL --no-verify
// [--dtype T | --compress E] -o OUT`, each file's length and zlib CRC-32 (Python's zlib.crc32).
// Streaming changes when and where the values are computed, never the bytes.
import CNNConvKit
import CNNFormat
import CNNTestSupport
import Foundation
import Testing

@Suite struct FoldBytesTests {
    static let written: [(model: String, storage: StorageFormat, length: Int, crc: UInt32)] = [
        ("every_op.cnnm", .f32Raw, 16000, 0xF4FA_DE20),
        ("every_op.cnnm", StorageFormat(.float32, .deflate), 14923, 0x5BA1_8454),
        ("every_op.cnnm", StorageFormat(.float32, .shuffle), 14859, 0x46D5_70D2),
        ("every_op.cnnm", StorageFormat(.bfloat16, .raw), 9376, 0x31C0_B870),
        ("every_op.cnnm", StorageFormat(.float16, .raw), 9376, 0x99D0_0802),
        ("mixed_ops.cnnm", .f32Raw, 10792, 0xFB8F_7BF4),
        ("mixed_ops.cnnm", StorageFormat(.float32, .deflate), 11057, 0x19DA_ED6C),
        ("mixed_ops.cnnm", StorageFormat(.float32, .shuffle), 11057, 0x9FAF_6E29),
        ("mixed_ops.cnnm", StorageFormat(.bfloat16, .raw), 6356, 0x29BC_50C8),
        ("mixed_ops.cnnm", StorageFormat(.float16, .raw), 6356, 0xAC42_7FDF),
        ("torch/mobilenet_mini.nofold.onnx", .f32Raw, 15124, 0xF5DE_2028),
        ("torch/mobilenet_mini.nofold.onnx", StorageFormat(.float32, .deflate), 15581, 0x6565_D3FA),
        ("torch/mobilenet_mini.nofold.onnx", StorageFormat(.float32, .shuffle), 15581, 0x3C1D_D79A),
        ("torch/mobilenet_mini.nofold.onnx", StorageFormat(.bfloat16, .raw), 10058, 0xF6F0_852A),
        ("torch/mobilenet_mini.nofold.onnx", StorageFormat(.float16, .raw), 10058, 0x37C9_66EB),
        ("zoo/mobilenetv2_w0.125_b4.onnx", .f32Raw, 838880, 0x732B_3B9D),
        ("zoo/mobilenetv2_w0.125_b4.onnx", StorageFormat(.float32, .deflate), 786224, 0xF589_61D1),
        ("zoo/mobilenetv2_w0.125_b4.onnx", StorageFormat(.float32, .shuffle), 726184, 0x92A4_26BC),
        ("zoo/mobilenetv2_w0.125_b4.onnx", StorageFormat(.bfloat16, .raw), 429136, 0x3E51_9B6C),
        ("zoo/mobilenetv2_w0.125_b4.onnx", StorageFormat(.float16, .raw), 429136, 0xCB93_89A3),
        ("zoo/resnet18_w0.125_b1.onnx", .f32Raw, 971104, 0x3849_AE5B),
        ("zoo/resnet18_w0.125_b1.onnx", StorageFormat(.float32, .deflate), 907823, 0xB569_C7B3),
        ("zoo/resnet18_w0.125_b1.onnx", StorageFormat(.float32, .shuffle), 838824, 0xC348_6F79),
        ("zoo/resnet18_w0.125_b1.onnx", StorageFormat(.bfloat16, .raw), 489104, 0x7C9A_4C37),
        ("zoo/resnet18_w0.125_b1.onnx", StorageFormat(.float16, .raw), 489104, 0x7396_7665),
        ("resnet_mini.cnnm", .f32Raw, 81832, 0x0017_0554),
        ("resnet_mini.cnnm", StorageFormat(.float32, .deflate), 77811, 0xD11C_EA3E),
        ("resnet_mini.cnnm", StorageFormat(.float32, .shuffle), 75443, 0xDB81_6BAA),
        ("resnet_mini.cnnm", StorageFormat(.bfloat16, .raw), 42132, 0x165D_237F),
        ("resnet_mini.cnnm", StorageFormat(.float16, .raw), 42132, 0x8D02_BCFB),
        ("torch/resnet_mini.nofold.onnx", .f32Raw, 26536, 0x7933_EA48),
        ("torch/resnet_mini.nofold.onnx", StorageFormat(.float32, .deflate), 25779, 0x2672_07FC),
        ("torch/resnet_mini.nofold.onnx", StorageFormat(.float32, .shuffle), 25779, 0x896A_2CC0),
        ("torch/resnet_mini.nofold.onnx", StorageFormat(.bfloat16, .raw), 14868, 0x8ADF_91B3),
        ("torch/resnet_mini.nofold.onnx", StorageFormat(.float16, .raw), 14868, 0x1097_4171),
        ("small_cnn.cnnm", .f32Raw, 98024, 0x845E_1C65),
        ("small_cnn.cnnm", StorageFormat(.float32, .deflate), 92147, 0xDA19_6411),
        ("small_cnn.cnnm", StorageFormat(.float32, .shuffle), 86579, 0x4A42_6E07),
        ("small_cnn.cnnm", StorageFormat(.bfloat16, .raw), 49620, 0x4059_8D23),
        ("small_cnn.cnnm", StorageFormat(.float16, .raw), 49620, 0xEB5C_8B03),
        ("torch/unet_mini.nofold.onnx", .f32Raw, 9160, 0x59FF_3CA2),
        ("torch/unet_mini.nofold.onnx", StorageFormat(.float32, .deflate), 8912, 0xCFE4_7887),
        ("torch/unet_mini.nofold.onnx", StorageFormat(.float32, .shuffle), 8848, 0x2387_D259),
        ("torch/unet_mini.nofold.onnx", StorageFormat(.bfloat16, .raw), 5892, 0x5359_9A68),
        ("torch/unet_mini.nofold.onnx", StorageFormat(.float16, .raw), 5892, 0x217F_E1DA),
    ]

    @Test func foldWritesTheBytesItWroteBefore() throws {
        let tmp = TemporaryDirectory()
        for (i, expected) in Self.written.enumerated() {
            var job = FoldJob()
            job.verification = nil
            job.storage = expected.storage
            let output = tmp.file("out\(i).cnnm")
            let outcome = try job.run(input: Repository.fixture(expected.model), output: output)
            #expect(outcome.wrote)
            let bytes = readBytes(output)
            #expect(
                bytes.count == expected.length && crc32(bytes) == expected.crc, "\(expected.model) \(expected.storage)")
        }
    }

    /// Over an existing output, and in place (the folded values are computed from the mapping
    /// of the file being replaced): the same bytes.
    @Test func replacingAnOutputOrTheInputWritesTheSameBytes() throws {
        let tmp = TemporaryDirectory()
        let expected = Self.written[0]
        let model = tmp.write(readBytes(Repository.fixture(expected.model)), to: "m.cnnm")
        var job = FoldJob()
        job.verification = nil
        let output = tmp.write(Array(repeating: 1, count: 200_000), to: "out.cnnm")
        #expect(try job.run(input: model, output: output).wrote)
        #expect(crc32(readBytes(output)) == expected.crc)
        #expect(try job.run(input: model, inPlace: true).wrote)
        #expect(readBytes(model).count == expected.length && crc32(readBytes(model)) == expected.crc)
    }
}
