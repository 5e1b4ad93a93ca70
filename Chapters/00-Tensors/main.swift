// Chapter 00 · Tensors: the tensor core in miniature
// ==================================================
//
// Every later chapter is built from three things shown here:
//   1. tensors: numbers in a row-major buffer, with a shape;
//   2. matrix products, which do nearly all the arithmetic of a GPT: a loop first, then OpenBLAS;
//   3. autograd: every op records how to push a gradient back to its inputs, and backward() runs
//      those steps in reverse, so the gradient of the loss with respect to every parameter costs about
//      as much as the forward pass.
// And we check (4) that autograd is right, against the definition of the derivative.
//
//   swift run -c release ch00            (--quick for smaller timings)
//
// Expected (release build, 2-core AMD EPYC): the loop runs at about 1 GFLOP/s, OpenBLAS at 100+ with two
// threads; every gradient check passes with errors around 1e-4.
import ArgumentParser
import ChapterSupport
import Foundation
import Plotting
import TensorCore

let options = Chapter00.parseOrExitWithOneLine()   // the flags: Flags.swift
if let threads = options.threads { BLAS.threadCount = threads }
let random = SeededRandom(seed: options.seed)
print("Chapter 00 · Tensors\n")

// MARK: - 1. A tensor is a shape and a buffer
//
// A (2, 3) tensor stores its 6 numbers row after row: element [i, j] sits at offset i * 3 + j.

section("1. A tensor is a shape and a buffer")
let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
print("x = \(x)")
print("x[1, 2] = \(x[1, 2])  (offset 1 * 3 + 2 = 5)\n")

// MARK: - 2. Matrix multiplication: a loop, then BLAS
//
// C[i, j] = sum over p of A[i, p] * B[p, j]: 2 * M * N * K floating-point operations. Three nested loops
// do it correctly but slowly; OpenBLAS does the same sum with cache blocking, SIMD and threads.
// The loop, kept in the tensor core to test BLAS against:
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.matmul

section("2. Matrix multiplication: a loop, then BLAS")
func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

let sizes = options.quick ? [32, 64, 128] : [64, 128, 256, 512]
var loopRates: [Double] = [], blasRates: [Double] = []
print("   n   loop GFLOP/s   BLAS GFLOP/s   max |difference|")
for n in sizes {
    let a = Tensor.normal([n, n], std: 1, random: random), b = Tensor.normal([n, n], std: 1, random: random)
    let flops = 2 * Double(n * n * n)
    var slow: [Float] = [], fast: Tensor = a
    let loopTime = seconds { slow = NaiveKernels.matmul(a.values, b.values, m: n, n: n, k: n) }
    _ = matmul(a, b)   // warm up the BLAS threads
    let repeats = max(1, 200_000_000 / Int(flops))
    let blasTime = seconds { for _ in 0..<repeats { fast = matmul(a, b) } } / Double(repeats)
    loopRates.append(flops / loopTime / 1e9)
    blasRates.append(flops / blasTime / 1e9)
    let difference = zip(slow, fast.values).map { abs($0 - $1) }.max()!
    print(String(format: "%4d   %12.2f   %12.1f   %.1e", n, loopRates.last!, blasRates.last!, difference))
}
print("(\(BLAS.threadCount) BLAS thread(s), OpenBLAS kernel \(BLAS.coreName))\n")

// MARK: - 3. Autograd on a tiny expression
//
//   h = relu(x @ W^T + b)      x (2, 3), W (2, 3), b (2)  ->  h (2, 2)
//   L = sum(h)
//
// backward() starts from dL/dL = 1 and walks the graph in reverse: sum sends 1 to every element of h,
// relu lets it through where h > 0, and linear turns it into dL/dW = dh^T x, dL/db = column sums of dh,
// dL/dx = dh W.
//
// Every op in the tensor core is written this way: the result remembers its inputs and a closure that,
// given the result's gradient, writes the gradients of its inputs into buffers the engine hands it. The
// backward step sits right above the forward computation, and the arithmetic of both is the backend's
// (`x.backend`: the CPU's, here). ReLU, then linear (whose three gradients are three matrix products):
// show: Sources/TensorCore/Ops/Elementwise.swift relu
// show: Sources/TensorCore/Ops/Matmul.swift linear
//
// `Tensor.result` makes the output and records the closure only when some input needs a gradient.
// backward() then orders the graph and runs the closures from the loss back to the leaves:
// show: Sources/TensorCore/Tensor.swift Tensor.result
// show: Sources/TensorCore/Autograd.swift Tensor.backward Tensor.topologicalOrder
//
// A tensor used twice (x in x + f(x)) gets a gradient from each use, and they must add up. The ops never
// deal with that: `GradientBuffers` gives the first gradient to arrive the tensor's own new buffer, and
// any later one a temporary that the engine adds in once the closure has run:
// show: Sources/TensorCore/Autograd.swift GradientBuffers

section("3. Autograd on a tiny expression")
let weight = Tensor(shape: [2, 3], values: [0.5, -1, 0.25, 1, 0.5, -0.5], requiresGrad: true)
let bias = Tensor(shape: [2], values: [2, -2], requiresGrad: true)
let h = relu(linear(x, weight: weight, bias: bias))
let loss = sum(h)
print("h = relu(x @ W^T + b) = \(h.values)   (shape \(h.shape))")
print("L = sum(h) = \(loss.scalar)")
loss.backward()
print("dL/dW = \(weight.gradValues!)")
print("dL/db = \(bias.gradValues!)")
// By hand: the first output column is positive for both rows (1.25 and 0.5), so dL/dW[0, :] = x[0, :] +
// x[1, :] = [5, 7, 9] and dL/db[0] = 2. In the second column only h[1, 1] = relu(4 + 2.5 - 3 - 2) = 1.5
// is positive (h[0, 1] = relu(1 + 1 - 1.5 - 2) = 0), so dL/dW[1, :] = x[1, :] = [4, 5, 6] and dL/db[1] = 1.
print("by hand: dL/dW = [5, 7, 9, 4, 5, 6] and dL/db = [2, 1]: relu blocks the gradient of h[0, 1] = 0\n")

// MARK: - 4. A gradient check you can watch
//
// The derivative is the slope: (L(w + eps) - L(w - eps)) / (2 eps). Nudge each weight both ways, rerun
// the forward pass, and compare with what backward() computed. The test suite does this for every op,
// with this function:
// show: Sources/TensorCore/GradientCheck.swift gradientCheck

section("4. A gradient check you can watch")
let input = Tensor.normal([3, 4], std: 1, random: random)
let gain = Tensor.filled([4], with: 1, requiresGrad: true), shift = Tensor.zeros([4], requiresGrad: true)
let projection = Tensor.normal([5, 4], std: 0.5, random: random, requiresGrad: true)
let targets = [0, 3, 4]
func checkedLoss() -> Tensor {
    crossEntropy(linear(layerNorm(input, gain: gain, bias: shift), weight: projection, bias: nil), targets: targets)
}
projection.clearGrad()
checkedLoss().backward()
let analytic = projection.gradValues!
print("loss = crossEntropy(layerNorm(x) @ W^T); dL/dW for the first 6 weights:")
print(" weight    autograd    finite difference")
let epsilon: Float = 1e-2
for i in 0..<6 {
    let original = projection.storage[i]
    projection.storage[i] = original + epsilon
    let plus = checkedLoss().scalar
    projection.storage[i] = original - epsilon
    let minus = checkedLoss().scalar
    projection.storage[i] = original
    print(String(format: " W[%d,%d]  %10.6f  %10.6f", i / 4, i % 4, analytic[i], (plus - minus) / (2 * epsilon)))
}
let check = gradientCheck([projection, gain, shift]) { checkedLoss() }
print("all \(check.checkedElements) parameters: \(check.passed ? "PASS" : "FAIL"), "
      + String(format: "largest error %.1e", check.maxAbsoluteError))
print("(the test suite runs such a check for every op in the tensor core)\n")

// MARK: - 5. The picture
//
// Both speeds against n, on a log scale: the loop stays flat near 1 GFLOP/s, BLAS climbs with n as its
// blocks fill the caches and both cores.

section("5. The picture")
let report = exitOnError { try ChapterReport(chapter: "00-tensors", title: "Tensors", out: options.out) }
exitOnError {
    report.drew(try Plotter.shared.lines(
        [Series("three nested loops", x: sizes.map(Double.init), y: loopRates),
         Series("OpenBLAS sgemm, \(BLAS.threadCount) thread(s)", x: sizes.map(Double.init), y: blasRates)],
        title: "Chapter 00 · Tensors: n x n matrix product speed", xLabel: "n", yLabel: "GFLOP/s",
        logScaleX: true, in: report.folder, name: "matmul-speed"))
}
