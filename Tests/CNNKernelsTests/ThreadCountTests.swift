// The kernel thread count is per calling thread: one executor's setting never leaks into
// another's running on another thread, and workers inside a parallel region do not nest.
import CNNKernels
import Dispatch
import Foundation
import Testing

@Suite struct ThreadCountTests {
    @Test func eachThreadKeepsItsOwnCount() {
        #expect(KernelThreads.count == KernelThreads.defaultCount)
        final class Seen: @unchecked Sendable { var a = 0, b = 0 }  // written before `done` is reached
        let seen = Seen()
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchGroup()
        // Thread A sets 3 and waits inside its setting while thread B reads its own.
        done.enter()
        Thread {
            KernelThreads.withCount(3) {
                started.signal()
                release.wait()
                seen.a = KernelThreads.count
            }
            done.leave()
        }.start()
        started.wait()
        done.enter()
        Thread {
            seen.b = KernelThreads.count
            release.signal()
            done.leave()
        }.start()
        done.wait()
        #expect(seen.a == 3)
        #expect(seen.b == KernelThreads.defaultCount)
        #expect(KernelThreads.count == KernelThreads.defaultCount, "the setting is restored after withCount")
    }

    @Test func workersOfAParallelRegionRunTheirKernelsOnOneThread() {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1_000_000)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 1_000_000)
        KernelThreads.withCount(2) {
            parallelFor(1_000_000, costPerItem: 1) { range in
                let inner = KernelThreads.count
                for i in range { counts[i] = inner }
            }
        }
        let values = Set(UnsafeBufferPointer(start: counts, count: 1_000_000))
        // Split over 2 threads on a 2-core machine (1 where only 1 core): each worker sees 1.
        #expect(values == [KernelThreads.defaultCount >= 2 ? 1 : 2])
    }
}
