// Data-movement kernels for the tensor ops (Reshape, Slice, Split, Expand, Gather, Concat, Pad,
// Tile): strided box copies that move contiguous inner runs with `update(from:count:)` (memcpy)
// instead of element by element wherever the innermost axes are contiguous on both sides.
// Inputs and outputs never overlap here.

/// A copy of a box of `shape` elements from a strided source to a strided destination, planned
/// once: size-1 axes dropped, trailing axes that are contiguous on both sides merged into one
/// run. A source stride may be 0 (broadcast) or negative (a reversed slice).
public struct BoxCopy: Sendable, Equatable {
    /// The axes left outside the inner run, with their strides.
    public let outer: [Int], sourceOuter: [Int], destinationOuter: [Int]
    /// The inner run: `run` elements, `sourceStep`/`destinationStep` apart.
    public let run: Int, sourceStep: Int, destinationStep: Int
    /// Every element of the box.
    public let count: Int

    /// The copy plan for a box of `shape` read with `source` strides and written with
    /// `destination` strides (in elements); size-1 axes are dropped and contiguous axes merged, so
    /// the inner loop is as long as possible. Traps if the three ranks differ (a caller's bug).
    public init(shape: [Int], source: [Int], destination: [Int]) {
        precondition(shape.count == source.count && shape.count == destination.count, "BoxCopy: rank mismatch")
        let keep = shape.indices.filter { shape[$0] != 1 }
        var dims = keep.map { shape[$0] }, s = keep.map { source[$0] }, d = keep.map { destination[$0] }
        count = shape.reduce(1, *)
        guard let last = dims.indices.last else {
            outer = []; sourceOuter = []; destinationOuter = []; run = 1; sourceStep = 0; destinationStep = 0
            return
        }
        var run = dims[last]
        let ss = s[last], ds = d[last]
        var a = last - 1
        while a >= 0, s[a] == ss * run, d[a] == ds * run {
            run *= dims[a]
            a -= 1
        }
        dims.removeSubrange((a + 1)...); s.removeSubrange((a + 1)...); d.removeSubrange((a + 1)...)
        outer = dims; sourceOuter = s; destinationOuter = d
        self.run = run; sourceStep = ss; destinationStep = ds
    }

    /// A dense copy of `shape` read with `source` strides (Slice, Expand, Split's parts).
    public init(shape: [Int], source: [Int]) {
        var dense = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in shape.indices.reversed() { dense[i] = acc; acc *= shape[i] }
        self.init(shape: shape, source: source, destination: dense)
    }

    /// Copies the box; `source` and `destination` point at the box's first element.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func copy<T: KernelScalar>(from source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>) {
        if count == 0 { return }
        let rank = outer.count
        if rank == 0 { copyRun(source, destination); return }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { index in
            index.initialize(repeating: 0)
            var so = 0, dO = 0
            while true {
                copyRun(source + so, destination + dO)
                var a = rank - 1
                while a >= 0 {
                    index[a] += 1
                    so += sourceOuter[a]; dO += destinationOuter[a]
                    if index[a] < outer[a] { break }
                    so -= sourceOuter[a] * outer[a]; dO -= destinationOuter[a] * outer[a]
                    index[a] = 0
                    a -= 1
                }
                if a < 0 { return }
            }
        }
    }

    @inline(__always)
    func copyRun<T: KernelScalar>(_ source: UnsafePointer<T>, _ destination: UnsafeMutablePointer<T>) {
        if destinationStep == 1 {
            if sourceStep == 1 { destination.update(from: source, count: run); return }
            if sourceStep == 0 { destination.update(repeating: source[0], count: run); return }
        }
        var s = 0, d = 0
        for _ in 0..<run {
            destination[d] = source[s]
            s += sourceStep; d += destinationStep
        }
    }
}

/// Gathers `indices` (each in 0..<axis) along the middle axis of a source viewed as
/// [outer, axis, inner]: the output is [outer, indices.count, inner], each inner run a memcpy.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func gatherRuns<T: KernelScalar>(
    _ source: UnsafePointer<T>, _ destination: UnsafeMutablePointer<T>,
    outer: Int, axis: Int, inner: Int, indices: [Int]
) {
    var d = destination
    for o in 0..<outer {
        let base = source + o * axis * inner
        for i in indices {
            d.update(from: base + i * inner, count: inner)
            d += inner
        }
    }
}

/// Concatenates parts viewed as [outer, runs[k]] into [outer, Σ runs]: per outer index, one
/// memcpy per part.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func concatRuns<T: KernelScalar>(
    _ parts: [UnsafePointer<T>], _ destination: UnsafeMutablePointer<T>, outer: Int, runs: [Int]
) {
    var d = destination
    for o in 0..<outer {
        for (p, run) in zip(parts, runs) {
            d.update(from: p + o * run, count: run)
            d += run
        }
    }
}

/// Tiles a dense `shape` source `repeats[a]` times along each axis: the first copy of each
/// block is built, then repeated with memcpy.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func tile<T: KernelScalar>(
    _ source: UnsafePointer<T>, _ destination: UnsafeMutablePointer<T>, shape: [Int], repeats: [Int]
) {
    let rank = shape.count
    if rank == 0 { destination[0] = source[0]; return }
    var inStrides = [Int](repeating: 1, count: rank), outStrides = inStrides
    for a in (0..<(rank - 1)).reversed() {
        inStrides[a] = inStrides[a + 1] * shape[a + 1]
        outStrides[a] = outStrides[a + 1] * shape[a + 1] * repeats[a + 1]
    }
    func fill(_ a: Int, _ s: UnsafePointer<T>, _ d: UnsafeMutablePointer<T>) {
        if a == rank - 1 {
            d.update(from: s, count: shape[a])
        } else {
            for i in 0..<shape[a] { fill(a + 1, s + i * inStrides[a], d + i * outStrides[a]) }
        }
        let block = shape[a] * outStrides[a]
        for r in 1..<max(repeats[a], 1) { (d + r * block).update(from: d, count: block) }
    }
    fill(0, source, destination)
}

/// Pads (or crops) along every axis: `maps[a][j]` is the source index that output index j of
/// axis a reads, or −1 for the constant `value`. Within the last axis the output range
/// `middle` reads the source contiguously from `middleSource`.
public struct PadCopy: Sendable {
    public let input: [Int], output: [Int]
    /// Per output axis, the source index each output index reads (−1: the constant), computed
    /// once at plan time from pads and mode (constant, edge, reflect).
    public let maps: [[Int]]
    /// The constant written where a map holds −1 (ONNX Pad's `constant_value`).
    public let value: Double
    let middle: Range<Int>, middleSource: Int

    /// A plan from per-axis index maps; finds the longest contiguous source run of the last axis
    /// so that `copy` moves it with one memcpy-like loop per row.
    public init(input: [Int], output: [Int], maps: [[Int]], value: Double) {
        self.input = input; self.output = output; self.maps = maps; self.value = value
        var middle = 0..<0, from = 0
        if let last = maps.last {
            // The longest run j..<k with last[j] ≥ 0 and last[i+1] = last[i] + 1.
            var j = 0
            while j < last.count {
                guard last[j] >= 0 else { j += 1; continue }
                var k = j + 1
                while k < last.count, last[k] == last[k - 1] + 1 { k += 1 }
                if k - j > middle.count { middle = j..<k; from = last[j] }
                j = k
            }
        }
        self.middle = middle; middleSource = from
    }

    /// Writes the padded (or cropped) output: `destination` holds `output`'s element count and is
    /// another buffer than `source` (the executor never pads in place).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func copy<T: KernelScalar>(from source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>) {
        let rank = output.count
        let fill = T(value)
        if rank == 0 { destination[0] = source[0]; return }
        var inStrides = [Int](repeating: 1, count: rank)
        for a in (0..<(rank - 1)).reversed() { inStrides[a] = inStrides[a + 1] * input[a + 1] }
        let row = output[rank - 1], lastMap = maps[rank - 1]
        let rows = output.dropLast().reduce(1, *)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { index in
            index.initialize(repeating: 0)
            var d = destination
            for _ in 0..<rows {
                // The source row, or none when an outer axis is in the constant border.
                var base = 0, inside = true
                for a in 0..<(rank - 1) {
                    let m = maps[a][index[a]]
                    if m < 0 { inside = false; break }
                    base += m * inStrides[a]
                }
                if !inside {
                    d.update(repeating: fill, count: row)
                } else {
                    let s = source + base
                    for j in 0..<middle.lowerBound { let m = lastMap[j]; d[j] = m < 0 ? fill : s[m] }
                    (d + middle.lowerBound).update(from: s + middleSource, count: middle.count)
                    for j in middle.upperBound..<row { let m = lastMap[j]; d[j] = m < 0 ? fill : s[m] }
                }
                d += row
                var a = rank - 2
                while a >= 0 {
                    index[a] += 1
                    if index[a] < output[a] { break }
                    index[a] = 0
                    a -= 1
                }
            }
        }
    }
}
