// The library a Swift program depends on to do what the cnnconv tool does: one import gives the
// format, the graph, the passes, the executor, the verifier and ONNX, plus the workflows the
// CLI runs (fold → verify → write, any model file in or out).
@_exported import CNNFormat
@_exported import CNNGraph
@_exported import CNNONNX
@_exported import CNNPasses
@_exported import CNNRuntime
@_exported import CNNVerify
