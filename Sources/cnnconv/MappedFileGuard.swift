// Models are read through a memory mapping (zero-copy weights). If another process truncates
// the file while it is mapped, the next touch of a page past the new end raises SIGBUS, which
// would kill the process with a crash report. This guard turns that into the documented
// failure: "cnnconv: MODEL: file changed while reading …" on stderr and exit 3.
//
// Why a signal handler: the fault can come from any read of a weight (checksums, NaN scan,
// folding, the executor's conversion), so no check before a read can close the race (the file
// can shrink right after it), and Swift cannot unwind from a signal (no sigsetjmp). The
// handler does only async-signal-safe work: one write(2) of a message prepared beforehand, then
// _exit(2). Copying every model into memory instead would be sound too, at the cost of the
// zero-copy load (2× peak memory on a 100 MB model).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum MappedFileGuard {
    /// The NUL-terminated message the handler writes: built before the handler can run, never
    /// freed, replaced by a single pointer store.
    nonisolated(unsafe) private static var message: UnsafeMutablePointer<CChar>? = nil
    nonisolated(unsafe) private static var paths: [String] = []

    /// Names `path` in the message and installs the handler (once).
    static func watch(_ path: String) {
        guard !paths.contains(path) else { return }
        paths.append(path)
        let text =
            "cnnconv: \(paths.joined(separator: ", ")): file changed while reading (truncated or rewritten by another process while cnnconv had it mapped)\n"
        let utf8 = text.utf8CString
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        utf8.withUnsafeBufferPointer { buffer.initialize(from: $0.baseAddress!, count: utf8.count) }
        let first = message == nil
        message = buffer
        if first { install() }
        // The old buffer is leaked on purpose: a handler running right now may still read it.
    }

    private static func install() {
        var action = sigaction()
        #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { _ in
                if let m = MappedFileGuard.message { _ = write(STDERR_FILENO, m, strlen(m)) }
                _exit(3)
            }
        #else
            action.__sigaction_u.__sa_handler = { _ in
                if let m = MappedFileGuard.message { _ = write(STDERR_FILENO, m, strlen(m)) }
                _exit(3)
            }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGBUS, &action, nil)
    }
}
