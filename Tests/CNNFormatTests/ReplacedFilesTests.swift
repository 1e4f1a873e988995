// ReplacedFiles: a file an atomic write replaces stays referenced past the rename (so that
// `rename` does not free its blocks on the command's critical path) until it is handed off;
// a write that replaces nothing, or a process that did not opt in, holds nothing.
import CNNTestSupport
import Foundation
import Testing

@testable import CNNFormat

@Suite(.serialized) struct ReplacedFilesTests {
    static func replace(_ path: String, with bytes: [UInt8], holding: Bool) throws {
        var writer = try AtomicFileWriter(destination: path)
        try bytes.withUnsafeBytes { raw in try writer.write(raw) }
        try writer.commit(holdingReplaced: holding)
    }

    @Test func theReplacedFileIsHeldPastTheRenameThenHandedOff() throws {
        let dir = TemporaryDirectory()
        let old = [UInt8](repeating: 7, count: 1 << 16)
        let path = dir.write(old, to: "out.cnnm")
        var before = stat()
        #expect(stat(path, &before) == 0)
        try Self.replace(path, with: Array("new".utf8), holding: true)
        #expect(readBytes(path) == Array("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.cnnm"])
        #if os(Linux)
            let held = ReplacedFiles.heldDescriptors
            try #require(held.count == 1)
            var info = stat()
            #expect(fstat(held[0], &info) == 0)
            // The old inode, no longer linked anywhere, with its bytes still allocated.
            #expect(info.st_ino == before.st_ino && info.st_dev == before.st_dev)
            #expect(info.st_nlink == 0)
            #expect(info.st_size == off_t(old.count))
            ReplacedFiles.releaseAtExit()
            #expect(ReplacedFiles.heldDescriptors.isEmpty)
        #endif
    }

    @Test func nothingIsHeldWithoutOptingInOrWithoutAFileToReplace() throws {
        let dir = TemporaryDirectory()
        let path = dir.write([1, 2, 3], to: "out.cnnm")
        try Self.replace(path, with: [4], holding: false)
        #expect(readBytes(path) == [4])
        try Self.replace(dir.file("new.cnnm"), with: [5], holding: true)
        #expect(readBytes(dir.file("new.cnnm")) == [5])
        #expect(ReplacedFiles.heldDescriptors.isEmpty)
        #expect(!ReplacedFiles.isHolding)  // a library user gets the old behaviour by default
    }
}
