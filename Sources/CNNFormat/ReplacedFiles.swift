// Freeing a replaced output's blocks off the command's critical path. Renaming a new file over
// an existing one frees the old file's blocks and page cache inside `rename` (ext4, 102 MB:
// ~20 ms quiet, more under load) — time a command spends after its work is done. When a process
// opts in, `AtomicFileWriter.commit` keeps a reference to the old inode (an O_PATH descriptor,
// which needs no read permission and cannot block), so that `rename` only swaps the names; the
// process then hands that reference to a short-lived child at exit, which drops it after the
// parent has closed its own: the freeing happens in the child, on another core, after the
// command has reported. Nothing is written and no path is created; the rename and both fsyncs
// are unchanged, so a crash still leaves the old or the new complete file (an orphaned inode is
// freed by the file system's recovery).
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The files this process's atomic writes replaced, still referenced after their rename until
/// `releaseAtExit()` hands them to a child that frees them. Process-wide because exit is.
public enum ReplacedFiles {
    nonisolated(unsafe) private static var enabled = false
    nonisolated(unsafe) private static var held: [Int32] = []
    private static let lock = NSLock()

    /// Makes later commits keep the file they replace open until `releaseAtExit()`. For a
    /// command-line process, which calls `releaseAtExit()` before it ends; a library user that
    /// does not opt in gets the old behaviour (freed inside `rename`).
    public static func holdUntilExit() {
        lock.lock()
        enabled = true
        lock.unlock()
    }

    /// Whether commits keep the file they replace (`holdUntilExit()` was called).
    static var isHolding: Bool {
        lock.lock()
        defer { lock.unlock() }
        return enabled
    }

    /// A reference to `path`'s inode, or nil when it does not exist (or on another system than
    /// Linux, where the replaced file is freed in `rename` as before).
    static func openForHolding(_ path: String) -> Int32? {
        #if os(Linux)
            let fd = open(path, linuxOPath | O_CLOEXEC | O_NOFOLLOW)
            return fd >= 0 ? fd : nil
        #else
            return nil
        #endif
    }

    /// The references held now (tests).
    static var heldDescriptors: [Int32] {
        lock.lock()
        defer { lock.unlock() }
        return held
    }

    /// Keeps `fd` (from `openForHolding`, after the rename) until `releaseAtExit()`.
    static func hold(_ fd: Int32) {
        lock.lock()
        held.append(fd)
        lock.unlock()
    }

    /// Hands the held references to a child process that drops them once this process has
    /// dropped its own, and returns at once. Call it last, when the command has done its work:
    /// a reference this process still held at exit would make the exit pay for the freeing.
    /// When the child cannot be made, the references are closed here (the freeing is paid now).
    public static func releaseAtExit() {
        lock.lock()
        let fds = held
        held = []
        lock.unlock()
        guard !fds.isEmpty else { return }
        #if os(Linux)
            var pipeEnds: [Int32] = [-1, -1]
            if pipe(&pipeEnds) == 0 {
                let keep = (fds + [pipeEnds[0]]).sorted()  // made before fork: the child allocates nothing
                let signals = TemporaryFiles.signals
                var unblocked = sigset_t()
                sigemptyset(&unblocked)
                let child = fork()
                if child == 0 {
                    // The child: async-signal-safe calls only. Keep the held references and the
                    // pipe's read end, close the rest (stdout and stderr too, so nobody reading
                    // the command's output waits for this child), wait until the parent has
                    // closed the write end (its references are closed before it), then exit: the
                    // last references go, and the kernel frees the old files' blocks here.
                    // The parent's temporary-file cleanup is not the child's to run, and the
                    // child stays killable (the forking thread may have had signals blocked).
                    for sig in signals { signal(sig, SIG_DFL) }
                    sigprocmask(SIG_SETMASK, &unblocked, nil)
                    var fd: Int32 = 0
                    for k in keep {
                        if k > fd { _ = linuxCloseRange(UInt32(fd), UInt32(k - 1), 0) }
                        fd = k + 1
                    }
                    _ = linuxCloseRange(UInt32(fd), UInt32.max, 0)
                    var byte: UInt8 = 0
                    while read(pipeEnds[0], &byte, 1) < 0 && errno == EINTR {}
                    _exit(0)
                }
                for fd in fds { close(fd) }
                close(pipeEnds[0])
                close(pipeEnds[1])
                return
            }
        #endif
        for fd in fds { close(fd) }
    }
}

#if os(Linux)
    /// O_PATH (<bits/fcntl-linux.h>, the same value on every Linux architecture Swift supports):
    /// not imported into Swift.
    let linuxOPath: Int32 = 0o10000000
    /// glibc ≥ 2.34's close_range(2); declared here because Glibc's module does not export it.
    @_silgen_name("close_range")
    private func linuxCloseRange(_ first: UInt32, _ last: UInt32, _ flags: Int32) -> Int32
#endif
