// libFuzzer entry point: any byte string is read as a model file image, as it is and with its
// preamble and header CRCs repaired (so mutations also reach the header decoder, the tensor
// table checks and graph validation). Each must either decode into a valid graph (which then
// re-serializes and reads back equal) or be refused with a typed error — never crash, hang or
// read out of bounds (AddressSanitizer watches).
import CNNFormat
import CNNGraph

/// libFuzzer's entry point: one input read as a .cnnm file; any outcome but a crash, hang or
/// unbounded allocation is a pass.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    check(bytes)
    check(repairingChecksums(bytes))
    return 0
}

/// Rewrites the header CRC (when the claimed header lies inside the input) and the preamble CRC.
func repairingChecksums(_ input: [UInt8]) -> [UInt8] {
    var b = input
    guard b.count >= 64 else { return b }
    func put(_ v: UInt32, at i: Int) { for k in 0..<4 { b[i + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) } }
    let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[24 + $1]) << (8 * UInt64($1)) }
    if headerLength <= UInt64(b.count - 64) { put(crc32(Array(b[64..<(64 + Int(headerLength))])), at: 48) }
    put(crc32(Array(b[0..<56])), at: 56)
    return b
}

func check(_ bytes: [UInt8]) {
    guard let graph = try? Graph(bytes: bytes) else { return }
    // A file that reads must round-trip.
    guard let again = try? graph.serialized(), let reread = try? Graph(bytes: again), reread == graph else {
        fatalError("a valid file did not round-trip")
    }
}
