// How a classic op's definition binds its kernel for the executor (CNNRuntime/Plan.swift), in the
// manner of tensor ops' `prepare`: given fixed buffers and shapes, it returns the step. The ops
// the executor treats specially (Conv2d, ConvTranspose2d, Linear, BatchNorm, Dropout: pre-packed
// weights, train modes, statistics) return nil and stay bound in Plan.swift.
import CNNKernels

/// What the executor lends a kernel binding: parameters converted to its scalar once, in memory
/// the executor owns (so that its buffers outlive every run and its limits count them).
package struct KernelParameters<T: KernelScalar> {
    /// The tensor's values as `T`.
    package let tensor: (Tensor) -> UnsafePointer<T>
    /// `count` copies of `value` as `T` (the 1s and 0s of an op without γ or β).
    package let filled: (_ value: Double, _ count: Int) -> UnsafePointer<T>
    package init(
        tensor: @escaping (Tensor) -> UnsafePointer<T>,
        filled: @escaping (_ value: Double, _ count: Int) -> UnsafePointer<T>
    ) {
        self.tensor = tensor; self.filled = filled
    }
}

/// The buffers and shapes of one node in an executor's plan: its inputs in node order and its
/// (first) output, fixed for every run.
package struct KernelBuffers<T: KernelScalar> {
    package let inputs: [UnsafePointer<T>]
    package let inputShapes: [[Int]]
    package let output: UnsafeMutablePointer<T>
    package let outputShape: [Int]
    package init(inputs: [UnsafePointer<T>], inputShapes: [[Int]], output: UnsafeMutablePointer<T>, outputShape: [Int])
    {
        self.inputs = inputs; self.inputShapes = inputShapes; self.output = output; self.outputShape = outputShape
    }
    /// The first input, the one every single-input op reads.
    package var x: UnsafePointer<T> { inputs[0] }
    package var xs: [Int] { inputShapes[0] }
    /// Elements of the output.
    package var count: Int { outputShape.reduce(1, *) }
    /// The output as a copy of the first input (Identity, Flatten); nothing to do when the plan
    /// runs the op in place.
    package var copy: () -> Void {
        let (x, y, n) = (x, output, count)
        return { if UnsafePointer(y) != x { y.update(from: x, count: n) } }
    }
}

/// A dense shape as NCHW: [N, C, rest…] → (N, C, ∏rest, 1); [N] → (N, 1, 1, 1); a true 4-D
/// shape keeps H and W apart (the spatial kernels need both).
package func shape4(_ s: [Int]) -> Shape4D {
    if s.count == 4 { return Shape4D(batch: s[0], channels: s[1], height: s[2], width: s[3]) }
    return Shape4D(
        batch: s.first ?? 1, channels: s.count > 1 ? s[1] : 1,
        height: s.count > 2 ? s[2...].reduce(1, *) : 1, width: 1)
}

/// The kernels' window geometry for a graph window.
extension Window2d {
    var kernelSize: Size2D { Size2D(kernelH, kernelW) }
    var strideSize: Size2D { Size2D(strideH, strideW) }
    var dilationSize: Size2D { Size2D(dilationH, dilationW) }
    var padding: Padding2D { Padding2D(top: padTop, left: padLeft, bottom: padBottom, right: padRight) }
}
