// Fold a model, check the result against the original, write it: cnnconv's main job in ten lines.
import CNNConvKit

let arguments = CommandLine.arguments
let outcome = try FoldJob().run(input: arguments[1], output: arguments[2])
let batchNorms = outcome.folded.nodes.filter { $0.op.kindName == "BatchNorm" }.count
let margin = outcome.verification?.outputs.compactMap(\.verdict?.margin).min() ?? 0
print("BatchNorm left: \(batchNorms) · verified: \(outcome.passed) (margin ×\(margin)) · wrote: \(outcome.wrote)")
