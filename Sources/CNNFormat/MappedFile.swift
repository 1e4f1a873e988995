import Foundation

// The POSIX edge: a read-only memory mapping of a whole file, and atomic file replacement.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file mapped read-only (`mmap(PROT_READ, MAP_PRIVATE)`), unmapped when the last reference
/// goes. Tensors read zero-copy keep their mapping alive by holding this object.
public final class MappedFile: @unchecked Sendable {
    /// Start of the mapping (page-aligned), or nil for an empty file.
    public let base: UnsafeRawPointer?
    /// The mapping's length in bytes: every offset read from the header is checked against it.
    public let size: Int

    /// The whole file as bytes, bounds-carrying, so the parsers never hold a bare pointer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// Maps `path`. Errors say what is wrong without the path; callers add it.
    public init(path: String) throws(FormatError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .ioError(posixMessage(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .ioError(posixMessage(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notARegularFile }
        size = Int(info.st_size)
        ownsAllocation = false
        if size == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .ioError("cannot map the file: " + posixMessage(errno))
        }
        base = UnsafeRawPointer(mapped)
    }

    private let ownsAllocation: Bool

    /// A 64-byte aligned in-memory copy of `bytes`, read like a mapped file (tests, pipes).
    public init(copying bytes: UnsafeRawBufferPointer) {
        size = bytes.count
        ownsAllocation = true
        if bytes.isEmpty {
            base = nil
            return
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        memory.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        base = UnsafeRawPointer(memory)
    }

    /// Drops the resident pages wholly inside `range` (bytes from the start) from this
    /// process; the next read faults them back in from the file. Lowers peak memory after a
    /// tensor has been consumed. A no-op for in-memory copies, whose pages hold the only copy.
    public func releasePages(_ range: Range<Int>) {
        guard !ownsAllocation, let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = min(range.upperBound, size) / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        guard let base else { return }
        if ownsAllocation {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }
}

func posixMessage(_ code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file"
    case EACCES: return "permission denied"
    case EISDIR: return "is a directory"
    default: return String(cString: strerror(code))
    }
}

#if os(Linux)
    /// glibc's `sync_file_range`, declared only under _GNU_SOURCE, which the Glibc module is not
    /// built with; integer arguments only, so the Swift and C conventions agree.
    @_silgen_name("sync_file_range")
    private func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
    /// SYNC_FILE_RANGE_WRITE (<bits/fcntl-linux.h>): start writeback of dirty pages, do not wait.
    private let linuxSyncFileRangeWrite: UInt32 = 2
    /// fallocate(2), declared for the same reason (Glibc's module does not export it).
    @_silgen_name("fallocate")
    private func linuxFallocate(_ fd: Int32, _ mode: Int32, _ offset: Int64, _ length: Int64) -> Int32
    /// FALLOC_FL_KEEP_SIZE (<linux/falloc.h>): allocate without changing the file's size.
    private let linuxFallocKeepSize: Int32 = 1
#endif

/// Writes a file atomically: a temporary file beside the destination (`.NAME.cnnconv-tmp-PID.XXXXXX`,
/// recognisable if a crash leaves one), fsync, rename, fsync of the folder. The destination is
/// checked first (`OutputPath`): a directory, device, FIFO or socket is refused, a symlink is
/// written through (its target is replaced, the link stays), and an existing file keeps its mode
/// and (when permitted) its owner. On any error, and on SIGINT/SIGTERM/SIGHUP, the temporary
/// file is removed and the destination is untouched.
public struct AtomicFileWriter: ~Copyable {
    /// The path as the caller gave it, for messages (the bytes go to `target`).
    public let destination: String
    /// Where the bytes go: the destination with symlinks followed.
    public let target: String
    private let temporaryPath: String
    private let cleanupSlot: Int?
    private var fd: Int32
    private var finished = false
    /// Bytes written, and the end of the range already handed to the disk (`startWriteback`).
    private var written = 0
    private var writebackStarted = 0
    /// Written bytes are handed to the disk every this many, while later ones are still being
    /// produced, so that `commit`'s fsync waits for the tail only (102 MB: fsync 50 → ~10 ms here).
    static let writebackStride = 8 << 20

    /// Checks the destination and opens the temporary file beside it, so that a refusal happens
    /// before any work is spent on the output.
    public init(destination: String) throws(FormatError) {
        _ = TemporaryFiles.handlersInstalled  // before the temporary file exists
        let output: OutputPath
        do { output = try OutputPath(destination) } catch { throw .ioError(error.description) }
        let folder = OutputPath.folder(of: output.target)
        let name = PathNames.name(of: output.target)
        // The path is registered for cleanup before the file exists (a signal may be handled on
        // any thread, at any moment), then created exclusively; a name taken is tried again.
        var fd: Int32 = -1, temporaryPath = "", slot: Int? = nil, failure: Int32 = 0
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0..<(1 << 48)), radix: 36)
            temporaryPath = folder + "/." + name + ".cnnconv-tmp-\(getpid())." + suffix
            slot = TemporaryFiles.register(temporaryPath)
            fd = open(temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            failure = errno
            if fd >= 0 { break }
            TemporaryFiles.unregister(slot)
            if failure != EEXIST { break }
        }
        guard fd >= 0 else {
            throw .ioError("cannot create a temporary file beside \(destination): " + posixMessage(failure))
        }
        if let existing = output.existing {
            fchmod(fd, mode_t(existing.mode & 0o7777))
            if existing.owner != getuid() || existing.group != getgid() {
                _ = fchown(fd, uid_t(existing.owner), gid_t(existing.group))  // root only; else ours
            }
        } else {
            fchmod(fd, 0o644)
        }
        self.destination = destination
        self.target = output.target
        self.fd = fd
        self.temporaryPath = temporaryPath
        self.cleanupSlot = slot
    }

    /// Writes `bytes` to `path` atomically, with every check above.
    public static func write(_ bytes: some ContiguousBytes, to path: String) throws(FormatError) {
        var file = try AtomicFileWriter(destination: path)
        var failure: FormatError?
        bytes.withUnsafeBytes { raw in
            do throws(FormatError) { try file.write(raw) } catch { failure = error }
        }
        if let failure { throw failure }  // the temporary file goes with `file`
        try file.commit()
    }

    /// Allocates `byteCount` bytes of blocks for the file before it is written (Linux
    /// `fallocate` with FALLOC_FL_KEEP_SIZE: the size still grows with the writes only), so that
    /// the file system maps them once instead of page by page at writeback (102 MB on ext4:
    /// ~6 ms less CPU and ~20 ms less wall time, measured). A hint: a failure (a file system
    /// without it, a full disk) is left for the writes to report.
    public func reserve(_ byteCount: Int) {
        #if os(Linux)
            if byteCount > 0 { _ = linuxFallocate(fd, linuxFallocKeepSize, 0, Int64(byteCount)) }
        #endif
    }

    /// Appends to the temporary file; nothing reaches the destination until `commit`.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, min(bytes.count - offset, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw .ioError("cannot write \(destination): " + posixMessage(errno))
            }
            offset += n
        }
        written += bytes.count
        if written - writebackStarted >= Self.writebackStride { startWriteback() }
    }

    /// Starts writing back what is written so far without waiting for it (Linux
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`); durability still comes from `commit`'s fsync.
    private mutating func startWriteback() {
        #if os(Linux)
            _ = linuxSyncFileRange(
                fd, Int64(writebackStarted), Int64(written - writebackStarted), linuxSyncFileRangeWrite)
        #endif
        writebackStarted = written
    }

    /// fsyncs, renames over the target, fsyncs the folder.
    public consuming func commit() throws(FormatError) {
        try commit(holdingReplaced: ReplacedFiles.isHolding)
    }

    /// `commit()`; with `holdingReplaced`, a file it replaces is kept open for
    /// `ReplacedFiles.releaseAtExit()` instead of being freed inside `rename`.
    consuming func commit(holdingReplaced: Bool) throws(FormatError) {
        finished = true
        defer { TemporaryFiles.unregister(cleanupSlot) }
        guard fsync(fd) == 0 else {
            let message = posixMessage(errno)
            close(fd); unlink(temporaryPath)
            throw .ioError("cannot sync \(destination): " + message)
        }
        close(fd)
        // The file being replaced, held so that the rename does not free its blocks (when the
        // process opted in: ReplacedFiles).
        let replaced = holdingReplaced ? ReplacedFiles.openForHolding(target) : nil
        guard rename(temporaryPath, target) == 0 else {
            let message = posixMessage(errno)
            if let replaced { close(replaced) }
            unlink(temporaryPath)
            throw .ioError("cannot write \(destination): " + message)
        }
        let dirfd = open(OutputPath.folder(of: target), O_RDONLY | O_DIRECTORY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
        if let replaced { ReplacedFiles.hold(replaced) }
    }

    deinit {
        if !finished {
            close(fd)
            unlink(temporaryPath)
            TemporaryFiles.unregister(cleanupSlot)
        }
    }
}
