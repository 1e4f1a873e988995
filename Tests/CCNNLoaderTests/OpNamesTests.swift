// The C loader's ops against the Swift op definitions: `cnnm_op_name` must name exactly the
// `Node.op` fields the definitions store (Sources/CNNGraph/Ops), so that a classic op added on
// the Swift side without its C enum value and name fails here.
import CCNNLoader
import CNNGraph
import XCTest

final class OpNamesTests: XCTestCase {
    func testTheCLoaderNamesExactlyTheStoredOpsOfTheDefinitions() {
        // Op numbers are the schema's field numbers (10…38 today); 1…200 covers any growth.
        var named: [String] = []
        for raw in UInt32(1)...200 {
            let name = String(cString: cnnm_op_name(cnnm_op(rawValue: raw)))
            if name != "unknown" { named.append(name) }
        }
        let fields = Op.definitionTypes.flatMap { $0.formatFields }
        XCTAssertEqual(named.count, Set(named).count, "cnnm_op_name gives a name twice: \(named)")
        let missing = Set(fields).subtracting(named).sorted(), extra = Set(named).subtracting(fields).sorted()
        XCTAssertTrue(
            missing.isEmpty && extra.isEmpty,
            "add \(missing) to / remove \(extra) from cnnm_op and cnnm_op_name (Sources/CCNNLoader/include/cnnm.h, cnnm_load.c)"
        )
    }
}
