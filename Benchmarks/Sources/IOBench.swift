// cnnconv-bench's I/O modes (Benchmarks/io_bench.sh): compressed writes and reads of a model's
// weights, and MC dropout batched against one pass per run. One JSON object on stdout.
//
//   cnnconv-bench codec MODEL.cnnm [--encoding shuffle|deflate] [--repeat N]
//   cnnconv-bench mc MODEL.cnnm [--passes N] [--repeat N] [--threads T] [--head-dropout yes]
import CNNFormat
import CNNGraph
import CNNKernels
import CNNRuntime
import Foundation

enum IOBench {
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = now()
            try body()
            best = min(best, now() - start)
        }
        return best
    }

    static func emit(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }

    /// Handles `codec` and `mc`; false for any other first argument (the executor benchmark).
    static func run(_ arguments: [String]) throws -> Bool {
        guard let mode = arguments.first, mode == "codec" || mode == "mc", arguments.count >= 2 else { return false }
        var options: [String: String] = [:]
        var i = 2
        while i + 1 < arguments.count { options[arguments[i]] = arguments[i + 1]; i += 2 }
        let repeats = Int(options["--repeat"] ?? "3") ?? 3
        if mode == "codec" {
            try codec(
                arguments[1],
                encoding: StorageFormat.Encoding(rawValue: options["--encoding"] ?? "shuffle") ?? .shuffle,
                repeats: repeats)
        } else {
            try monteCarlo(
                arguments[1], passes: Int(options["--passes"] ?? "32") ?? 32, repeats: repeats,
                threads: Int(options["--threads"] ?? "") ?? KernelThreads.defaultCount,
                head: options["--head-dropout"] == "yes")
        }
        return true
    }

    /// Every tensor of `path` stored as f32 `encoding`: compression in memory (the parallel
    /// encoder, no disk), the whole atomic write (fsync included), and reading it all back
    /// (open with every CRC checked, then every tensor decoded).
    static func codec(_ path: String, encoding: StorageFormat.Encoding, repeats: Int) throws {
        let source = try ModelFile(path: path)
        let payloads = try source.tensorEntries.map { e in
            TensorPayload(
                name: e.name, dims: e.dims.map { Int($0) }, format: StorageFormat(.float32, encoding),
                values: try source.values(of: e.name))
        }
        let rawBytes = payloads.reduce(0) { $0 + $1.values.count * 4 }
        var stored = 0
        let encode = try best(repeats) {
            stored = try ModelFileWriter.serialize(header: source.header, tensors: payloads).count
        }
        let output = path + ".\(encoding.rawValue).iobench.cnnm"
        defer { unlink(output) }
        let write = try best(repeats) {
            try ModelFileWriter.write(header: source.header, tensors: payloads, to: output)
        }
        let written = try ModelFile(path: output)
        let data = written.tensorEntries.reduce(0) { $0 + Int($1.storedLength) }
        var checksum: Float = 0
        let read = try best(repeats) {
            let file = try ModelFile(path: output)
            for e in file.tensorEntries { checksum += try file.values(of: e.name)[0] }
        }
        emit([
            "tensors": payloads.count, "raw_bytes": rawBytes, "stored_bytes": data, "file_bytes": stored,
            "ratio": Double(data) / Double(rawBytes), "encode_s": encode, "write_s": write, "read_s": read,
            "encode_mb_s": Double(rawBytes) / 1e6 / encode, "write_mb_s": Double(rawBytes) / 1e6 / write,
            "read_mb_s": Double(rawBytes) / 1e6 / read, "threads": ProcessInfo.processInfo.activeProcessorCount,
        ])
    }

    /// `passes` MC dropout passes over one sample, same executor and input, best of `repeats`:
    /// one whole run per pass ("separate"), the default (steps before the first dropout once),
    /// and all passes as one wide batch. `head` inserts a dropout (p = 0.2) before the last
    /// node, as MC-dropout classifiers have it; without it ResNet-18 has no dropout at all.
    static func monteCarlo(_ path: String, passes: Int, repeats: Int, threads: Int, head: Bool) throws {
        var graph = try Graph(contentsOf: path)
        if head, let last = graph.nodes.indices.last, let input = graph.nodes[last].inputs.first {
            graph.nodes.insert(
                Node(
                    name: "mc_head_dropout", op: .dropout(Dropout(rate: 0.2)), inputs: [input],
                    outputs: ["mc_head_dropout"]), at: last)
            graph.nodes[last + 1].inputs[0] = "mc_head_dropout"
        }
        let executor = try Executor<Float>(graph: graph, batch: 1, threads: threads)
        let inputs = SampleBatching.randomInputs(for: graph, samples: 1, seed: 1, as: Float.self)
        _ = try executor.run(inputs)  // warm-up: buffers, weights' pages
        let separate = try best(repeats) {
            _ = try executor.monteCarloDropout(inputs, samples: passes, seed: 1, passesPerRun: 1)
        }
        let reused = try best(repeats) { _ = try executor.monteCarloDropout(inputs, samples: passes, seed: 1) }
        let wide = try best(repeats) {
            _ = try executor.monteCarloDropout(inputs, samples: passes, seed: 1, passesPerRun: passes)
        }
        let single = try best(repeats) { _ = try executor.run(inputs) }
        emit([
            "passes": passes, "threads": threads, "head_dropout": head, "separate_s": separate, "default_s": reused,
            "wide_s": wide, "one_run_s": single, "ratio": reused / separate, "wide_ratio": wide / separate,
        ])
    }
}
