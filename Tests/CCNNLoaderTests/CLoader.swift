// A thin Swift view of the C loader's API for the tests: open from bytes or a path, read the
// error, and the mapping from the Swift reader's errors to the C status codes they must equal.
import CCNNLoader
import CNNFormat
import CNNGraph
@_exported import CNNTestSupport  // TestRandom and the fixture helpers, for every file here
import Foundation
import SwiftProtobuf

/// An open C model, closed on deinit.
final class CModel {
    let pointer: OpaquePointer
    /// Keeps a borrowed (64-aligned) image alive while the model uses it.
    private let image: UnsafeMutableRawPointer?

    init(pointer: OpaquePointer, image: UnsafeMutableRawPointer?) {
        self.pointer = pointer
        self.image = image
    }
    deinit {
        cnnm_close(pointer)
        image?.deallocate()
    }
}

/// What the C loader said: a model, or a status and message.
enum COpen {
    case success(CModel)
    case failure(cnnm_status, String)

    var status: cnnm_status {
        if case .failure(let s, _) = self { return s }
        return CNNM_OK
    }
    var model: CModel? {
        if case .success(let m) = self { return m }
        return nil
    }
    var message: String {
        if case .failure(_, let m) = self { return m }
        return ""
    }
}

func message(of error: cnnm_error) -> String {
    var e = error
    return withUnsafeBytes(of: &e.message) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}

enum CLoader {
    /// Opens an in-memory image. `aligned` copies it to a 64-byte aligned block the model
    /// borrows (zero copy); otherwise the bytes are handed over at an odd address, which makes
    /// the loader copy them.
    static func open(bytes: [UInt8], aligned: Bool = true) -> COpen {
        var model: OpaquePointer?
        var error = cnnm_error()
        if aligned {
            let block = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
            bytes.withUnsafeBytes {
                if let base = $0.baseAddress { block.copyMemory(from: base, byteCount: bytes.count) }
            }
            let status = cnnm_open_memory(block, bytes.count, &model, &error)
            guard status == CNNM_OK, let model else {
                block.deallocate()
                return .failure(status, message(of: error))
            }
            return .success(CModel(pointer: model, image: block))
        }
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes.count + 1, alignment: 64)
        defer { block.deallocate() }
        bytes.withUnsafeBytes {
            if let base = $0.baseAddress { (block + 1).copyMemory(from: base, byteCount: bytes.count) }
        }
        let status = cnnm_open_memory(block + 1, bytes.count, &model, &error)
        guard status == CNNM_OK, let model else { return .failure(status, message(of: error)) }
        return .success(CModel(pointer: model, image: nil))
    }

    static func open(path: String) -> COpen {
        var model: OpaquePointer?
        var error = cnnm_error()
        let status = cnnm_open_file(path, &model, &error)
        guard status == CNNM_OK, let model else { return .failure(status, message(of: error)) }
        return .success(CModel(pointer: model, image: nil))
    }
}

/// The C status that must match each way the Swift reader refuses a file.
func expectedStatus(_ error: FormatError) -> cnnm_status {
    switch error {
    case .empty: return CNNM_ERR_EMPTY
    case .tooShort: return CNNM_ERR_TOO_SHORT
    case .badMagic: return CNNM_ERR_BAD_MAGIC
    case .preambleChecksumMismatch: return CNNM_ERR_PREAMBLE_CHECKSUM
    case .unsupportedMajorVersion: return CNNM_ERR_UNSUPPORTED_VERSION
    case .reservedFieldNotZero: return CNNM_ERR_RESERVED_NOT_ZERO
    case .headerOffsetInvalid: return CNNM_ERR_HEADER_OFFSET
    case .headerTooLarge: return CNNM_ERR_HEADER_TOO_LARGE
    case .dataOffsetInvalid: return CNNM_ERR_DATA_OFFSET
    case .lengthMismatch: return CNNM_ERR_LENGTH_MISMATCH
    case .headerChecksumMismatch: return CNNM_ERR_HEADER_CHECKSUM
    case .malformedHeader: return CNNM_ERR_MALFORMED_HEADER
    case .paddingNotZero: return CNNM_ERR_PADDING_NOT_ZERO
    case .duplicateTensorName: return CNNM_ERR_DUPLICATE_TENSOR
    case .unknownDataType: return CNNM_ERR_UNKNOWN_DTYPE
    case .unknownEncoding: return CNNM_ERR_UNKNOWN_ENCODING
    case .tensorTooLarge: return CNNM_ERR_TENSOR_TOO_LARGE
    case .tensorLengthMismatch: return CNNM_ERR_TENSOR_LENGTH
    case .tensorDecompressedTooLarge: return CNNM_ERR_TENSOR_DECOMPRESSED_TOO_LARGE
    case .decodedSizeOverBudget: return CNNM_ERR_DECODED_TOO_LARGE
    case .tensorMisplaced: return CNNM_ERR_TENSOR_MISPLACED
    case .tensorOutOfBounds: return CNNM_ERR_TENSOR_OUT_OF_BOUNDS
    case .dataSectionUncovered: return CNNM_ERR_DATA_UNCOVERED
    case .tensorChecksumMismatch: return CNNM_ERR_TENSOR_CHECKSUM
    case .tensorCorrupt: return CNNM_ERR_TENSOR_CORRUPT
    case .notARegularFile: return CNNM_ERR_NOT_REGULAR_FILE
    case .ioError, .compressionFailed: return CNNM_ERR_IO
    }
}

/// The C statuses acceptable for a graph-level refusal by the Swift reader. The C loader
/// checks the same rules but may meet a different one first when a file breaks several.
func acceptableStatuses(_ error: GraphError) -> Set<UInt32> {
    let graph: Set<UInt32> = [
        CNNM_ERR_GRAPH_MISSING_TENSOR, CNNM_ERR_GRAPH_UNDEFINED_VALUE, CNNM_ERR_GRAPH_DUPLICATE_NAME,
        CNNM_ERR_GRAPH_SHAPE, CNNM_ERR_GRAPH_ATTRIBUTE, CNNM_ERR_GRAPH_UNREFERENCED_TENSOR,
    ].map(\.rawValue).reduce(into: []) { $0.insert($1) }
    switch error {
    case .missingTensor: return [CNNM_ERR_GRAPH_MISSING_TENSOR.rawValue]
    case .unreferencedTensors: return [CNNM_ERR_GRAPH_UNREFERENCED_TENSOR.rawValue]
    case .duplicateNodeName, .duplicateValue: return [CNNM_ERR_GRAPH_DUPLICATE_NAME.rawValue]
    case .missingValue, .usedBeforeProduced, .cycle, .missingOutput: return [CNNM_ERR_GRAPH_UNDEFINED_VALUE.rawValue]
    default: return graph
    }
}

/// The Swift reader's verdict on an image: nil when it accepts, else the error.
func swiftVerdict(_ bytes: [UInt8]) -> ModelError.Reason? {
    do {
        _ = try Graph(bytes: bytes)
        return nil
    } catch {
        return error.reason
    }
}

/// Checks that the C loader gives the Swift reader's verdict on `bytes`; returns a failure
/// description or nil.
func verdictMismatch(_ bytes: [UInt8], aligned: Bool = true) -> String? {
    let c = CLoader.open(bytes: bytes, aligned: aligned)
    switch swiftVerdict(bytes) {
    case nil:
        return c.status == CNNM_OK ? nil : "Swift accepts, C refuses: \(c.message)"
    case .format(let e)?:
        let want = expectedStatus(e)
        return c.status == want
            ? nil
            : "Swift: \(e) ⇒ \(String(cString: cnnm_status_name(want))); C: \(String(cString: cnnm_status_name(c.status))) \(c.message)"
    case .graph(let e)?:
        return acceptableStatuses(e).contains(c.status.rawValue)
            ? nil
            : "Swift: \(e); C: \(String(cString: cnnm_status_name(c.status))) \(c.message)"
    }
}

/// A file image from a header and a data section, with correct preamble and header CRCs (the
/// header's tensor table is taken as given, so tests can make it wrong on purpose).
func assemble(header: Cnnconv_V1_Model, data: [UInt8]) -> [UInt8] {
    HostileFiles.assemble(header: header, data: data)
}

/// Rewrites preamble bytes and fixes its CRC, so that a later check is reached.
func patchPreamble(_ bytes: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
    var out = bytes
    edit(&out)
    return HostileFiles.fixingPreambleCRC(out)
}

func putLE<I: FixedWidthInteger>(_ value: I, at offset: Int, in bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { for i in 0..<MemoryLayout<I>.size { bytes[offset + i] = $0[i] } }
}

/// The data section of an image (after the preamble's data_offset).
func dataSection(_ bytes: [UInt8]) -> [UInt8] {
    let offset = bytes.withUnsafeBytes {
        Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
    }
    return Array(bytes[offset...])
}

extension TestRandom {
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(uniform()) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float() * scale } }
}
