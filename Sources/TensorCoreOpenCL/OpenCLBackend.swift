// The OpenCL backend: the same contract as the CPU one (Backend.swift), with buffers on an OpenCL device,
// matrix products through CLBlast and everything else in the kernels of OpenCLKernels.swift.
//
// What crosses to the host: the explicit copies (Storage.toHost, Storage(host:)), the token ids and
// targets going in (the contract hands them over as host arrays), and the partial sums of `sum` and
// `sumOfSquares` coming out (added in Double, as the CPU does). Everything else stays on the device.
import Foundation
import TensorCore

public final class OpenCLBackend: Backend {
    let device: OpenCLDevice

    /// The backend on this machine's OpenCL device (the first GPU, else the first device of any kind),
    /// made once per run; the first call compiles the kernels. Throws one line saying what is missing.
    public static func shared() throws -> OpenCLBackend { try made.get() }

    /// Lets `--device opencl` and NANOGPT_DEVICE=opencl name this backend (`Backends.select`): TensorCore
    /// does not know this module, so a program that offers the device registers it once at start.
    public static func register() {
        Backends.register(.opencl) { try OpenCLBackend.shared() }
    }
    private static let made = Result { try OpenCLBackend(device: OpenCLDevice(index: preferredDeviceIndex)) }   // once, on first use
    /// Which of several devices to take (modulo their number); set before the backend's first use.
    nonisolated(unsafe) public static var preferredDeviceIndex = 0

    init(device: OpenCLDevice) { self.device = device }

    public var name: String { "OpenCL (\(device.name), \(device.platformName))" }

    /// Kernels launched, products run and bytes copied to and from the device since the run started.
    public var traffic: DeviceTraffic { device.traffic }

    /// Waits until everything queued so far has run (for timing; a host copy waits by itself).
    public func finish() { device.finish() }

    // MARK: Memory

    public func allocate(count: Int) -> AnyObject { device.allocate(count: count) }

    public func copy(fromHost source: UnsafeBufferPointer<Float>, to storage: Storage, at element: Int) {
        device.write(storage.deviceBuffer, byteOffset: (storage.offset + element) * 4, UnsafeRawBufferPointer(source))
    }

    public func copy(_ storage: Storage, range: Range<Int>, toHost destination: UnsafeMutableBufferPointer<Float>) {
        device.read(storage.deviceBuffer, byteOffset: (storage.offset + range.lowerBound) * 4,
                    into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(destination)[0..<(range.count * 4)]))
    }

    public func fill(_ storage: Storage, with value: Float) {
        device.fill(storage.deviceBuffer, byteOffset: storage.offset * 4, bytes: storage.count * 4, with: value)
    }

    public func copy(_ x: Storage, to y: Storage) {
        precondition(x.count == y.count, "copy of \(x.count) floats into \(y.count)")
        device.copy(x.deviceBuffer, byteOffset: x.offset * 4, to: y.deviceBuffer, byteOffset: y.offset * 4, bytes: x.count * 4)
    }

    // MARK: Products (CLBlast), in the causal blocks of CausalBlocks.swift, as on the CPU

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: MatrixOperand,
                     b: MatrixOperand, beta: Float, c: MatrixOperand, batch: Int) {
        device.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: operand(a.storage, a.offset, ld: a.leadingDimension ?? (transposeA ? m : k), stride: a.batchStride),
                    b: operand(b.storage, b.offset, ld: b.leadingDimension ?? (transposeB ? k : n), stride: b.batchStride),
                    beta: beta, c: operand(c.storage, c.offset, ld: c.leadingDimension ?? n, stride: c.batchStride), batch: batch)
    }

    /// One operand for `device.gemm`: `storage` from element `offset`, rows `ld` apart, batch items `stride` apart.
    private func operand(_ storage: Storage, _ offset: Int, ld: Int, stride: Int) -> (CLHandle, offset: Int, ld: Int, stride: Int) {
        (storage.deviceBuffer, storage.offset + offset, ld, stride)
    }

    /// S[rows, visible] = Q[rows] K[visible]^T for all batch items in one CLBlast call per row block, then the
    /// softmax (which writes exact zeros over the masked entries).
    public func attentionWeights(queries: Storage, keys: Storage, keysBatchStride: Int, out: Storage, batch: Int,
                                 m: Int, n: Int, d: Int, causal: CausalMask?, scale: Float) {
        precondition(causal.map { $0.queries == m && $0.fits(keys: n) } ?? true, "causal mask \(causal!) for \(m) x \(n) scores")
        for (rows, visible) in causalQueryBlocks(queries: m, keys: n, causal: causal) {
            device.gemm(transposeA: false, transposeB: true, m: rows.count, n: visible, k: d, alpha: 1,
                        a: operand(queries, rows.lowerBound * d, ld: d, stride: m * d), b: operand(keys, 0, ld: d, stride: keysBatchStride),
                        beta: 0, c: operand(out, rows.lowerBound * n, ld: n, stride: m * n), batch: batch)
        }
        softmax(out, out: out, rows: batch * m, columns: n, causal: causal, scale: scale)
    }

    public func attentionWeightsBackward(probabilities: Storage, _ g: Storage, queries: Storage, keys: Storage,
                                         queriesGrad: Storage?, keysGrad: Storage?, scratch: Storage, batch: Int,
                                         m: Int, n: Int, d: Int, causal: CausalMask?, scale: Float) {
        softmaxBackward(output: probabilities, g, xGrad: scratch, rows: batch * m, columns: n, causal: causal, scale: scale)
        if let queriesGrad {   // dQ[rows] = dS[rows, visible] K[visible]
            for (rows, visible) in causalQueryBlocks(queries: m, keys: n, causal: causal) {
                device.gemm(transposeA: false, transposeB: false, m: rows.count, n: d, k: visible, alpha: 1,
                            a: operand(scratch, rows.lowerBound * n, ld: n, stride: m * n), b: operand(keys, 0, ld: d, stride: n * d),
                            beta: 0, c: operand(queriesGrad, rows.lowerBound * d, ld: d, stride: m * d), batch: batch)
            }
        }
        if let keysGrad {      // dK[keys] = dS[first..<m, keys]^T Q[first..<m]
            for (columns, first) in causalKeyBlocks(queries: m, keys: n, causal: causal) {
                if first == m { zeroRows(keysGrad, columns, width: d, batch: batch, batchStride: n * d); continue }
                device.gemm(transposeA: true, transposeB: false, m: columns.count, n: d, k: m - first, alpha: 1,
                            a: operand(scratch, first * n + columns.lowerBound, ld: n, stride: m * n),
                            b: operand(queries, first * d, ld: d, stride: m * d),
                            beta: 0, c: operand(keysGrad, columns.lowerBound * d, ld: d, stride: n * d), batch: batch)
            }
        }
    }

    public func weightedSum(weights: Storage, values: Storage, valuesBatchStride: Int, out: Storage, batch: Int,
                            m: Int, n: Int, d: Int, causal: CausalMask) {
        precondition(causal.queries == m && causal.fits(keys: n), "causal mask \(causal) for \(m) x \(n) weights")
        for (rows, visible) in causalQueryBlocks(queries: m, keys: n, causal: causal) {   // out[rows] = W[rows, visible] V[visible]
            device.gemm(transposeA: false, transposeB: false, m: rows.count, n: d, k: visible, alpha: 1,
                        a: operand(weights, rows.lowerBound * n, ld: n, stride: m * n), b: operand(values, 0, ld: d, stride: valuesBatchStride),
                        beta: 0, c: operand(out, rows.lowerBound * d, ld: d, stride: m * d), batch: batch)
        }
    }

    public func weightedSumBackward(_ g: Storage, weights: Storage, values: Storage, weightsGrad: Storage?,
                                    valuesGrad: Storage?, batch: Int, m: Int, n: Int, d: Int, causal: CausalMask) {
        if let weightsGrad {   // dW[rows, visible] = dOut[rows] V[visible]^T, zeros beyond
            for (rows, visible) in causalQueryBlocks(queries: m, keys: n, causal: causal) {
                device.gemm(transposeA: false, transposeB: true, m: rows.count, n: visible, k: d, alpha: 1,
                            a: operand(g, rows.lowerBound * d, ld: d, stride: m * d), b: operand(values, 0, ld: d, stride: n * d),
                            beta: 0, c: operand(weightsGrad, rows.lowerBound * n, ld: n, stride: m * n), batch: batch)
                if visible < n {
                    device.launch("zeroBeyondVisible", workItems: batch * rows.count * (n - visible),
                                  [.storage(weightsGrad), .int(batch), .int(m * n), .int(rows.lowerBound), .int(rows.count), .int(n), .int(visible)])
                }
            }
        }
        if let valuesGrad {    // dV[keys] = W[first ..< m, keys]^T dOut[first ..< m]
            for (columns, first) in causalKeyBlocks(queries: m, keys: n, causal: causal) {
                if first == m { zeroRows(valuesGrad, columns, width: d, batch: batch, batchStride: n * d); continue }
                device.gemm(transposeA: true, transposeB: false, m: columns.count, n: d, k: m - first, alpha: 1,
                            a: operand(weights, first * n + columns.lowerBound, ld: n, stride: m * n),
                            b: operand(g, first * d, ld: d, stride: m * d),
                            beta: 0, c: operand(valuesGrad, columns.lowerBound * d, ld: d, stride: n * d), batch: batch)
            }
        }
    }

    /// The device keeps the weights path behind the tiled requirement: the weights go to a scratch buffer
    /// and are dropped after the product; the backward computes them again. Nothing is `saved`.
    public func tiledAttention(queries: Storage, keys: Storage, values: Storage, keysBatchStride: Int, out: Storage,
                               saved: Storage, batch: Int, m: Int, n: Int, d: Int, causal: CausalMask, scale: Float) {
        let weights = Storage(count: batch * m * n, on: self)
        attentionWeights(queries: queries, keys: keys, keysBatchStride: keysBatchStride, out: weights, batch: batch,
                         m: m, n: n, d: d, causal: causal, scale: scale)
        weightedSum(weights: weights, values: values, valuesBatchStride: keysBatchStride, out: out, batch: batch,
                    m: m, n: n, d: d, causal: causal)
    }

    public func tiledAttentionSavedCount(batch: Int, m: Int, n: Int, d: Int) -> Int { 1 }

    public func tiledAttentionBackward(_ g: Storage, queries: Storage, keys: Storage, values: Storage, out: Storage,
                                       saved: Storage, queriesGrad: Storage?, keysGrad: Storage?, valuesGrad: Storage?,
                                       batch: Int, m: Int, n: Int, d: Int, causal: CausalMask, scale: Float) {
        let weights = Storage(count: batch * m * n, on: self), weightsGrad = Storage(count: batch * m * n, on: self)
        attentionWeights(queries: queries, keys: keys, keysBatchStride: n * d, out: weights, batch: batch,
                         m: m, n: n, d: d, causal: causal, scale: scale)
        weightedSumBackward(g, weights: weights, values: values, weightsGrad: weightsGrad, valuesGrad: valuesGrad,
                            batch: batch, m: m, n: n, d: d, causal: causal)
        guard queriesGrad != nil || keysGrad != nil else { return }
        attentionWeightsBackward(probabilities: weights, weightsGrad, queries: queries, keys: keys, queriesGrad: queriesGrad,
                                 keysGrad: keysGrad, scratch: Storage(count: batch * m * n, on: self), batch: batch,
                                 m: m, n: n, d: d, causal: causal, scale: scale)
    }

    /// Rows `rows` (each `width` wide) of every batch item: 0 (keys no query can see, with a cache offset).
    private func zeroRows(_ x: Storage, _ rows: Range<Int>, width: Int, batch: Int, batchStride: Int) {
        for i in 0..<batch {
            device.fill(x.deviceBuffer, byteOffset: (x.offset + i * batchStride + rows.lowerBound * width) * 4,
                        bytes: rows.count * width * 4, with: 0)
        }
    }

    // MARK: Elementwise

    public func accumulate(_ x: Storage, into y: Storage) {
        precondition(x.count == y.count, "accumulate \(x.count) floats into \(y.count)")
        device.launch("accumulate", workItems: y.count, [.storage(x), .storage(y), .int(y.count)])
    }

    public func addBroadcast(_ a: Storage, _ b: Storage, out: Storage) {
        device.launch("addBroadcast", workItems: out.count, [.storage(a), .storage(b), .storage(out), .int(out.count), .int(b.count)])
    }

    public func sumRepetitions(_ g: Storage, out: Storage) {
        device.launch("sumRepetitions", workItems: out.count, [.storage(g), .storage(out), .int(out.count), .int(g.count / out.count)])
    }

    public func repeatRows(_ x: Storage, into out: Storage) {
        device.launch("repeatRows", workItems: out.count, [.storage(x), .storage(out), .int(out.count), .int(x.count)])
    }

    public func scale(_ x: Storage, by alpha: Float, out: Storage) {
        device.launch("scale", workItems: out.count, [.storage(x), .storage(out), .int(out.count), .float(alpha)])
    }

    public func relu(_ x: Storage, out: Storage) {
        device.launch("relu", workItems: out.count, [.storage(x), .storage(out), .int(out.count)])
    }

    public func reluBackward(output: Storage, _ g: Storage, xGrad: Storage) {
        device.launch("reluBackward", workItems: xGrad.count, [.storage(output), .storage(g), .storage(xGrad), .int(xGrad.count)])
    }

    public func dropoutMask(probability p: Float, seed: UInt64, stream: UInt64, mask: Storage) {
        device.launch("dropoutMask", workItems: (mask.count + 3) / 4,
                      [.storage(mask), .int(mask.count), .float(p), .float(1 / (1 - p)), .ulong(seed), .ulong(stream)])
    }

    public func multiply(_ x: Storage, _ y: Storage, out: Storage) {
        device.launch("multiply", workItems: out.count, [.storage(x), .storage(y), .storage(out), .int(out.count)])
    }

    /// Partial sums on the device (a few thousand), added on the host in Double.
    private func total(_ x: Storage, squares: Bool) -> Double {
        let parts = Swift.max(1, Swift.min(4_096, x.count))
        let partial = Storage(count: parts, on: self)
        device.launch("partialSums", workItems: parts, [.storage(x), .int(x.count), .int(parts), .int(squares ? 1 : 0), .storage(partial)])
        return partial.toHost().reduce(0.0) { $0 + Double($1) }
    }

    public func sum(_ x: Storage, out: Storage) { out.copy(fromHost: [Float(total(x, squares: false))]) }

    public func broadcastScalar(_ scalar: Storage, scaledBy alpha: Float, out: Storage) {
        device.launch("broadcastScalar", workItems: out.count, [.storage(scalar), .storage(out), .int(out.count), .float(alpha)])
    }

    // MARK: Softmax, LayerNorm, loss

    public func softmax(_ x: Storage, out: Storage, rows: Int, columns: Int, causal: CausalMask?, scale: Float) {
        device.launch("softmax", workItems: rows, [.storage(x), .storage(out), .int(rows), .int(columns),
                                                   .int(causal?.queries ?? 0), .int(causal?.offset ?? 0), .float(scale)])
    }

    public func softmaxBackward(output: Storage, _ g: Storage, xGrad: Storage, rows: Int, columns: Int,
                                causal: CausalMask?, scale: Float) {
        device.launch("softmaxBackward", workItems: rows, [.storage(output), .storage(g), .storage(xGrad), .int(rows), .int(columns),
                                                           .int(causal?.queries ?? 0), .int(causal?.offset ?? 0), .float(scale)])
    }

    public func layerNorm(_ x: Storage, gain: Storage, bias: Storage, out: Storage, mean: Storage, rstd: Storage,
                          rows: Int, columns: Int, epsilon: Float) {
        device.launch("layerNorm", workItems: rows, [.storage(x), .storage(gain), .storage(bias), .storage(out), .storage(mean),
                                                     .storage(rstd), .int(rows), .int(columns), .float(epsilon)])
    }

    public func layerNormBackward(_ g: Storage, x: Storage, gain: Storage, mean: Storage, rstd: Storage,
                                  xGrad: Storage?, gainGrad: Storage?, biasGrad: Storage?, rows: Int, columns: Int) {
        if let xGrad {
            device.launch("layerNormBackward", workItems: rows, [.storage(g), .storage(x), .storage(gain), .storage(mean), .storage(rstd),
                                                                 .storage(xGrad), .int(rows), .int(columns)])
        }
        if gainGrad != nil || biasGrad != nil {
            // An absent gradient still needs a buffer argument: `g` stands in, and is not written (has* = 0).
            device.launch("layerNormParameterGrads", workItems: columns,
                          [.storage(g), .storage(x), .storage(mean), .storage(rstd), .storage(gainGrad ?? g), .int(gainGrad == nil ? 0 : 1),
                           .storage(biasGrad ?? g), .int(biasGrad == nil ? 0 : 1), .int(rows), .int(columns)])
        }
    }

    public func crossEntropy(logits: Storage, targets: [Int], probabilities: Storage, loss: Storage, rows: Int, classes: Int) {
        let targetBuffer = device.integers(targets), rowLoss = Storage(count: rows, on: self)
        device.launch("crossEntropy", workItems: rows, [.storage(logits), .buffer(targetBuffer), .storage(probabilities),
                                                        .storage(rowLoss), .int(rows), .int(classes)])
        device.launch("meanOfRows", workItems: 1, [.storage(rowLoss), .storage(loss), .int(rows)])
    }

    public func crossEntropyBackward(probabilities: Storage, targets: [Int], upstream: Storage, logitsGrad: Storage,
                                     rows: Int, classes: Int) {
        let targetBuffer = device.integers(targets)
        device.launch("crossEntropyBackward", workItems: rows * classes, [.storage(probabilities), .buffer(targetBuffer),
                                                                          .storage(upstream), .storage(logitsGrad), .int(rows), .int(classes)])
    }

    // MARK: Layout

    public func embedding(table: Storage, ids: [Int], out: Storage, width: Int) {
        let idBuffer = device.integers(ids)
        device.launch("embedding", workItems: ids.count * width, [.storage(table), .buffer(idBuffer), .storage(out), .int(ids.count), .int(width)])
    }

    public func embeddingBackward(_ g: Storage, ids: [Int], tableGrad: Storage, width: Int) {
        let idBuffer = device.integers(ids)
        device.launch("embeddingBackward", workItems: width, [.storage(g), .buffer(idBuffer), .storage(tableGrad), .int(ids.count), .int(width)])
    }

    public func swapAxes(_ x: Storage, shape: [Int], _ first: Int, _ second: Int, out: Storage) {
        let (low, high) = (Swift.min(first, second), Swift.max(first, second))
        guard low != high else { return copy(x, to: out) }
        let outer = shape[..<low].reduce(1, *), middle = shape[(low + 1)..<high].reduce(1, *), inner = shape[(high + 1)...].reduce(1, *)
        device.launch("swapAxes", workItems: out.count, [.storage(x), .storage(out), .int(outer), .int(shape[low]), .int(middle),
                                                         .int(shape[high]), .int(inner)])
    }

    public func moveHeads(packed: Storage, heads: Storage, batch: Int, time: Int, width: Int, offset: Int,
                          headCount: Int, headSize: Int, toHeads: Bool) {
        device.launch("moveHeads", workItems: batch * headCount * time * headSize,
                      [.storage(packed), .storage(heads), .int(batch), .int(time), .int(width), .int(offset), .int(headCount),
                       .int(headSize), .int(toHeads ? 1 : 0)])
    }

    public func copyColumns(from source: Storage, sourceWidth: Int, sourceOffset: Int, to destination: Storage,
                            destinationWidth: Int, destinationOffset: Int, width: Int, rows: Int) {
        device.launch("copyColumns", workItems: rows * width, [.storage(source), .int(sourceWidth), .int(sourceOffset), .storage(destination),
                                                               .int(destinationWidth), .int(destinationOffset), .int(width), .int(rows)])
    }

    // MARK: Optimizer

    public func adamW(values: Storage, grads: Storage, firstMoment: Storage, secondMoment: Storage, range: Range<Int>,
                      decay: Float, beta1: Float, beta2: Float, stepSize: Float, correction2Root: Float, epsilon: Float) {
        func part(_ s: Storage) -> Storage { Storage(viewing: s, offset: range.lowerBound, count: range.count) }
        device.launch("adamW", workItems: range.count,
                      [.storage(part(values)), .storage(part(grads)), .storage(part(firstMoment)), .storage(part(secondMoment)),
                       .int(range.count), .float(decay), .float(beta1), .float(beta2), .float(stepSize), .float(correction2Root),
                       .float(epsilon)])
    }

    public func sumOfSquares(_ x: Storage) -> Double { total(x, squares: true) }
}
