// The elementwise tensor ops: one file each in this folder, listed here once.
import CNNKernels

extension TensorOps {
    static let elementwise: [any TensorOpDefinition] = [
        BroadcastOp(name: "Add", summary: "y = a + b, numpy broadcasting", function: .add),
        BroadcastOp(name: "Sub", summary: "y = a − b, numpy broadcasting", function: .sub),
        BroadcastOp(name: "Mul", summary: "y = a · b, numpy broadcasting", function: .mul),
        BroadcastOp(name: "Div", summary: "y = a / b, numpy broadcasting", function: .div),
        BroadcastOp(name: "Pow", summary: "y = a ^ b, numpy broadcasting", function: .pow),
        BroadcastOp(
            name: "Max", summary: "y = the largest of 1…N operands, numpy broadcasting", function: .max, variadic: true),
        BroadcastOp(
            name: "Min", summary: "y = the smallest of 1…N operands, numpy broadcasting", function: .min, variadic: true
        ),
        BroadcastOp(
            name: "Sum", summary: "y = the sum of 1…N operands, numpy broadcasting", function: .add, variadic: true),
        BroadcastOp(
            name: "Mean", summary: "y = the mean of 1…N operands, numpy broadcasting", function: .add, variadic: true,
            mean: true),
        UnaryOp("Sqrt", "y = √x", .sqrt),
        UnaryOp("Exp", "y = e^x", .exp),
        UnaryOp("Log", "y = ln x", .log),
        UnaryOp("Abs", "y = |x|", .abs),
        UnaryOp("Neg", "y = −x", .neg),
        UnaryOp("Reciprocal", "y = 1 / x", .reciprocal),
        UnaryOp("Erf", "y = erf x", .erf),
        CastOp(),
        CastLikeOp(),
    ]
}
