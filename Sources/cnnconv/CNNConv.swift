// The root command: subcommands only; each lives in its own file.
import ArgumentParser
import CNNGraph

struct CNNConv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnnconv",
        abstract: "Inspect, fold, verify and convert CNN model files.",
        discussion: """
            Exit codes: 0 ok · 1 verification failed · 2 usage error · 3 invalid or corrupt input.
            """,
        version: Graph.version,
        subcommands: [
            InspectCommand.self, FoldCommand.self, VerifyCommand.self, RunCommand.self, RecalibrateCommand.self,
            ImportCommand.self, ExportCommand.self,
        ]
    )
}
