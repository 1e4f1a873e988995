// Output names as people type them: one character, no folder, no extension (`fold -o a`
// crashed with SIGILL in Foundation's NSString path code).
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct PathCLITests {
    @Test func oneCharacterNamesInTheCurrentFolder() throws {
        let tmp = TemporaryDirectory()
        _ = tmp.write(readBytes(Repository.fixture("small_cnn.cnnm")), to: "m")
        let fold = try CLI.run(["fold", "m", "-o", "a"], currentDirectory: tmp.path)
        #expect(fold.status == 0, "\(fold.stderr)")
        #expect(try Graph(contentsOf: tmp.file("a")).nodes.count > 0)
        // No extension: the default output is MODEL.folded.
        let again = try CLI.run(["fold", "m", "--force"], currentDirectory: tmp.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(FileManager.default.fileExists(atPath: tmp.file("m.folded")))
        let export = try CLI.run(["export", "a", "-o", "b"], currentDirectory: tmp.path)
        #expect(export.status == 0, "\(export.stderr)")
        let run = try CLI.run(["run", "a", "--output", "y"], currentDirectory: tmp.path)
        #expect(run.status == 0, "\(run.stderr)")
    }
}
