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
        let saved = KernelThreads.count
        defer { KernelThreads.count = saved }
        for threads in [1, 2] {
            KernelThreads.count = threads
            var totalSeconds = 0.0, totalFlops = 0.0
            print("threads \(threads)")
            for (name, repeats, cin, size, cout, k, s, p) in Self.layers {
                let g = try ConvGeometry(input: Shape4D(batch: 1, channels: cin, height: size, width: size),
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
                var best = Double.infinity
                for _ in 0..<5 {
                    let runs = 10
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<runs { conv2d(g, input: x, weight: w, bias: b, output: y, workspace: ws) }
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(runs))
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
                            Float.gemm(transposeA: false, transposeB: false, m: m, n: n, k: kk, alpha: 1, a: w, lda: kk,
                                       b: bm, ldb: n, beta: 0, c: y, ldc: n)
                        }
                        gemmBest = min(gemmBest, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e10)
                    }
                }
                print(String(format: "  %-28@ %8.3f ms  %6.1f GFLOP/s   (bare GEMM %6.1f GFLOP/s)", name as NSString,
                             best * 1e3, gflops, Double(g.flops) / gemmBest / 1e9))
                totalSeconds += best * Double(repeats)
                totalFlops += Double(g.flops * repeats)
            }
            print(String(format: "  ResNet-18 convs total: %.2f ms, %.1f GFLOP/s", totalSeconds * 1e3, totalFlops / totalSeconds / 1e9))
        }
    }
}
