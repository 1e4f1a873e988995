// Entry point: parse, run, and map every failure to one stderr line and a documented exit code.
import ArgumentParser
import CNNFormat
import Foundation

// An output this command replaces is freed after it has reported, in a child (ReplacedFiles).
ReplacedFiles.holdUntilExit()
do {
    var command = try CNNConv.parseAsRoot()
    try command.run()
    ReplacedFiles.releaseAtExit()
} catch let failure as CLIFailure {
    Terminal.error(failure.message)
    ReplacedFiles.releaseAtExit()
    exit(failure.exitCode.rawValue)
} catch let code as ExitCode {
    ReplacedFiles.releaseAtExit()
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
