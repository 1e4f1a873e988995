// Writing a cnnconv file: encode tensors, lay them out packed and 64-aligned, write atomically.
import Foundation
import SwiftProtobuf

/// One tensor to write: its name, shape, how to store it, and its Float32 values.
public struct TensorPayload: Sendable {
    /// The tensor's name in the table: ops refer to it by this name.
    public var name: String
    /// The shape stored in the table; its product must equal the value count.
    public var dims: [Int]
    /// How to store it (dtype and encoding): the values are always given as Float32.
    public var format: StorageFormat
    /// The values, owned or still mapped from the file being rewritten (no copy needed).
    public var values: FloatBuffer

    /// A tensor to write; f32 raw by default because that is the zero-copy format readers map.
    public init(name: String, dims: [Int], format: StorageFormat = .f32Raw, values: FloatBuffer) {
        self.name = name
        self.dims = dims
        self.format = format
        self.values = values
    }
}

/// The one place files are laid out (alignment, packing, CRCs), so every writer produces the same
/// bytes for the same content; the Graph layer builds the header, this writes it.
public enum ModelFileWriter {
    /// Writes `header` (its tensor table replaced by one built here) and `tensors`, in the
    /// given order, to `path` atomically. The same inputs always give the same bytes.
    package static func write(header: Cnnconv_V1_Model, tensors: [TensorPayload], to path: String)
        throws(ModelFileError)
    {
        do {
            let plan = try Plan(header: header, tensors: tensors)
            var file = try AtomicFileWriter(destination: path)
            file.reserve(Int(plan.preamble.dataOffset + plan.preamble.dataLength))
            try plan.emit { bytes in try file.write(bytes) }
            try file.commit()
        } catch let error as FormatError {
            throw ModelFileError(path: path, reason: error)
        } catch {
            throw ModelFileError(path: path, reason: .ioError(String(describing: error)))
        }
    }

    /// The file image in memory (tests, and callers that send it elsewhere).
    package static func serialize(header: Cnnconv_V1_Model, tensors: [TensorPayload]) throws(FormatError) -> [UInt8] {
        let plan = try Plan(header: header, tensors: tensors)
        var out: [UInt8] = []
        out.reserveCapacity(Int(plan.preamble.dataOffset + plan.preamble.dataLength))
        plan.emitInMemory { out.append(contentsOf: $0) }
        return out
    }

    /// Everything decided before the first byte is written.
    struct Plan {
        var preamble = Preamble()
        var headerBytes: [UInt8] = []
        /// Per tensor: encoded bytes, or nil when the f32 values are written as they are.
        var encoded: [[UInt8]?] = []
        var tensors: [TensorPayload]

        init(header: Cnnconv_V1_Model, tensors: [TensorPayload]) throws(FormatError) {
            self.tensors = tensors
            var header = header
            header.tensors = []
            var seen = Set<String>()
            var offset: UInt64 = 0
            // Encode in parallel, piece by piece: compression dominates the time of a compressed
            // write, and pieces of one large tensor keep every core busy. Raw f32 tensors only
            // need their CRC. The bytes do not depend on the order the pieces finish in.
            let (results, rawCRC) = try Self.encodeInParallel(tensors)
            for (i, t) in tensors.enumerated() {
                guard seen.insert(t.name).inserted else { throw .duplicateTensorName(t.name) }
                let bytes = results[i]
                encoded.append(bytes)
                var entry = Cnnconv_V1_TensorEntry()
                entry.name = t.name
                entry.dtype = Self.dtype(t.format.elementType)
                entry.encoding = Self.encoding(t.format.encoding)
                entry.dims = t.dims.map { UInt64($0) }
                offset = alignUp(offset)
                entry.offset = offset
                if let bytes {
                    entry.storedLength = UInt64(bytes.count)
                    entry.crc32 = bytes.withUnsafeBytes { crc32($0) }
                } else {
                    entry.storedLength = UInt64(t.values.count * 4)
                    entry.crc32 = rawCRC[i]
                }
                offset += entry.storedLength
                header.tensors.append(entry)
            }
            var options = BinaryEncodingOptions()
            options.useDeterministicOrdering = true
            do {
                headerBytes = try header.serializedBytes(options: options)
            } catch {
                throw .malformedHeader("cannot serialize the header: \(error)")
            }
            preamble.headerLength = UInt64(headerBytes.count)
            preamble.dataOffset = Preamble.dataOffset(forHeaderLength: preamble.headerLength)
            preamble.dataLength = offset
            preamble.headerCRC32 = headerBytes.withUnsafeBytes { crc32($0) }
        }

        /// Every tensor's stored bytes (nil for raw f32) and raw f32 CRCs, computed as one list
        /// of jobs (a CRC, or one piece of a compressed tensor) over every core.
        static func encodeInParallel(_ tensors: [TensorPayload]) throws(FormatError) -> (
            results: [[UInt8]?], rawCRC: [UInt32]
        ) {
            var jobs: [(tensor: Int, piece: Int)] = []
            var layouts: [DeflatePieces?] = []
            for (i, t) in tensors.enumerated() {
                if t.format == .f32Raw {
                    layouts.append(nil)
                    jobs.append((i, -1))
                } else if t.format.encoding == .raw {
                    layouts.append(nil)
                    jobs.append((i, 0))
                } else {
                    let pieces = DeflatePieces(count: t.values.count, format: t.format)
                    layouts.append(pieces)
                    for k in 0..<pieces.count { jobs.append((i, k)) }
                }
            }
            let (jobList, layoutList) = (jobs, layouts)
            let pieces = ParallelSlots<Result<DeflatePieces.Piece, FormatError>?>(count: jobs.count, initial: nil)
            let rawBytes = ParallelSlots<[UInt8]?>(count: tensors.count, initial: nil)
            let crcs = ParallelSlots<UInt32>(count: tensors.count, initial: 0)
            DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
                let (i, k) = jobList[j]
                let t = tensors[i]
                if k < 0 {
                    // Computed values (a fold) are checksummed piece by piece while in cache, by
                    // the fold's value check already or by a pass here; `emit` makes them again
                    // as it writes.
                    if t.values.isComputedOnDemand, t.values.knownRawCRC32 == nil { t.values.forEachChunk { _, _ in } }
                    crcs[i] =
                        t.values.knownRawCRC32 ?? t.values.withUnsafeBufferPointer { crc32(UnsafeRawBufferPointer($0)) }
                    return
                }
                t.values.withUnsafeBufferPointer { v in
                    if let layout = layoutList[i] {
                        pieces[j] = Result { () throws(FormatError) -> DeflatePieces.Piece in
                            try layout.compress(v, piece: k)
                        }
                    } else {
                        rawBytes[i] = TensorCodec.rawBytes(v, as: t.format.elementType)
                    }
                }
            }
            var results = [[UInt8]?](repeating: nil, count: tensors.count)
            var rawCRC = [UInt32](repeating: 0, count: tensors.count)
            var j = 0
            for i in tensors.indices {
                rawCRC[i] = crcs[i]
                if let layout = layouts[i] {
                    var parts: [DeflatePieces.Piece] = []
                    for _ in 0..<layout.count {
                        guard let piece = pieces[j] else { throw .compressionFailed("piece \(j) was not compressed") }
                        parts.append(try piece.get())
                        j += 1
                    }
                    results[i] = layout.assemble(parts)
                } else {
                    results[i] = rawBytes[i]
                    j += 1
                }
            }
            return (results, rawCRC)
        }

        func emitInMemory(_ sink: (UnsafeRawBufferPointer) -> Void) {
            // The sink cannot fail, so neither can emit.
            try? emit { sink($0) }
        }

        func emit(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
            let zeros = [UInt8](repeating: 0, count: Int(FormatLimits.alignment))
            func pad(_ n: Int) throws {
                if n > 0 { try zeros.withUnsafeBytes { z in try sink(UnsafeRawBufferPointer(rebasing: z[0..<n])) } }
            }
            try preamble.encoded().withUnsafeBytes { b in try sink(b) }
            try headerBytes.withUnsafeBytes { b in try sink(b) }
            try pad(Int(preamble.dataOffset) - FormatLimits.preambleLength - headerBytes.count)
            // Computed values (a fold) are made on another core, just ahead of the writes.
            let computed = tensors.indices.filter { encoded[$0] == nil && tensors[$0].values.isComputedOnDemand }
            let ahead = computed.isEmpty ? nil : ComputeAhead(computed.map { tensors[$0].values })
            defer { ahead?.finish() }
            var position: UInt64 = 0
            for (i, t) in tensors.enumerated() {
                let aligned = alignUp(position)
                try pad(Int(aligned - position))
                position = aligned
                if let bytes = encoded[i] {
                    try bytes.withUnsafeBytes { b in try sink(b) }
                    position += UInt64(bytes.count)
                } else if let ahead, t.values.isComputedOnDemand {
                    try ahead.write(count: t.values.count, to: sink)
                    position += UInt64(t.values.count * 4)
                } else {
                    try t.values.forEachChunk { _, v in try sink(UnsafeRawBufferPointer(v)) }
                    position += UInt64(t.values.count * 4)
                }
            }
        }

        static func dtype(_ type: StorageFormat.ElementType) -> Cnnconv_V1_DataType {
            switch type {
            case .float32: return .float32
            case .float16: return .float16
            case .bfloat16: return .bfloat16
            }
        }

        static func encoding(_ encoding: StorageFormat.Encoding) -> Cnnconv_V1_Encoding {
            switch encoding {
            case .raw: return .raw
            case .deflate: return .deflate
            case .shuffle: return .shuffleDeflate
            }
        }
    }
}

/// Computes the values of computed tensors (a fold's weights) on a thread of its own, in the
/// order the writer writes them, through a ring of small buffers that stay in cache: the
/// arithmetic runs on one core while the other copies the previous pieces into the file.
final class ComputeAhead: @unchecked Sendable {
    static let slots = 4
    private let chunk = FloatBuffer.chunkElements
    private let buffers: UnsafeMutablePointer<Float>
    private let ready = (0..<ComputeAhead.slots).map { _ in DispatchSemaphore(value: 0) }
    /// Made at 0 and signalled once in `init`: libdispatch traps when a semaphore is freed with
    /// a count below the one it was made with, which a stopped producer can leave.
    private let free = (0..<ComputeAhead.slots).map { _ in DispatchSemaphore(value: 0) }
    private let done = DispatchSemaphore(value: 0)
    private let sources: [FloatBuffer]
    /// Set before `free` is signalled, read after a wait on it: the semaphore orders the two.
    private var cancelled = false
    /// The writer's position in the sequence of pieces.
    private var sequence = 0

    /// Starts computing `sources`, in order. A thread of its own, never a pool's: a writer
    /// waiting on a pool thread could otherwise starve it.
    init(_ sources: [FloatBuffer]) {
        self.sources = sources
        buffers = .allocate(capacity: Self.slots * chunk)
        for semaphore in free { semaphore.signal() }
        let thread = Thread { [self] in
            produce()
            done.signal()
        }
        thread.start()
    }

    private func produce() {
        var sequence = 0
        for source in sources {
            var start = 0
            while start < source.count {
                let slot = sequence % Self.slots
                free[slot].wait()
                if cancelled { return }
                let n = min(chunk, source.count - start)
                source.copyValues(
                    from: start, into: UnsafeMutableBufferPointer(start: buffers + slot * chunk, count: n))
                ready[slot].signal()
                start += n
                sequence += 1
            }
        }
    }

    /// Writes the next source's `count` values, piece by piece, as they are ready.
    func write(count: Int, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var start = 0
        while start < count {
            let slot = sequence % Self.slots
            ready[slot].wait()
            let n = min(chunk, count - start)
            try sink(UnsafeRawBufferPointer(start: buffers + slot * chunk, count: n * 4))
            free[slot].signal()
            start += n
            sequence += 1
        }
    }

    /// Stops the producer (after an error, or when all is written), waits for it, frees the ring.
    func finish() {
        cancelled = true
        for semaphore in free { semaphore.signal() }
        done.wait()
        buffers.deallocate()
    }
}

/// Slots written by index from `concurrentPerform` workers; each index is written by one worker.
/// The storage is a fixed allocation: an Array would be moved out and back during every
/// `withUnsafeMutableBufferPointer`, which races when two threads do it at once.
final class ParallelSlots<T>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<T>
    init(count: Int, initial: T) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: initial)
    }
    subscript(index: Int) -> T {
        get { storage[index] }
        set { storage[index] = newValue }
    }
    deinit {
        storage.deinitialize()
        storage.deallocate()
    }
}
