// libFuzzer entry point: any byte string is parsed as a .npy file. It must either decode into an
// array whose shape matches its value count, or be refused with a typed NPYError — never crash,
// trap or read out of bounds (AddressSanitizer watches).
import CNNRuntime

/// libFuzzer's entry point: one input read as a .npy file; any outcome but a crash, hang or
/// unbounded allocation is a pass.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let array = try? NPY.decode(bytes) else { return 0 }
    let count = array.shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
    let values: Int
    switch array.values {
    case .float32(let v): values = v.count
    case .float64(let v): values = v.count
    }
    if count != values { fatalError("shape \(array.shape) with \(values) values") }
    return 0
}
