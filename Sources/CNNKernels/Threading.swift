// How many cores the kernels use, and the one helper that splits a loop over them.
// GEMMs run on OpenBLAS's own thread pool; every other loop is split over batch and channels
// with `DispatchQueue.concurrentPerform` when the work is large enough to pay for it.

import CBLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The thread count every kernel uses. Set it once, before running kernels (it also sets
/// OpenBLAS's thread count, which is process-wide); it is not meant to change while kernels
/// run on other threads.
public enum KernelThreads {
    nonisolated(unsafe) private static var storage: Int = defaultCount

    /// The number of active processors (at least 1).
    public static var defaultCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Threads used by the kernels, at least 1. Setting it also calls
    /// `openblas_set_num_threads`.
    public static var count: Int {
        get { storage }
        set {
            storage = max(1, newValue)
            openblas_set_num_threads(Int32(storage))
        }
    }
}

/// Below this many scalar operations a loop runs on the calling thread: dispatching to a second
/// core costs a few microseconds.
let parallelGrain = 32_768

/// Runs `body` over `0..<count`, split into contiguous chunks across `KernelThreads.count`
/// threads when `count * costPerItem` is large enough; otherwise on the calling thread.
/// `body` receives a half-open range of items and must only write to memory those items own.
@inline(__always)
func parallelFor(_ count: Int, costPerItem: Int, _ body: (Range<Int>) -> Void) {
    let threads = min(KernelThreads.count, count)
    if threads <= 1 || count &* costPerItem < parallelGrain {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The chunks write disjoint memory; the box only silences the Sendable check for the
        // raw pointers the body captures.
        let box = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let lo = count * t / threads
            let hi = count * (t + 1) / threads
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
