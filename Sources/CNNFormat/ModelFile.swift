// Reading a cnnconv file: the preamble, the header, and the tensor table, all checked before use.
import Foundation
import SwiftProtobuf

/// An opened cnnconv file: its checked preamble and header, and access to tensor values.
/// Raw f32 tensors are served straight from the mapping; others are decoded on request.
public final class ModelFile: @unchecked Sendable {
    /// The path the file was opened from (or "<memory>"), for every message about it.
    public let path: String
    /// The checked preamble: version, lengths and CRCs a tool may show (`inspect`) or compare.
    public let preamble: Preamble
    /// The decoded header. Package-only, like every generated type (issue 15): code outside this
    /// package reads a model through CNNGraph's `Graph`, so the schema can change without breaking it.
    package let header: Cnnconv_V1_Model
    /// The mapping zero-copy tensors borrow from; holding the file keeps them valid.
    public let storage: MappedFile
    /// Whether every tensor's CRC-32 was checked when the file was opened.
    public let checksumsVerified: Bool
    private let entriesByName: [String: Int]

    /// The file's length, the basis of the decoded-bytes budget (FORMAT.md section 3).
    public var fileSize: UInt64 { UInt64(storage.size) }
    package var tensorEntries: [Cnnconv_V1_TensorEntry] { header.tensors }

    /// Opens and checks `path` (FORMAT.md section 6). With `verifyChecksums` false, tensor
    /// CRCs are skipped (the preamble's and header's are always checked).
    public convenience init(path: String, verifyChecksums: Bool = true) throws(ModelFileError) {
        let mapped: MappedFile
        do { mapped = try MappedFile(path: path) } catch { throw ModelFileError(path: path, reason: error) }
        try self.init(storage: mapped, path: path, verifyChecksums: verifyChecksums)
    }

    /// Reads a file image held in memory; `path` is only used in messages.
    public convenience init(bytes: [UInt8], path: String = "<memory>", verifyChecksums: Bool = true)
        throws(ModelFileError)
    {
        let storage = bytes.withUnsafeBytes { MappedFile(copying: $0) }
        try self.init(storage: storage, path: path, verifyChecksums: verifyChecksums)
    }

    init(storage: MappedFile, path: String, verifyChecksums: Bool) throws(ModelFileError) {
        self.path = path
        self.storage = storage
        self.checksumsVerified = verifyChecksums
        do {
            let bytes = storage.bytes
            preamble = try Preamble.parse(bytes, fileSize: UInt64(storage.size))
            let headerStart = Int(preamble.headerOffset)
            let headerBytes = UnsafeRawBufferPointer(
                rebasing: bytes[headerStart..<headerStart + Int(preamble.headerLength)])
            let computed = crc32(headerBytes)
            guard computed == preamble.headerCRC32 else {
                throw FormatError.headerChecksumMismatch(stored: preamble.headerCRC32, computed: computed)
            }
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = FormatLimits.headerMessageDepthLimit
            do {
                header = try Cnnconv_V1_Model(serializedBytes: Array(headerBytes), options: options)
            } catch {
                throw FormatError.malformedHeader(String(describing: error))
            }
            let headerEnd = headerStart + Int(preamble.headerLength)
            try Self.checkZero(bytes, from: headerEnd, to: Int(preamble.dataOffset))
            entriesByName = try Self.checkTensorTable(
                header.tensors, preamble: preamble, bytes: bytes, verifyChecksums: verifyChecksums)
        } catch let error as FormatError {
            throw ModelFileError(path: path, reason: error)
        } catch {
            throw ModelFileError(path: path, reason: .ioError(String(describing: error)))
        }
    }

    /// The storage format of a table entry (its dtype and encoding were checked at open).
    package func storageFormat(of entry: Cnnconv_V1_TensorEntry) -> StorageFormat {
        StorageFormat(Self.elementType(entry.dtype) ?? .float32, Self.encoding(entry.encoding) ?? .raw)
    }

    /// The table entry of tensor `name`, nil when the table has none (found in O(1): inspect and
    /// the graph decoder look up every tensor a node names).
    package func entry(named name: String) -> Cnnconv_V1_TensorEntry? {
        entriesByName[name].map { header.tensors[$0] }
    }

    /// The values of tensor `name` as Float32: zero-copy for raw f32, decoded otherwise.
    public func values(of name: String) throws(ModelFileError) -> FloatBuffer {
        guard let entry = entry(named: name) else {
            throw ModelFileError(path: path, reason: .malformedHeader("no tensor named '\(name)'"))
        }
        let count = Int(entry.dims.reduce(1, *))
        let format = storageFormat(of: entry)
        let start = Int(preamble.dataOffset + entry.offset)
        let stored = UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + Int(entry.storedLength)])
        if format == .f32Raw, count > 0, let base = stored.baseAddress,
            Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0
        {
            return FloatBuffer(mapping: storage, byteOffset: base - storage.base!, count: count)
        }
        do {
            return FloatBuffer(try TensorCodec.decode(stored, count: count, as: format, tensor: entry.name))
        } catch {
            throw ModelFileError(path: path, reason: error)
        }
    }

    static func elementType(_ dtype: Cnnconv_V1_DataType) -> StorageFormat.ElementType? {
        switch dtype {
        case .float32: return .float32
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        default: return nil
        }
    }

    static func encoding(_ encoding: Cnnconv_V1_Encoding) -> StorageFormat.Encoding? {
        switch encoding {
        case .raw: return .raw
        case .deflate: return .deflate
        case .shuffleDeflate: return .shuffle
        default: return nil
        }
    }

    static func checkZero(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) throws(FormatError) {
        guard start < end else { return }
        for i in start..<end where bytes[i] != 0 { throw .paddingNotZero(offset: UInt64(i)) }
    }

    /// The one place the tensor table is proven sound: known types, sizes within limits and
    /// consistent with the encoding, the packing rule (in order, 64-aligned, no overlap, the
    /// data section covered exactly), zero gaps, and CRCs. Returns the index by name.
    static func checkTensorTable(
        _ entries: [Cnnconv_V1_TensorEntry], preamble: Preamble,
        bytes: UnsafeRawBufferPointer, verifyChecksums: Bool
    ) throws(FormatError) -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        var expectedOffset: UInt64 = 0
        let fileSize = UInt64(bytes.count)
        let budget = FormatLimits.decodedBudget(fileSize: fileSize)
        var decoded: UInt64 = 0
        for (i, entry) in entries.enumerated() {
            let name = entry.name
            guard index.updateValue(i, forKey: name) == nil else { throw .duplicateTensorName(name) }
            guard let type = elementType(entry.dtype) else {
                throw .unknownDataType(tensor: name, raw: entry.dtype.rawValue)
            }
            guard let encoding = encoding(entry.encoding) else {
                throw .unknownEncoding(tensor: name, raw: entry.encoding.rawValue)
            }
            var count: UInt64 = 1
            var overflow = false
            for d in entry.dims {
                let (product, o) = count.multipliedReportingOverflow(by: d)
                count = product
                overflow = overflow || o
            }
            guard !overflow, count < FormatLimits.maxTensorElements else {
                let claimed = overflow ? "more than 2^64" : grouped(count)
                throw .tensorTooLarge(tensor: name, elements: claimed, limit: FormatLimits.maxTensorElements - 1)
            }
            let rawLength = count * UInt64(type.byteWidth)
            switch encoding {
            case .raw:
                guard entry.storedLength == rawLength else {
                    throw .tensorLengthMismatch(tensor: name, stored: entry.storedLength, expected: rawLength)
                }
            case .deflate, .shuffle:
                let (limit, o) = entry.storedLength.multipliedReportingOverflow(by: FormatLimits.maxDeflateRatio)
                guard entry.storedLength > 0, o || rawLength <= limit else {
                    throw .tensorDecompressedTooLarge(tensor: name, bytes: rawLength, stored: entry.storedLength)
                }
            }
            // Claimed sizes are checked against the budget before anything is allocated.
            if !(type == .float32 && encoding == .raw) {
                decoded += count * 4  // count < 2^40 per tensor; the sum stops at the budget (≤ 2^34)
                guard decoded <= budget else {
                    throw .decodedSizeOverBudget(tensor: name, total: decoded, budget: budget, fileSize: fileSize)
                }
            }
            guard entry.offset == expectedOffset else {
                throw .tensorMisplaced(tensor: name, offset: entry.offset, expected: expectedOffset)
            }
            let (end, o1) = entry.offset.addingReportingOverflow(entry.storedLength)
            let (fileEnd, o2) = preamble.dataOffset.addingReportingOverflow(end)
            guard !o1, !o2, end <= preamble.dataLength else {
                throw .tensorOutOfBounds(tensor: name, end: o1 || o2 ? UInt64.max : fileEnd, fileSize: fileSize)
            }
            // Gap before the next tensor (or none after the last): zero bytes.
            expectedOffset = alignUp(end)
            let gapEnd = min(expectedOffset, preamble.dataLength)
            try checkZero(bytes, from: Int(preamble.dataOffset + end), to: Int(preamble.dataOffset + gapEnd))
        }
        let used = entries.last.map { $0.offset + $0.storedLength } ?? 0
        guard used == preamble.dataLength else {
            throw .dataSectionUncovered(used: used, dataLength: preamble.dataLength)
        }
        if verifyChecksums {
            // Bounds are proven above; the CRCs run on both cores, and the first mismatch in
            // table order is reported.
            let computed = ParallelSlots<UInt32>(count: entries.count, initial: 0)
            let base = Int(bitPattern: bytes.baseAddress)
            let dataOffset = Int(preamble.dataOffset)
            DispatchQueue.concurrentPerform(iterations: entries.count) { i in
                let start = dataOffset + Int(entries[i].offset)
                computed[i] = crc32(
                    UnsafeRawBufferPointer(
                        start: UnsafeRawPointer(bitPattern: base + start), count: Int(entries[i].storedLength)))
            }
            for (i, entry) in entries.enumerated() where computed[i] != entry.crc32 {
                throw .tensorChecksumMismatch(tensor: entry.name, stored: entry.crc32, computed: computed[i])
            }
        }
        return index
    }
}
