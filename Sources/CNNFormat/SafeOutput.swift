import Foundation

// What a write may replace, decided in one place for every writer (model files, .npy, ONNX):
// only a regular file the user named, through a symlink to its target, never the input.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why an output path is refused. The CLI reports these as usage errors (exit 2).
public enum OutputPathError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The destination (after following symlinks) exists and is a directory, device, FIFO or socket.
    case notARegularFile(path: String, kind: String)
    /// The destination is the same file (device and inode) as an input of the command.
    case wouldReplaceInput(output: String, input: String)
    /// A symlink loop, an unreadable link, or an lstat failure other than "no such file".
    case unresolvable(path: String, reason: String)

    /// A message that says what to do instead, with hostile names escaped.
    public var description: String {
        switch self {
        case .notARegularFile(let path, let kind):
            return displaySafe(
                "\(path): is a \(kind), not a regular file — refusing to replace it; name a regular file as the output")
        case .wouldReplaceInput(let output, let input):
            return displaySafe(
                "\(output): is the input \(input) (the same file) — refusing to overwrite it; choose another output")
        case .unresolvable(let path, let reason):
            return displaySafe("\(path): cannot be used as an output: \(reason)")
        }
    }
}

/// An output path checked before anything is written. `target` is where the bytes go: the path
/// itself, or — when it is a symlink — the file the link chain ends at (which may not exist yet),
/// so a write replaces the target and keeps the link.
public struct OutputPath: Equatable, Sendable {
    /// As the user named it (for messages).
    public let path: String
    /// With the final component's symlinks followed.
    public let target: String
    /// The target's status when it exists (mode, owner, device and inode).
    let existing: FileStatus?

    struct FileStatus: Equatable, Sendable {
        var device: UInt64, inode: UInt64, mode: UInt32, owner: UInt32, group: UInt32
        init(_ s: stat) {
            device = UInt64(s.st_dev); inode = UInt64(s.st_ino); mode = UInt32(s.st_mode)
            owner = UInt32(s.st_uid); group = UInt32(s.st_gid)
        }
    }

    /// Resolves `path` and refuses a destination that exists and is not a regular file.
    public init(_ path: String) throws(OutputPathError) {
        self.path = path
        var current = path
        for _ in 0..<40 {
            var info = stat()
            if lstat(current, &info) != 0 {
                guard errno == ENOENT else { throw .unresolvable(path: path, reason: posixMessage(errno)) }
                target = current
                existing = nil
                return
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(current, &buffer, buffer.count - 1)
                guard n >= 0 else { throw .unresolvable(path: path, reason: posixMessage(errno)) }
                let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                current = link.hasPrefix("/") ? link : Self.folder(of: current) + "/" + link
            case S_IFREG:
                target = current
                existing = FileStatus(info)
                return
            default:
                throw .notARegularFile(path: path, kind: Self.kind(info.st_mode))
            }
        }
        throw .unresolvable(path: path, reason: "too many levels of symbolic links")
    }

    /// Resolves `path` and refuses it when it is not a regular file or is any of `inputs`.
    public init(_ path: String, notReplacing inputs: [String]) throws(OutputPathError) {
        try self.init(path)
        for input in inputs { try refuseIfSameFile(as: input) }
    }

    /// Refuses when the destination is the file at `input` (compared by device and inode, so a
    /// symlink, a hard link or another spelling of the path does not slip through). A missing
    /// input or output cannot be the same file.
    public func refuseIfSameFile(as input: String) throws(OutputPathError) {
        guard let existing else { return }
        var info = stat()
        guard stat(input, &info) == 0 else { return }
        if UInt64(info.st_dev) == existing.device && UInt64(info.st_ino) == existing.inode {
            throw .wouldReplaceInput(output: path, input: input)
        }
    }

    static func folder(of path: String) -> String {
        PathNames.folder(of: path)
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "directory"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        case S_IFIFO: return "FIFO"
        case S_IFSOCK: return "socket"
        default: return "special file"
        }
    }
}

/// Temporary files being written, for the SIGINT/SIGTERM handler to remove. Fixed storage
/// (slots of PATH_MAX bytes) because a signal handler may neither allocate nor lock.
enum TemporaryFiles {
    static let slotCount = 64
    static let slotLength = Int(PATH_MAX)
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotLength)
        p.initialize(repeating: 0, count: slotCount * slotLength)
        return p
    }()
    nonisolated(unsafe) static let inUse: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: slotCount)
        p.initialize(repeating: 0, count: slotCount)
        return p
    }()
    static let lock = NSLock()
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handlers once, and only over the default action: a process that ignores
    /// SIGINT (started with nohup, say) keeps ignoring it, and an application's own handler stays.
    static let handlersInstalled: Bool = {
        _ = (paths, inUse)  // initialized before a handler can read them
        for sig in signals {
            let previous = signal(sig, removeAndReraise)
            if previous != nil { signal(sig, previous) }  // SIG_IGN or another handler: leave it
        }
        return true
    }()

    /// Remembers `path` until `unregister`; nil when every slot is taken or the path is too long
    /// (the write still happens, only without cleanup on a signal).
    static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard bytes.count < slotLength else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard let slot = (0..<slotCount).first(where: { inUse[$0] == 0 }) else { return nil }
        let base = paths + slot * slotLength
        for (i, b) in bytes.enumerated() { base[i] = CChar(bitPattern: b) }
        base[bytes.count] = 0
        inUse[slot] = 1
        return slot
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.lock()
        inUse[slot] = 0
        lock.unlock()
    }
}

/// The handler: async-signal-safe calls only (unlink, signal, raise).
private func removeAndReraise(_ sig: Int32) {
    for slot in 0..<TemporaryFiles.slotCount where TemporaryFiles.inUse[slot] != 0 {
        unlink(TemporaryFiles.paths + slot * TemporaryFiles.slotLength)
    }
    signal(sig, SIG_DFL)
    raise(sig)
}
