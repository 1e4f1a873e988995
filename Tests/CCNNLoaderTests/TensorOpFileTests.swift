// Tensor-op nodes on the C side: the loader knows exactly the kinds the Swift registry has, checks
// a tensor op's structure the way the Swift reader's decode does (same verdict on hostile
// headers), and its executor refuses to run one, naming the op and the node.
import CCNNLoader
import CNNFormat
import CNNGraph
import XCTest

/// x [N, 4] → Transpose (perm [1, 0]) → relu: a sound file with one tensor op.
func tensorOpModelBytes() throws -> [UInt8] {
    var b = GraphBuilder(name: "tensor-op")
    let x = b.input("x", [.symbol("N"), .fixed(4)])
    let t = b.add("t", .tensor(TensorOp(kind: "Transpose", attributes: ["perm": .ints([1, 0])], inputs: 1)), x)
    b.output(b.add("r", .activation(.relu), t))
    return try b.build().serialized()
}

extension HostileFileTests {
    /// Fails until every kind added to `TensorOps.all` is named in `cnnm_tensor_op_kinds`
    /// (Sources/CCNNLoader/cnnm_graph.c), and the other way round: the C loader would refuse
    /// files using a kind it lacks.
    func testTheCLoaderKnowsExactlyTheRegisteredTensorOpKinds() {
        let c = (0..<cnnm_tensor_op_kind_count()).compactMap { cnnm_tensor_op_kind($0).map { String(cString: $0) } }
        let swift = TensorOps.all.map(\.name)
        XCTAssertEqual(c.count, Set(c).count, "cnnm_tensor_op_kinds names a kind twice: \(c)")
        XCTAssertNil(cnnm_tensor_op_kind(cnnm_tensor_op_kind_count()))
        let missing = Set(swift).subtracting(c).sorted(), extra = Set(c).subtracting(swift).sorted()
        XCTAssertTrue(
            missing.isEmpty && extra.isEmpty,
            "add \(missing) to / remove \(extra) from cnnm_tensor_op_kinds in Sources/CCNNLoader/cnnm_graph.c")
    }

    func testASoundTensorOpFileLoadsAndTheCExecutorRefusesItByName() throws {
        let bytes = try tensorOpModelBytes()
        XCTAssertNil(swiftVerdict(bytes))
        let opened = CLoader.open(bytes: bytes)
        let model = try XCTUnwrap(opened.model, opened.message)
        let node = try XCTUnwrap(cnnm_node_at(model.pointer, 0))
        XCTAssertEqual(node.pointee.op, CNNM_OP_TENSOR_OP)
        XCTAssertEqual(String(cString: node.pointee.attr.tensor_op.kind), "Transpose")
        XCTAssertEqual(String(cString: cnnm_op_name(CNNM_OP_TENSOR_OP)), "tensor_op")
        var error = cnnm_error()
        XCTAssertEqual(cnnm_check_runnable(model.pointer, &error), CNNM_ERR_UNSUPPORTED_OP)
        XCTAssertTrue(
            message(of: error).hasSuffix("op 'Transpose' (node 't') is not supported by the C executor"),
            message(of: error))
    }

    func testHostileTensorOpsAreRefusedLikeSwift() throws {
        let bytes = try tensorOpModelBytes()
        let header = try ModelFile(bytes: bytes).header
        let data = dataSection(bytes)
        func variant(_ edit: (inout Cnnconv_V1_TensorOp) -> Void) -> [UInt8] {
            var h = header
            edit(&h.nodes[0].tensorOp)
            return assemble(header: h, data: data)
        }
        var perm = header.nodes[0].tensorOp.attributes[0]
        expect(variant { $0.kind = "NoSuchKind" }, CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "op kind 'NoSuchKind'")
        expect(variant { $0.kind = "" }, CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "op kind ''")
        expect(
            variant { $0.operands.append(.with { $0.constant = "ghost" }) }, CNNM_ERR_GRAPH_MISSING_TENSOR,
            mentioning: "'ghost'")
        expect(variant { $0.attributes.append(perm) }, CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "'perm' appears twice")
        expect(
            variant { $0.attributes.append(.with { $0.name = "unset" }) }, CNNM_ERR_GRAPH_ATTRIBUTE,
            mentioning: "'unset' has no value")
        expect(variant { $0.operands = [] }, CNNM_ERR_GRAPH_ATTRIBUTE, mentioning: "input")
        perm.ints.values = [Int64](repeating: 0, count: TensorOps.maxAttributeValues + 1)
        expect(
            variant { $0.attributes = [perm] }, CNNM_ERR_GRAPH_ATTRIBUTE,
            mentioning: "has \(TensorOps.maxAttributeValues + 1) values")
        perm.ints.values = []
        perm.floats.values = [Double](repeating: 0, count: TensorOps.maxAttributeValues + 1)
        expect(
            variant { $0.attributes = [perm] }, CNNM_ERR_GRAPH_ATTRIBUTE,
            mentioning: "has \(TensorOps.maxAttributeValues + 1) values")
    }
}
