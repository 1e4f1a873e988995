// The broadcasting binary kernel against an index-by-index numpy-rule reference computed here;
// the narrow-float rounding against values of the formats' definitions; Clip with min > max.

import CNNKernels
import Testing

@Suite("Broadcast and unary kernels")
struct TensorOpsElementwiseKernelTests {
    /// out[i] for the numpy broadcast of a and b, by unravelling each output index.
    func reference(
        _ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ out: [Int], _ f: (Double, Double) -> Double
    ) -> [Double] {
        func offset(_ index: [Int], _ s: [Int]) -> Int {
            var o = 0
            for (k, d) in s.enumerated() { o = o * d + (d == 1 ? 0 : index[out.count - s.count + k]) }
            return o
        }
        let n = out.reduce(1, *)
        return (0..<n).map { flat in
            var index = [Int](repeating: 0, count: out.count), rest = flat
            for k in out.indices.reversed() { index[k] = rest % out[k]; rest /= out[k] }
            return f(a[offset(index, sa)], b[offset(index, sb)])
        }
    }

    @Test(
        "every broadcast pattern matches the index-by-index rule",
        arguments: [
            ([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [1, 3, 1, 1]), ([2, 3, 4, 5], [5]), ([2, 3, 4, 5], []),
            ([], [2, 3]), ([3, 1, 5], [4, 1]), ([4, 1], [1, 6]), ([2, 1, 3, 1, 2, 3], [1, 3, 2, 1]), ([1, 1], [1]),
            ([2, 3, 1], [2, 1, 7]), ([64, 300], [300]),
        ])
    func patterns(_ shapes: ([Int], [Int])) throws {
        let (sa, sb) = shapes
        var out: [Int] = []
        let rank = max(sa.count, sb.count)
        for i in 0..<rank {
            let x = i - (rank - sa.count) >= 0 ? sa[i - (rank - sa.count)] : 1
            let y = i - (rank - sb.count) >= 0 ? sb[i - (rank - sb.count)] : 1
            out.append(max(x, y))
        }
        let a = (0..<sa.reduce(1, *)).map { Double($0 % 17) - 8.5 }
        let b = (0..<sb.reduce(1, *)).map { Double($0 % 13) * 0.25 + 0.5 }
        let plan = try BroadcastPlan(a: sa, b: sb, output: out)
        for (f, g) in [
            (BinaryFunction.add, { (x: Double, y: Double) in x + y }), (.sub, { $0 - $1 }), (.div, { $0 / $1 }),
            (.max, { Swift.max($0, $1) }), (.prelu, { $0 < 0 ? $0 * $1 : $0 }),
        ] {
            let expected = reference(a, sa, b, sb, out, g)
            var y = [Double](repeating: .nan, count: expected.count)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    y.withUnsafeMutableBufferPointer { py in
                        broadcastBinary(f, plan, pa.baseAddress!, pb.baseAddress!, output: py.baseAddress!)
                    }
                }
            }
            #expect(y == expected, "\(f) of \(sa) and \(sb)")
        }
    }

    @Test func refusesShapesThatDoNotBroadcast() {
        #expect(throws: KernelError.self) { try BroadcastPlan(a: [2, 3], b: [4], output: [2, 3]) }
        #expect(throws: KernelError.self) { try BroadcastPlan(a: [2, 3], b: [3], output: [3]) }
        #expect(throws: KernelError.self) { try BroadcastPlan(a: [1 << 40], b: [1], output: [1 << 40, 1 << 40]) }
    }

    @Test func roundingToNarrowFloats() {
        // 1/3 in binary16 is 0x3555 = 1365/4096; in bfloat16 0x3EAB = 171/512. 65520 is halfway
        // past binary16's largest finite value (65504): ties to even round it to infinity.
        let x: [Float] = [1 / 3, 65520, 65519, 1 + 1 / 256, 1 + 3 / 256, -0.0, 1e-8]
        let half: [Float] = [1365 / 4096, .infinity, 65504, 1 + 1 / 256, 1 + 3 / 256, -0.0, 0]
        let bf16: [Float] = [171 / 512, 65536, 65536, 1, 1 + 4 / 256, -0.0, Float(bitPattern: 0x322C_0000)]
        for (f, expected) in [(UnaryFunction.roundToFloat16, half), (.roundToBFloat16, bf16)] {
            var y = [Float](repeating: 0, count: x.count)
            applyUnary(f, input: x, output: &y, count: x.count)
            #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "\(f): \(y) vs \(expected)")
            var yd = [Double](repeating: 0, count: x.count)
            applyUnary(f, input: x.map(Double.init), output: &yd, count: x.count)
            #expect(yd == expected.map(Double.init), "\(f) in Double: \(yd)")
        }
    }

    @Test func clipWithMinAboveMaxGivesMax() {
        let x: [Double] = [-3, -1, 0, 0.5, 2, 7]
        var y = [Double](repeating: 0, count: x.count)
        activate(.clip(min: 1, max: -1), input: x, output: &y, count: x.count)
        #expect(y == [Double](repeating: -1, count: x.count))
    }
}
