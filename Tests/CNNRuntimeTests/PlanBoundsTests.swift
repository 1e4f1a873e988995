// Issue 12: the executor refuses, with a typed error and before allocating, a graph whose
// sizes overflow or whose buffer plan exceeds the memory limit; the kernels' geometry reports
// overflow instead of wrapping.
import CNNGraph
import CNNKernels
import CNNRuntime
import Foundation
import Testing

@Suite struct PlanBoundsTests {
    func constant(_ name: String, _ shape: [Int], _ value: Float = 1) -> Tensor {
        Tensor(name: name, shape: shape, values: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    @Test func aConvTransposeWithStride2To32Minus1IsAnErrorNotAWildWrite() throws {
        let s = Int(UInt32.max)
        let op = Op.convTranspose2d(
            ConvTranspose2d(weight: constant("w", [1, 1, 1, 1]), window: Window2d(kernel: (1, 1), stride: (s, s))))
        let g = Graph(
            inputs: [ValueInfo(name: "x", shape: [.fixed(1), .fixed(1), .fixed(2), .fixed(2)])],
            outputs: [ValueInfo(name: "up", shape: [])],
            nodes: [Node(name: "up", op: op, inputs: ["x"], outputs: ["up"])])
        do {
            _ = try Executor<Float>(graph: g)
            Issue.record("planned")
        } catch {
            guard case .invalidGraph(let m) = error else { Issue.record("\(error)"); return }
            #expect(m.contains("'up'"))
        }
        // The kernel's own geometry says so too (it is public API).
        #expect(throws: KernelError.self) {
            try ConvTransposeGeometry(
                input: Shape4D(batch: 1, channels: 1, height: 2, width: 2), outChannels: 1,
                kernel: Size2D(1), stride: Size2D(Int.max / 2))
        }
        #expect(throws: KernelError.self) {
            try ConvGeometry(
                input: Shape4D(batch: 1, channels: 1, height: 2, width: 2), outChannels: 1,
                kernel: Size2D(1), padding: Padding2D(Int.max / 2))
        }
        #expect(throws: KernelError.self) {
            try ResizeGeometry(
                input: Shape4D(batch: 1, channels: 1, height: 2, width: 2), scaleHeight: 1e300, scaleWidth: 1)
        }
    }

    @Test func thePlanIsCheckedAgainstTheLimitInItsOwnScalarType() throws {
        // x and y are 256 KiB each as f32: 512 KiB fits 768 KiB, but as f64 the plan needs 1 MiB.
        let g = Graph(
            inputs: [ValueInfo(name: "x", shape: [.fixed(1), .fixed(1), .fixed(256), .fixed(256)])],
            outputs: [ValueInfo(name: "y", shape: [])],
            nodes: [Node(name: "y", op: .activation(.relu), inputs: ["x"], outputs: ["y"])])
        let limits = SizeLimits(maxActivationBytes: 768 << 10)
        #expect(throws: Never.self) { _ = try Executor<Float>(graph: g, limits: limits) }
        do {
            _ = try Executor<Double>(graph: g, limits: limits)
            Issue.record("a 1 MiB plan passed a 768 KiB limit")
        } catch {
            #expect(error.description.contains("1 MiB") && error.description.contains("768 KiB"), "\(error)")
        }
    }

    @Test func aHugeBatchIsAnErrorNotACrash() throws {
        let g = Graph(
            inputs: [ValueInfo(name: "x", shape: [.symbol("N"), .fixed(3), .fixed(224), .fixed(224)])],
            outputs: [ValueInfo(name: "y", shape: [])],
            nodes: [Node(name: "y", op: .activation(.relu), inputs: ["x"], outputs: ["y"])])
        for batch in [1 << 20, 1 << 40, Int.max / 2] {
            #expect(throws: RuntimeError.self) { _ = try Executor<Float>(graph: g, batch: batch) }
        }
    }
}
