// Hand-run throughput measurement of conv2d on ResNet-18's layers (batch 1, 224x224), with 1
// and 2 threads. Skipped unless CNNKERNELS_BENCH is set; run in release:
//   CNNKERNELS_BENCH=1 swift test -c release --scratch-path .build-kernels --filter CNNKernelsTests.Benchmark

import CNNKernels
import Foundation
import Testing

@Suite(.enabled(if: ProcessInfo.processInfo.environment["CNNKERNELS_BENCH"] != nil), .serialized)
struct Benchmark {
    /// (name, count in ResNet-18, geometry arguments)
    static let layers: [(String, Int, Int, Int, Int, Int, Int, Int)] = [
        // name, repeats, cin, size, cout, kernel, stride, pad
        ("stem 3->64 7x7 s2 @224", 1, 3, 224, 64, 7, 2, 3),
        ("64->64 3x3 @56", 4, 64, 56, 64, 3, 1, 1),
        ("64->128 3x3 s2 @56", 1, 64, 56, 128, 3, 2, 1),
        ("64->128 1x1 s2 @56", 1, 64, 56, 128, 1, 2, 0),
        ("128->128 3x3 @28", 3, 128, 28, 128, 3, 1, 1),
        ("128->256 3x3 s2 @28", 1, 128, 28, 256, 3, 2, 1),
        ("128->256 1x1 s2 @28", 1, 128, 28, 256, 1, 2, 0),
        ("256->256 3x3 @14", 3, 256, 14, 256, 3, 1, 1),
        ("256->512 3x3 s2 @14", 1, 256, 14, 512, 3, 2, 1),
        ("256->512 1x1 s2 @14", 1, 256, 14, 512, 1, 2, 0),
        ("512->512 3x3 @7", 3, 512, 7, 512, 3, 1, 1),
        ("depthwise 144 3x3 @56", 0, 144, 56, 144, 3, 1, 1),
        ("pointwise 64->256 1x1 @56", 0, 64, 56, 256, 1, 1, 0),
    ]

    @Test func resnet18Convolutions() throws {
        for threads in [1, 2] {
            try KernelThreads.withCount(threads) {
                var totalSeconds = 0.0, totalFlops = 0.0
                print("threads \(threads)")
                for (name, repeats, cin, size, cout, k, s, p) in Self.layers {
                    let g = try ConvGeometry(
                        input: Shape4D(batch: 1, channels: cin, height: size, width: size),
                        outChannels: cout, kernel: Size2D(k), stride: Size2D(s), padding: Padding2D(p),
                        groups: name.hasPrefix("depthwise") ? cin : 1)
                    let x = UnsafeMutablePointer<Float>.allocate(capacity: g.input.count)
                    let w = UnsafeMutablePointer<Float>.allocate(capacity: g.weightCount)
                    let b = UnsafeMutablePointer<Float>.allocate(capacity: cout)
                    let y = UnsafeMutablePointer<Float>.allocate(capacity: g.output.count)
                    defer { x.deallocate(); w.deallocate(); b.deallocate(); y.deallocate() }
                    for i in 0..<g.input.count { x[i] = Float(i % 17) * 0.01 }
                    for i in 0..<g.weightCount { w[i] = Float(i % 13) * 0.01 }
                    b.update(repeating: 0.5, count: cout)
                    let ws = Workspace()
                    conv2d(g, input: x, weight: w, bias: b, output: y, workspace: ws)  // warm up
                    var best = Double.infinity, bestCPU = Double.infinity
                    for _ in 0..<5 {
                        let runs = 10
                        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = threadCPUSeconds()
                        for _ in 0..<runs { conv2d(g, input: x, weight: w, bias: b, output: y, workspace: ws) }
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(runs))
                        bestCPU = min(bestCPU, (threadCPUSeconds() - c0) / Double(runs))
                    }
                    let gflops = Double(g.flops) / best / 1e9
                    // The bare GEMM of the same size, to separate im2col cost from GEMM speed.
                    var gemmBest = Double.infinity
                    if !g.isDepthwise {
                        let m = cout, n = g.output.spatial, kk = cin * k * k
                        let bm = UnsafeMutablePointer<Float>.allocate(capacity: kk * n)
                        defer { bm.deallocate() }
                        bm.update(repeating: 0.25, count: kk * n)
                        for _ in 0..<5 {
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            for _ in 0..<10 {
                                Float.gemm(
                                    transposeA: false, transposeB: false, m: m, n: n, k: kk, alpha: 1, a: w, lda: kk,
                                    b: bm, ldb: n, beta: 0, c: y, ldc: n)
                            }
                            gemmBest = min(gemmBest, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e10)
                        }
                    }
                    // With 1 thread all work runs on this thread, so its CPU time excludes time lost
                    // to other processes on a shared machine.
                    let cpu =
                        threads == 1 ? String(format: "  per-CPU-second %6.1f", Double(g.flops) / bestCPU / 1e9) : ""
                    print(
                        String(
                            format: "  %-28@ %8.3f ms  %6.1f GFLOP/s   (bare 1-thread GEMM %6.1f)", name as NSString,
                            best * 1e3, gflops, Double(g.flops) / gemmBest / 1e9) + cpu)
                    totalSeconds += best * Double(repeats)
                    totalFlops += Double(g.flops * repeats)
                }
                print(
                    String(
                        format: "  ResNet-18 convs total: %.2f ms, %.1f GFLOP/s", totalSeconds * 1e3,
                        totalFlops / totalSeconds / 1e9))
            }
        }
    }
}

extension Benchmark {
    /// Memory-bound kernels on a ResNet-sized activation (64x112x112 floats, 3.2 MB).
    @Test func elementwiseThroughput() throws {
        let s = Shape4D(batch: 1, channels: 64, height: 112, width: 112)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: s.count)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: s.count)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 64 * 4)
        defer { x.deallocate(); y.deallocate(); p.deallocate() }
        for i in 0..<s.count { x[i] = Float(i % 31) - 15 }
        for i in 0..<256 { p[i] = 1 + Float(i % 5) }
        let pool = try PoolGeometry(input: s, kernel: Size2D(3), stride: Size2D(2), padding: Padding2D(1))
        let kernels: [(String, () -> Void)] = [
            ("relu", { activate(.relu, input: x, output: y, count: s.count) }),
            ("add of 2", { add([UnsafePointer(x), UnsafePointer(y)], output: y, count: s.count) }),
            (
                "batchNorm inference",
                {
                    batchNormInference(
                        s, input: x, output: y, scale: p, bias: p + 64, runningMean: p + 128,
                        runningVariance: p + 192, epsilon: 1e-5)
                }
            ),
            // The executor's fused loops (FusedClip.swift), run in place as the executor runs them:
            // each entry copies x into y first, so subtract "copy" (a loop that stopped vectorizing
            // would show here: a per-element branch made them 15× slower once, measured).
            ("copy", { y.update(from: x, count: s.count) }),
            (
                "batchNorm→relu fused, in place",
                {
                    y.update(from: x, count: s.count)
                    batchNormReLURows(
                        0..<64, channels: 64, plane: s.spatial, x: y, y: y, factor: p, centre: p + 128,
                        shift: p + 64)
                }
            ),
            (
                "add→relu fused, in place",
                {
                    y.update(from: x, count: s.count)
                    addReLU(x, y, y, from: 0, to: s.count)
                }
            ),
            ("maxPool 3x3 s2", { maxPool2d(pool, input: x, output: y) }),
            ("globalAveragePool", { globalAveragePool(s, input: x, output: y) }),
        ]
        for threads in [1, 2] {
            KernelThreads.withCount(threads) {
                for (name, body) in kernels {
                    body()
                    var best = Double.infinity
                    for _ in 0..<20 {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        body()
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    }
                    print(String(format: "threads %d  %-31@ %8.3f ms", threads, name as NSString, best * 1e3))
                }
            }
        }
    }
}

/// CPU time consumed by the calling thread.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
