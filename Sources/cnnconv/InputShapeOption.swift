// `--input-shape`: the shape of a model's inputs where the model leaves it open (ONNX with
// symbolic H/W), or the batch of a model whose batch is symbolic. Every command that reads a
// model takes it, with the syntax `import` has always had.
import ArgumentParser
import CNNConvKit
import Foundation

struct InputShapeOption: ParsableArguments {
    @Option(
        name: .customLong("input-shape"),
        help: ArgumentHelp(
            "The input's shape where the model leaves it open, e.g. 1,3,224,224; name=1,3,224,224 for one of several inputs (repeatable). On a .cnnm with a symbolic batch it fixes the batch (an ONNX model's stays symbolic, as import keeps it).",
            valueName: "shape"))
    var inputShapes: [String] = []

    func validate() throws { _ = try shapes() }

    /// The parsed shapes (a usage error, exit 2, when one does not parse).
    func shapes() throws -> InputShapes {
        do { return try InputShapes(parsing: inputShapes) } catch { throw ValidationError(error.description) }
    }
}

extension CLIFailure {
    /// A model that could not be read: an open input shape asks for `--input-shape` with the
    /// user's own command line completed by it; a shape that contradicts the model is a usage error.
    init(_ failure: ModelFiles.Failure) {
        switch failure.cause {
        case .invalidModel: self.init(failure.description)
        case .inputShapeMismatch: self.init(failure.description, exitCode: .usage)
        case .needsInputShape(let path, let input, let declared, let example):
            let command = (["cnnconv"] + CommandLine.arguments.dropFirst() + ["--input-shape", example])
                .map(shellQuoted).joined(separator: " ")
            self.init(
                "\(path): input '\(input)' has shape \(declared), which is not fully known; give it, e.g. \(command)",
                exitCode: .usage)
        }
    }
}

/// `word` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes.
func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=,:+@%-")
    if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
