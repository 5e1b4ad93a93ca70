// The OpenCL backend's kernels, in OpenCL C, compiled once per run for the device (OpenCLDevice.swift).
//
// Each kernel names its CPU twin (Backend/CPU/) and computes the same thing the plain way: one work item
// per element, or per row where a row is reduced (softmax, LayerNorm, cross-entropy), or per column where
// rows are summed (so that no two work items add into one number and the result does not depend on their
// order). Every buffer comes with its offset in floats (a Storage is a view: OpenCLDevice.launch passes
// both), and every kernel stops work items past the end.
enum OpenCLKernels {
    static let names = [
        "accumulate", "addBroadcast", "sumRepetitions", "repeatRows", "scale", "relu", "reluBackward", "dropoutMask",
        "multiply", "partialSums", "broadcastScalar",
        "softmax", "softmaxBackward", "zeroBeyondVisible", "layerNorm", "layerNormBackward", "layerNormParameterGrads",
        "crossEntropy", "meanOfRows", "crossEntropyBackward",
        "embedding", "embeddingBackward", "swapAxes", "moveHeads", "copyColumns",
        "adamW",
    ]

    static let source = #"""
    // ---- Accumulate, broadcast, repeat (CPU: ElementwiseKernels.swift) ----

    // CPUBackend.accumulate: y += x
    __kernel void accumulate(__global const float* x, int xo, __global float* y, int yo, int n) {
        int i = get_global_id(0); if (i >= n) return;
        y[yo + i] += x[xo + i];
    }

    // CPUBackend.addBroadcast: out = a + b, b repeated over a's leading axes
    __kernel void addBroadcast(__global const float* a, int ao, __global const float* b, int bo,
                               __global float* out, int oo, int n, int bCount) {
        int i = get_global_id(0); if (i >= n) return;
        out[oo + i] = a[ao + i] + b[bo + i % bCount];
    }

    // CPUBackend.sumRepetitions: out[j] = sum over r of g[r * width + j], r in order
    __kernel void sumRepetitions(__global const float* g, int go, __global float* out, int oo, int width, int repetitions) {
        int j = get_global_id(0); if (j >= width) return;
        float total = g[go + j];
        for (int r = 1; r < repetitions; r++) total += g[go + r * width + j];
        out[oo + j] = total;
    }

    // CPUBackend.repeatRows: y[i] = x[i % width]
    __kernel void repeatRows(__global const float* x, int xo, __global float* y, int yo, int n, int width) {
        int i = get_global_id(0); if (i >= n) return;
        y[yo + i] = x[xo + i % width];
    }

    // ---- Scale, ReLU, dropout, multiply ----

    // CPUBackend.scale
    __kernel void scale(__global const float* x, int xo, __global float* out, int oo, int n, float alpha) {
        int i = get_global_id(0); if (i >= n) return;
        out[oo + i] = alpha * x[xo + i];
    }

    // CPUBackend.relu
    __kernel void relu(__global const float* x, int xo, __global float* out, int oo, int n) {
        int i = get_global_id(0); if (i >= n) return;
        float v = x[xo + i];
        out[oo + i] = v > 0 ? v : 0;
    }

    // CPUBackend.reluBackward: dx = g where the output was positive, else 0
    __kernel void reluBackward(__global const float* y, int yo, __global const float* g, int go,
                               __global float* dx, int dxo, int n) {
        int i = get_global_id(0); if (i >= n) return;
        dx[dxo + i] = y[yo + i] > 0 ? g[go + i] : 0;
    }

    // Philox4x32-10 (Random.swift, Philox4x32.block): counter c, key k.
    uint4 philox(uint4 c, uint2 k) {
        for (int round = 0; round < 10; round++) {
            if (round > 0) { k.x += 0x9E3779B9u; k.y += 0xBB67AE85u; }
            uint hi0 = mul_hi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
            uint hi1 = mul_hi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
            c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        }
        return c;
    }

    // CPUBackend.dropoutMask: one work item per block of four elements, counter (block, stream), key seed
    __kernel void dropoutMask(__global float* mask, int mo, int n, float p, float keep, ulong seed, ulong stream) {
        int block = get_global_id(0); if (4 * block >= n) return;
        uint4 words = philox((uint4)((uint)block, 0u, (uint)stream, (uint)(stream >> 32)), (uint2)((uint)seed, (uint)(seed >> 32)));
        uint lanes[4] = { words.x, words.y, words.z, words.w };
        for (int lane = 0; lane < 4 && 4 * block + lane < n; lane++) {
            float u = (float)(lanes[lane] >> 8) * 0x1p-24f;
            mask[mo + 4 * block + lane] = u < p ? 0 : keep;
        }
    }

    // CPUBackend.multiply
    __kernel void multiply(__global const float* x, int xo, __global const float* y, int yo, __global float* out, int oo, int n) {
        int i = get_global_id(0); if (i >= n) return;
        out[oo + i] = x[xo + i] * y[yo + i];
    }

    // ---- Reductions ----

    // The first half of CPUBackend.sum and sumOfSquares: work item w sums elements w, w + parts, ... (their
    // squares if `squares`); the host adds the parts in Double.
    __kernel void partialSums(__global const float* x, int xo, int n, int parts, int squares, __global float* out, int oo) {
        int w = get_global_id(0); if (w >= parts) return;
        float total = 0;
        for (int i = w; i < n; i += parts) { float v = x[xo + i]; total += squares ? v * v : v; }
        out[oo + w] = total;
    }

    // CPUBackend.broadcastScalar: out[i] = alpha * scalar[0]
    __kernel void broadcastScalar(__global const float* s, int so, __global float* out, int oo, int n, float alpha) {
        int i = get_global_id(0); if (i >= n) return;
        out[oo + i] = alpha * s[so];
    }

    // ---- Softmax, LayerNorm, cross-entropy (CPU: SoftmaxKernels.swift, LayerNormKernels.swift) ----

    // How many keys row r sees (CausalMask.visibleKeys); queries == 0 means no mask.
    int visibleKeys(int r, int columns, int queries, int offset) {
        return queries == 0 ? columns : offset + r % queries + 1;
    }

    // CPUBackend.softmax: one work item per row; out = softmax(scale * x), masked entries exactly 0
    __kernel void softmax(__global const float* x, int xo, __global float* out, int oo, int rows, int columns,
                          int queries, int offset, float scale) {
        int r = get_global_id(0); if (r >= rows) return;
        __global const float* xr = x + xo + r * columns;
        __global float* o = out + oo + r * columns;
        int visible = visibleKeys(r, columns, queries, offset);
        float maximum = xr[0];
        for (int j = 1; j < visible; j++) maximum = fmax(maximum, xr[j]);
        float total = 0;
        for (int j = 0; j < visible; j++) { float e = exp(scale * (xr[j] - maximum)); o[j] = e; total += e; }
        for (int j = 0; j < visible; j++) o[j] /= total;
        for (int j = visible; j < columns; j++) o[j] = 0;
    }

    // CPUBackend.softmaxBackward: dx_j = scale * y_j * (dy_j - sum_k y_k dy_k), masked entries 0
    __kernel void softmaxBackward(__global const float* y, int yo, __global const float* g, int go,
                                  __global float* dx, int dxo, int rows, int columns, int queries, int offset, float scale) {
        int r = get_global_id(0); if (r >= rows) return;
        __global const float* yr = y + yo + r * columns;
        __global const float* gr = g + go + r * columns;
        __global float* d = dx + dxo + r * columns;
        int visible = visibleKeys(r, columns, queries, offset);
        float dot = 0;
        for (int j = 0; j < visible; j++) dot += yr[j] * gr[j];
        for (int j = 0; j < visible; j++) d[j] = scale * yr[j] * (gr[j] - dot);
        for (int j = visible; j < columns; j++) d[j] = 0;
    }

    // CPUBackend.weightedSumBackward's zeros: in each of `rows` rows (`columns` wide, from row `first` of
    // every batch element, `batchStride` apart), the entries from column `visible` on
    __kernel void zeroBeyondVisible(__global float* w, int wo, int batch, int batchStride, int first, int rows,
                                    int columns, int visible) {
        int i = get_global_id(0), width = columns - visible; if (i >= batch * rows * width) return;
        int b = i / (rows * width), r = (i / width) % rows, j = visible + i % width;
        w[wo + b * batchStride + (first + r) * columns + j] = 0;
    }

    // CPUBackend.layerNorm: one work item per row; keeps mean and rstd
    __kernel void layerNorm(__global const float* x, int xo, __global const float* gain, int wo, __global const float* bias, int bo,
                            __global float* out, int oo, __global float* mean, int mo, __global float* rstd, int so,
                            int rows, int columns, float epsilon) {
        int r = get_global_id(0); if (r >= rows) return;
        __global const float* xr = x + xo + r * columns;
        __global float* o = out + oo + r * columns;
        float m = 0;
        for (int j = 0; j < columns; j++) m += xr[j];
        m /= columns;
        float variance = 0;
        for (int j = 0; j < columns; j++) { float d = xr[j] - m; variance += d * d; }
        float s = 1 / sqrt(variance / columns + epsilon);
        for (int j = 0; j < columns; j++) o[j] = (xr[j] - m) * s * gain[wo + j] + bias[bo + j];
        mean[mo + r] = m;
        rstd[so + r] = s;
    }

    // CPUBackend.layerNormBackward, the input's gradient: one work item per row
    //   dnorm = g * gain;  dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
    __kernel void layerNormBackward(__global const float* g, int go, __global const float* x, int xo, __global const float* gain, int wo,
                                    __global const float* mean, int mo, __global const float* rstd, int so,
                                    __global float* dx, int dxo, int rows, int columns) {
        int r = get_global_id(0); if (r >= rows) return;
        __global const float* gr = g + go + r * columns;
        __global const float* xr = x + xo + r * columns;
        float m = mean[mo + r], s = rstd[so + r];
        float meanDNorm = 0, meanDNormTimesNorm = 0;
        for (int j = 0; j < columns; j++) {
            float norm = (xr[j] - m) * s, dNorm = gr[j] * gain[wo + j];
            meanDNorm += dNorm;
            meanDNormTimesNorm += dNorm * norm;
        }
        meanDNorm /= columns;
        meanDNormTimesNorm /= columns;
        for (int j = 0; j < columns; j++) {
            float norm = (xr[j] - m) * s, dNorm = gr[j] * gain[wo + j];
            dx[dxo + r * columns + j] = s * (dNorm - meanDNorm - norm * meanDNormTimesNorm);
        }
    }

    // CPUBackend.layerNormBackward, gain's and bias's gradients: one work item per column, rows in order
    //   dgain = sum over rows of g * norm;  dbias = sum over rows of g   (either may be absent: has* = 0)
    __kernel void layerNormParameterGrads(__global const float* g, int go, __global const float* x, int xo,
                                          __global const float* mean, int mo, __global const float* rstd, int so,
                                          __global float* dgain, int dgo, int hasGain, __global float* dbias, int dbo, int hasBias,
                                          int rows, int columns) {
        int j = get_global_id(0); if (j >= columns) return;
        float gainTotal = 0, biasTotal = 0;
        for (int r = 0; r < rows; r++) {
            float gv = g[go + r * columns + j];
            gainTotal += gv * (x[xo + r * columns + j] - mean[mo + r]) * rstd[so + r];
            biasTotal += gv;
        }
        if (hasGain) dgain[dgo + j] = gainTotal;
        if (hasBias) dbias[dbo + j] = biasTotal;
    }

    // CPUBackend.crossEntropy, per row: the probabilities, and logsumexp - logit[target] into rowLoss
    __kernel void crossEntropy(__global const float* logits, int lo, __global const int* targets, int to,
                               __global float* p, int po, __global float* rowLoss, int ro, int rows, int classes) {
        int r = get_global_id(0); if (r >= rows) return;
        __global const float* x = logits + lo + r * classes;
        __global float* pr = p + po + r * classes;
        float maximum = x[0];
        for (int j = 1; j < classes; j++) maximum = fmax(maximum, x[j]);
        float total = 0;
        for (int j = 0; j < classes; j++) { float e = exp(x[j] - maximum); pr[j] = e; total += e; }
        for (int j = 0; j < classes; j++) pr[j] /= total;
        rowLoss[ro + r] = maximum + log(total) - x[targets[to + r]];
    }

    // The rest of CPUBackend.crossEntropy: loss[0] = mean of the row losses (one work item, rows in order)
    __kernel void meanOfRows(__global const float* rowLoss, int ro, __global float* loss, int lo, int rows) {
        if (get_global_id(0) != 0) return;
        float total = 0;
        for (int r = 0; r < rows; r++) total += rowLoss[ro + r];
        loss[lo] = total / rows;
    }

    // CPUBackend.crossEntropyBackward: dlogits = (p - onehot(target)) * upstream[0] / rows
    __kernel void crossEntropyBackward(__global const float* p, int po, __global const int* targets, int to,
                                       __global const float* upstream, int uo, __global float* d, int dOffset,
                                       int rows, int classes) {
        int i = get_global_id(0); if (i >= rows * classes) return;
        int r = i / classes, j = i % classes;
        float scale = upstream[uo] / rows;
        d[dOffset + i] = scale * p[po + i] - (j == targets[to + r] ? scale : 0);
    }

    // ---- Layout (CPU: LayoutKernels.swift) ----

    // CPUBackend.embedding: out[i, :] = table[ids[i], :]
    __kernel void embedding(__global const float* table, int tableOffset, __global const int* ids, int io,
                            __global float* out, int oo, int count, int width) {
        int i = get_global_id(0); if (i >= count * width) return;
        out[oo + i] = table[tableOffset + ids[io + i / width] * width + i % width];
    }

    // CPUBackend.embeddingBackward: tableGrad[ids[i], :] += g[i, :], one work item per column, ids in order
    __kernel void embeddingBackward(__global const float* g, int go, __global const int* ids, int io,
                                    __global float* tableGrad, int tgo, int count, int width) {
        int j = get_global_id(0); if (j >= width) return;
        for (int i = 0; i < count; i++) tableGrad[tgo + ids[io + i] * width + j] += g[go + i * width + j];
    }

    // CPUBackend.swapAxes, with x seen as (outer, A, middle, B, inner): out (outer, B, middle, A, inner)
    __kernel void swapAxes(__global const float* x, int xo, __global float* out, int oo,
                           int outer, int a, int middle, int b, int inner) {
        int i = get_global_id(0); if (i >= outer * a * middle * b * inner) return;
        int k = i % inner, rest = i / inner;
        int ia = rest % a; rest /= a;
        int im = rest % middle; rest /= middle;
        int ib = rest % b; int io = rest / b;
        out[oo + i] = x[xo + (((io * a + ia) * middle + im) * b + ib) * inner + k];
    }

    // CPUBackend.moveHeads: heads[b, h, t, j] = packed[b, t, offset + h * hs + j], or packed[...] += heads[...] back
    __kernel void moveHeads(__global float* packed, int po, __global float* heads, int ho, int batch, int time, int width,
                            int offset, int headCount, int headSize, int toHeads) {
        int i = get_global_id(0); if (i >= batch * headCount * time * headSize) return;
        int j = i % headSize, t = (i / headSize) % time, h = (i / (headSize * time)) % headCount, b = i / (headSize * time * headCount);
        int p = po + (b * time + t) * width + offset + h * headSize + j;
        if (toHeads) heads[ho + i] = packed[p]; else packed[p] += heads[ho + i];
    }

    // CPUBackend.copyColumns: destination[r, destinationOffset + j] = source[r, sourceOffset + j]
    __kernel void copyColumns(__global const float* s, int so, int sourceWidth, int sourceOffset,
                              __global float* d, int dOffset, int destinationWidth, int destinationOffset, int width, int rows) {
        int i = get_global_id(0); if (i >= rows * width) return;
        int r = i / width, j = i % width;
        d[dOffset + r * destinationWidth + destinationOffset + j] = s[so + r * sourceWidth + sourceOffset + j];
    }

    // ---- Optimizer (CPU: OptimizerKernels.swift) ----

    // CPUBackend.adamW: p *= decay; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    //                   p -= stepSize * m / (sqrt(v) / correction2Root + epsilon)
    __kernel void adamW(__global float* p, int po, __global const float* g, int go, __global float* m, int mo,
                        __global float* v, int vo, int n, float decay, float beta1, float beta2, float stepSize,
                        float correction2Root, float epsilon) {
        int i = get_global_id(0); if (i >= n) return;
        float gradient = g[go + i];
        float first = beta1 * m[mo + i] + (1 - beta1) * gradient;
        float second = beta2 * v[vo + i] + (1 - beta2) * gradient * gradient;
        m[mo + i] = first;
        v[vo + i] = second;
        p[po + i] = p[po + i] * decay - stepSize * first / (sqrt(second) / correction2Root + epsilon);
    }
    """#
}
