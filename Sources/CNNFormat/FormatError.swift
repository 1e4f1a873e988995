// Every way a cnnconv file can be wrong, one case each, with what a user can act on.

/// An error in a cnnconv file's container, or in writing one. `ModelFileError` adds the path.
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooShort(fileSize: UInt64)
    case badMagic(found: [UInt8])
    case preambleChecksumMismatch(stored: UInt32, computed: UInt32)
    case unsupportedMajorVersion(found: UInt16, supported: UInt16)
    case reservedFieldNotZero(field: String, value: UInt64)
    case headerOffsetInvalid(UInt64)
    case headerTooLarge(length: UInt64, limit: UInt64)
    case dataOffsetInvalid(found: UInt64, expected: UInt64)
    case lengthMismatch(declared: UInt64, fileSize: UInt64)
    case headerChecksumMismatch(stored: UInt32, computed: UInt32)
    case malformedHeader(String)
    case paddingNotZero(offset: UInt64)
    case duplicateTensorName(String)
    case unknownDataType(tensor: String, raw: Int)
    case unknownEncoding(tensor: String, raw: Int)
    case tensorTooLarge(tensor: String, elements: String, limit: UInt64)
    case tensorLengthMismatch(tensor: String, stored: UInt64, expected: UInt64)
    case tensorDecompressedTooLarge(tensor: String, bytes: UInt64, stored: UInt64)
    /// The tensors up to and including `tensor` decode to `total` bytes, over the file's budget.
    case decodedSizeOverBudget(tensor: String, total: UInt64, budget: UInt64, fileSize: UInt64)
    case tensorMisplaced(tensor: String, offset: UInt64, expected: UInt64)
    case tensorOutOfBounds(tensor: String, end: UInt64, fileSize: UInt64)
    case dataSectionUncovered(used: UInt64, dataLength: UInt64)
    case tensorChecksumMismatch(tensor: String, stored: UInt32, computed: UInt32)
    case tensorCorrupt(tensor: String, reason: String)
    case compressionFailed(String)
    case notARegularFile
    case ioError(String)

    /// One line; names from the file are escaped (`displaySafe`).
    public var description: String { displaySafe(text) }

    private var text: String {
        switch self {
        case .empty:
            return "the file is empty"
        case .tooShort(let size):
            return "the file is \(size) bytes, shorter than the 64-byte preamble — not a cnnconv file, or truncated"
        case .badMagic(let found):
            let hex = found.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            if found.count >= 4, found[1] == 0x43, found[2] == 0x4E, found[3] == 0x4E {
                return
                    "the magic bytes are damaged (\(hex)) — the file went through a text-mode transfer (CR/LF conversion)"
            }
            return "not a cnnconv file: it starts with \(hex), not 89 43 4e 4e 0d 0a 1a 0a"
        case .preambleChecksumMismatch(let stored, let computed):
            return
                "the preamble checksum is \(hex32(computed)), the file says \(hex32(stored)) — the first 64 bytes are damaged"
        case .unsupportedMajorVersion(let found, let supported):
            return found > supported
                ? "the file is format \(found).x, written by a newer cnnconv; this reader supports format \(supported).x — upgrade cnnconv"
                : "the file is format \(found).x; this reader supports format \(supported).x only"
        case .reservedFieldNotZero(let field, let value):
            return
                "the preamble's \(field) is \(value), must be 0 in format 1.x — the file is damaged or from an incompatible writer"
        case .headerOffsetInvalid(let offset):
            return "the header offset is \(offset), must be 64"
        case .headerTooLarge(let length, let limit):
            return
                "the header claims \(groupedBytes(length)), more than the \(groupedBytes(limit)) limit — the file is damaged"
        case .dataOffsetInvalid(let found, let expected):
            return
                "the data section starts at byte \(grouped(found)), expected \(grouped(expected)) — the preamble is inconsistent"
        case .lengthMismatch(let declared, let fileSize):
            return declared > fileSize
                ? "the file is \(groupedBytes(fileSize)) but its preamble declares \(groupedBytes(declared)) — the file is truncated"
                : "the file is \(groupedBytes(fileSize)) but its preamble declares \(groupedBytes(declared)) — trailing bytes after the data section"
        case .headerChecksumMismatch(let stored, let computed):
            return "the header checksum is \(hex32(computed)), the file says \(hex32(stored)) — the header is damaged"
        case .malformedHeader(let reason):
            return "the header does not decode: \(reason)"
        case .paddingNotZero(let offset):
            return "padding byte \(grouped(offset)) is not zero — the file is damaged"
        case .duplicateTensorName(let name):
            return "two tensors are named '\(name)'"
        case .unknownDataType(let tensor, let raw):
            return "tensor '\(tensor)' has unknown data type \(raw)"
        case .unknownEncoding(let tensor, let raw):
            return "tensor '\(tensor)' has unknown encoding \(raw)"
        case .tensorTooLarge(let tensor, let elements, let limit):
            return "tensor '\(tensor)' claims \(elements) elements, over the limit of \(grouped(limit))"
        case .tensorLengthMismatch(let tensor, let stored, let expected):
            return
                "tensor '\(tensor)' stores \(groupedBytes(stored)), its shape and type need \(groupedBytes(expected))"
        case .tensorDecompressedTooLarge(let tensor, let bytes, let stored):
            return
                "tensor '\(tensor)' would decompress \(groupedBytes(stored)) into \(groupedBytes(bytes)), beyond deflate's 1032:1 limit"
        case .decodedSizeOverBudget(let tensor, let total, let budget, let fileSize):
            return
                "tensor '\(tensor)' brings the decoded size to \(groupedBytes(total)), over the \(groupedBytes(budget)) a \(groupedBytes(fileSize)) file may expand to (\(FormatLimits.maxDecodedRatio)× its size, at least \(groupedBytes(FormatLimits.decodedBytesFloor)), at most \(groupedBytes(FormatLimits.maxDecodedBytes))) — a hostile or damaged file"
        case .tensorMisplaced(let tensor, let offset, let expected):
            return
                "tensor '\(tensor)' starts at data offset \(grouped(offset)), expected \(grouped(expected)) (tensors are packed in order, 64-byte aligned) — overlapping or misplaced"
        case .tensorOutOfBounds(let tensor, let end, let fileSize):
            return
                "tensor '\(tensor)' ends at byte \(grouped(end)), past the end of the file (\(groupedBytes(fileSize))) — the file is truncated or damaged"
        case .dataSectionUncovered(let used, let dataLength):
            return "the tensors cover \(groupedBytes(used)) of the \(groupedBytes(dataLength)) data section"
        case .tensorChecksumMismatch(let tensor, let stored, let computed):
            return
                "tensor '\(tensor)' checksum is \(hex32(computed)), the file says \(hex32(stored)) — its data is damaged"
        case .tensorCorrupt(let tensor, let reason):
            return "tensor '\(tensor)' cannot be decoded: \(reason)"
        case .compressionFailed(let reason):
            return "compression failed: \(reason)"
        case .notARegularFile:
            return "is a directory or not a regular file"
        case .ioError(let reason):
            return reason
        }
    }
}

/// A `FormatError` with the path of the file it concerns: "model.bin: the file is truncated".
public struct ModelFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file at fault, as the user named it, so the message points at the right file.
    public let path: String
    /// What is wrong, as a case a caller can switch on (the C loader maps each to its status).
    public let reason: FormatError
    /// Pairs a path-free `FormatError` (as the low-level checks throw it) with the file it concerns.
    public init(path: String, reason: FormatError) {
        self.path = path
        self.reason = reason
    }
    /// The path and reason with control characters escaped: names from a hostile file reach a terminal.
    public var description: String { displaySafe("\(path): \(reason)") }
}

func hex32(_ value: UInt32) -> String { "0x" + String(value, radix: 16).leftPadded(to: 8) }

/// 48211902 → "48,211,902".
public func grouped<I: BinaryInteger>(_ value: I) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, ch) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}

func groupedBytes<I: BinaryInteger>(_ value: I) -> String { grouped(value) + " bytes" }

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
