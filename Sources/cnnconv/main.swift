// Entry point: parse, run, and map every failure to one stderr line and a documented exit code.
import ArgumentParser
import Foundation

do {
    var command = try CNNConv.parseAsRoot()
    try command.run()
} catch let failure as CLIFailure {
    Terminal.error(failure.message)
    exit(failure.exitCode.rawValue)
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    let code = CNNConv.exitCode(for: error)
    if code == .success {
        CNNConv.exit(withError: error)  // --help, --version
    }
    // Usage errors: ArgumentParser's message and usage, exit 2 (not its default 64).
    FileHandle.standardError.write(Data((CNNConv.fullMessage(for: error) + "\n").utf8))
    exit(code == .validationFailure ? ExitStatus.usage.rawValue : code.rawValue)
}
