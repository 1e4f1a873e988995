// How many cores the kernels use, and the helpers that split work over them.
// OpenBLAS runs single-threaded; the kernels split GEMMs (by column or row blocks) and every
// other loop (by batch, channel or column tile) themselves with `DispatchQueue.concurrentPerform`,
// when the work is large enough to pay for it. One pool, no oversubscription, no spinning
// OpenBLAS threads competing with ours on a 2-core machine.

import CBLAS
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The thread count the kernels use. Each thread has its own setting (`withCount`), so two
/// executors on two threads, each with its own count, never see each other's; a thread that set
/// none gets `defaultCount`. Inside a parallel region the workers' count is 1 (no nesting).
/// The kernels set OpenBLAS's process-wide thread count to 1 on first use and do their own
/// splitting.
public enum KernelThreads {
    /// The number of active processors (at least 1).
    public static var defaultCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Threads the kernels called from this thread use, at least 1.
    public static var count: Int {
        let stored = Int(bitPattern: pthread_getspecific(threadCountKey))
        return stored > 0 ? stored : defaultCount
    }

    /// Runs `body` with this thread's kernels using `count` threads, then restores the setting.
    public static func withCount<R, E: Error>(_ count: Int, _ body: () throws(E) -> R) throws(E) -> R {
        let saved = pthread_getspecific(threadCountKey)
        pthread_setspecific(threadCountKey, UnsafeRawPointer(bitPattern: max(1, count)))
        defer { pthread_setspecific(threadCountKey, saved) }
        return try body()
    }
}

/// The per-thread slot behind `KernelThreads.count` (a lazily initialized global: created once,
/// thread-safely). It stores the count itself as the pointer's bit pattern; nil means unset.
let threadCountKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Makes OpenBLAS single-threaded, once (a lazily initialized global: thread-safe).
let openBLASSingleThreaded: Void = openblas_set_num_threads(1)

/// Below this many scalar operations a loop runs on the calling thread: dispatching to a second
/// core costs a few microseconds.
let parallelGrain = 32_768

/// How many threads a loop of `count` items of `costPerItem` scalar operations should use.
@inline(__always)
func threadsFor(_ count: Int, costPerItem: Int, maxThreads: Int = KernelThreads.count) -> Int {
    let threads = min(maxThreads, count)
    return threads <= 1 || count &* costPerItem < parallelGrain ? 1 : threads
}

/// Runs `body(chunk, range)` over `0..<count` split into contiguous chunks, one per thread
/// (`chunk` in `0..<threadsFor(count, costPerItem)`, usable to pick per-thread scratch), or on
/// the calling thread when the work is small. `body` must only write memory its items own.
/// Pass `maxThreads` when per-thread scratch was sized for a given count.
@inline(__always)
func parallelChunks(
    _ count: Int, costPerItem: Int, maxThreads: Int = KernelThreads.count,
    _ body: (Int, Range<Int>) -> Void
) {
    let threads = threadsFor(count, costPerItem: costPerItem, maxThreads: maxThreads)
    if threads == 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The chunks write disjoint memory; the box only silences the Sendable check for the
        // raw pointers the body captures.
        let box = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let lo = count * t / threads
            let hi = count * (t + 1) / threads
            if lo < hi { KernelThreads.withCount(1) { box.value(t, lo..<hi) } }
        }
    }
}

/// Runs `body` over `0..<count` in contiguous chunks across threads (see `parallelChunks`);
/// public so the executor's fused loops split work the same way.
@inline(__always)
public func parallelFor(
    _ count: Int, costPerItem: Int, maxThreads: Int = KernelThreads.count, _ body: (Range<Int>) -> Void
) {
    parallelChunks(count, costPerItem: costPerItem, maxThreads: maxThreads) { _, range in body(range) }
}

struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
