// Reading the files an ONNX model involves (the model itself, its external-data files) so that a
// hostile file cannot make the importer block or read outside where it should: every open is
// non-blocking and accepts regular files only (a FIFO would block `open`/`read` forever, a device
// would stream without end); external data must resolve, symlinks and all, inside the model's
// folder; every offset and length is checked against the file's size before anything is read.
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum SafeFile {
    /// Why a file could not be read; the caller adds the file's role (model, external data).
    struct Failure: Error { var message: String }

    /// An open regular file. `close()` must be called (the readers below do).
    struct Opened {
        let fd: Int32
        let size: Int
        func close() { closeDescriptor(fd) }
    }

    /// Opens `path` for reading without blocking and checks it is a regular file.
    /// `followSymlink: false` refuses a symlink as the last component (O_NOFOLLOW).
    static func open(_ path: String, followSymlink: Bool) throws(Failure) -> Opened {
        var flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC
        if !followSymlink { flags |= O_NOFOLLOW }
        let fd = openDescriptor(path, flags)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP && !followSymlink { throw Failure(message: "is a symbolic link") }
            throw Failure(message: "cannot open: \(String(cString: strerror(e)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = errno
            closeDescriptor(fd)
            throw Failure(message: "cannot stat: \(String(cString: strerror(e)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            closeDescriptor(fd)
            throw Failure(message: "is not a regular file (\(kind(info.st_mode)))")
        }
        return Opened(fd: fd, size: Int(info.st_size))
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "mode \(String(mode, radix: 8))"
        }
    }

    /// `length` bytes from `offset` of an opened file, after checking they lie inside it.
    static func read(_ file: Opened, offset: Int, length: Int) throws(Failure) -> Data {
        guard offset >= 0, length >= 0, let end = ImportLimits.sum(offset, length), end <= file.size else {
            throw Failure(message: "is \(file.size) bytes; offset \(offset) + length \(length) runs past its end")
        }
        var data = Data(count: length)
        var done = 0
        let failure: Failure? = data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) -> Failure? in
            while done < length {
                let n = pread(file.fd, buffer.baseAddress! + done, length - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return Failure(message: "read failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { return Failure(message: "changed while reading (ended after \(offset + done) bytes)") }
                done += n
            }
            return nil
        }
        if let failure { throw failure }
        return data
    }

    /// The whole regular file at `path` (a symlink named by the user is followed).
    static func readAll(_ path: String) throws(Failure) -> Data {
        let file = try open(path, followSymlink: true)
        defer { file.close() }
        return try read(file, offset: 0, length: file.size)
    }

    /// The canonical absolute path (every symlink resolved), or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Resolves `location` (as an ONNX external-data entry names it) against `place.folder`:
    /// relative, no `..`, no NUL, of bounded length, and — every symlink resolved — inside one
    /// of the allowed folders.
    static func resolve(_ location: String, in place: ExternalDataFolder) throws(Failure) -> String {
        guard location.utf8.count <= ImportLimits.maxExternalPathLength else {
            throw Failure(
                message:
                    "location is \(location.utf8.count) bytes long; at most \(ImportLimits.maxExternalPathLength) are accepted"
            )
        }
        let components = location.split(separator: "/", omittingEmptySubsequences: true)
        guard !location.hasPrefix("/"), !location.contains("\0"), !components.contains(".."), !components.isEmpty else {
            throw Failure(message: "location '\(location)' must be a relative path inside the model's folder")
        }
        guard let base = realPath(place.folder) else {
            throw Failure(message: "the model's folder \(place.folder) cannot be resolved")
        }
        let joined = (base as NSString).appendingPathComponent(location)
        guard let resolved = realPath(joined) else {
            throw Failure(message: "file \(joined) cannot be opened: \(String(cString: strerror(errno)))")
        }
        let allowed = [base] + (place.linkedFolder.flatMap(realPath).map { [$0] } ?? [])
        guard allowed.contains(where: { resolved.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw Failure(message: "location '\(location)' resolves to \(resolved), outside the model's folder \(base)")
        }
        return resolved
    }
}

/// Where a model's external data may be read: named relative to `folder` (the model's folder as
/// the user named it) and resolving, symlinks and all, inside `folder` — or, for a model file that
/// is itself a symlink (as the Hugging Face cache lays models out: snapshots/… → blobs/…), inside
/// `linkedFolder`, the folder of the file it links to. Both are the user's choice, not the model's.
struct ExternalDataFolder: Sendable {
    var folder: String
    var linkedFolder: String? = nil
}

// The system calls, outside `SafeFile` whose members share their names.
private func openDescriptor(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
