// One OpenCL device: its context, one in-order command queue, the kernels of OpenCLKernels.swift built
// once for it, and the one way work reaches it (`launch`, `gemm`, the buffer copies).
//
// Everything goes through one in-order queue, so each call sees the results of the calls before it
// without events; only the host copies wait (they are blocking reads and writes).
import Foundation
import TensorCore

/// A device buffer. Storages view it (Storage.memory); it is released when the last one goes.
final class DeviceBuffer {
    let memory: CLHandle
    let count: Int
    private let library: OpenCLLibrary
    init(memory: CLHandle, count: Int, library: OpenCLLibrary) { self.memory = memory; self.count = count; self.library = library }
    deinit { _ = library.releaseMemObject(memory) }
}

extension Storage {
    /// This storage's device buffer. OpenCL backend only (every file that uses it is in OpenCL/).
    var deviceBuffer: CLHandle {
        guard let buffer = memory as? DeviceBuffer else {
            preconditionFailure("a tensor on \(backend.name) was handed to the OpenCL device: make every tensor on one device")
        }
        return buffer.memory
    }
}

final class OpenCLDevice {
    let library: OpenCLLibrary
    let name: String, platformName: String
    private let device: CLHandle, context: CLHandle
    private var queue: CLHandle
    private var kernels: [String: CLHandle] = [:]
    /// setKernelArg then enqueue must not interleave between threads (tests run in parallel).
    private let lock = NSLock()
    /// What has been sent to the device so far (chapter 05a reads it), counted under `lock`.
    private var counted = DeviceTraffic()
    var traffic: DeviceTraffic { lock.withLock { counted } }

    /// The GPUs of every platform (else the devices of any kind, PoCL's CPU device): number
    /// `index` modulo how many there are, so that process r of a data-parallel run takes device r.
    init(index: Int = 0) throws {
        let library = try OpenCLLibrary.load()
        self.library = library
        var platformCount: UInt32 = 0
        guard library.getPlatformIDs(0, nil, &platformCount) == OpenCLLibrary.success, platformCount > 0 else {
            throw OpenCLError("--device opencl: no OpenCL platform is installed (\(OpenCLError.packages))")
        }
        var platforms = [CLHandle](repeating: nil, count: Int(platformCount))
        _ = library.getPlatformIDs(platformCount, &platforms, nil)
        func devices(of type: UInt64) -> [(platform: CLHandle, device: CLHandle)] {
            platforms.flatMap { platform -> [(CLHandle, CLHandle)] in
                var count: UInt32 = 0
                guard library.getDeviceIDs(platform, type, 0, nil, &count) == OpenCLLibrary.success, count > 0 else { return [] }
                var found = [CLHandle](repeating: nil, count: Int(count))
                guard library.getDeviceIDs(platform, type, count, &found, nil) == OpenCLLibrary.success else { return [] }
                return found.map { (platform, $0) }
            }
        }
        let gpus = devices(of: OpenCLLibrary.deviceTypeGPU), candidates = gpus.isEmpty ? devices(of: OpenCLLibrary.deviceTypeAll) : gpus
        guard !candidates.isEmpty else {
            throw OpenCLError("--device opencl: OpenCL has no device (\(OpenCLError.packages))")
        }
        let (platform, device) = candidates[max(0, index) % candidates.count]
        self.device = device
        func text(_ read: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Int32) -> String {
            var size = 0
            _ = read(0, nil, &size)
            var bytes = [CChar](repeating: 0, count: size + 1)
            _ = read(size, &bytes, nil)
            return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        name = text { library.getDeviceInfo(device, OpenCLLibrary.deviceName, $0, $1, $2) }
        platformName = text { library.getPlatformInfo(platform, OpenCLLibrary.platformName, $0, $1, $2) }
        var status: Int32 = 0
        var devices = [device]
        context = library.createContext(nil, 1, &devices, nil, nil, &status)
        guard status == OpenCLLibrary.success else { throw OpenCLError.call("clCreateContext", status) }
        queue = library.createCommandQueue(context, device, 0, &status)
        guard status == OpenCLLibrary.success else { throw OpenCLError.call("clCreateCommandQueue", status) }
        try build(OpenCLKernels.source)
    }

    /// Compiles the kernels (once per run: PoCL takes about a second) and creates one cl_kernel for each.
    private func build(_ source: String) throws {
        var status: Int32 = 0
        let program: CLHandle = source.withCString { text in
            var strings: [UnsafePointer<CChar>?] = [text]
            return library.createProgramWithSource(context, 1, &strings, nil, &status)
        }
        guard status == OpenCLLibrary.success else { throw OpenCLError.call("clCreateProgramWithSource", status) }
        var devices = [device]
        let built = library.buildProgram(program, 1, &devices, "-cl-std=CL1.2", nil, nil)
        guard built == OpenCLLibrary.success else {
            var size = 0
            _ = library.getProgramBuildInfo(program, device, OpenCLLibrary.programBuildLog, 0, nil, &size)
            var log = [CChar](repeating: 0, count: size + 1)
            _ = library.getProgramBuildInfo(program, device, OpenCLLibrary.programBuildLog, size, &log, nil)
            let firstLine = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: "\n").first { $0.contains("error") } ?? ""
            throw OpenCLError("OpenCL: the kernels did not compile on \(name): \(firstLine)")
        }
        for kernel in OpenCLKernels.names {
            let handle = library.createKernel(program, kernel, &status)
            guard status == OpenCLLibrary.success else { throw OpenCLError.call("clCreateKernel(\(kernel))", status) }
            kernels[kernel] = handle
        }
    }

    // MARK: Buffers

    func allocate(count: Int) -> DeviceBuffer {
        if count > Int(Int32.max) { stop("OpenCL: a tensor of \(count) floats is beyond the kernels' 32-bit indices: try a smaller model or batch") }
        var status: Int32 = 0
        let bytes = Swift.max(1, count) * MemoryLayout<Float>.size   // OpenCL refuses empty buffers
        let memory = library.createBuffer(context, OpenCLLibrary.memReadWrite, bytes, nil, &status)
        check(status, "clCreateBuffer(\(bytes) bytes)")
        return DeviceBuffer(memory: memory, count: count, library: library)
    }

    /// A buffer holding `values` as 32-bit integers (token ids, targets).
    func integers(_ values: [Int]) -> DeviceBuffer {
        let buffer = allocate(count: values.count)
        let words = values.map { Int32(truncatingIfNeeded: $0) }
        words.withUnsafeBytes { write(buffer.memory, byteOffset: 0, $0) }
        return buffer
    }

    func write(_ memory: CLHandle, byteOffset: Int, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        lock.withLock {
            counted.bytesToDevice += bytes.count
            check(library.enqueueWriteBuffer(queue, memory, 1, byteOffset, bytes.count, bytes.baseAddress, 0, nil, nil), "clEnqueueWriteBuffer")
        }
    }

    func read(_ memory: CLHandle, byteOffset: Int, into bytes: UnsafeMutableRawBufferPointer) {
        guard bytes.count > 0 else { return }
        lock.withLock {
            counted.bytesToHost += bytes.count
            check(library.enqueueReadBuffer(queue, memory, 1, byteOffset, bytes.count, bytes.baseAddress, 0, nil, nil), "clEnqueueReadBuffer")
        }
    }

    func copy(_ source: CLHandle, byteOffset: Int, to destination: CLHandle, byteOffset destinationOffset: Int, bytes: Int) {
        guard bytes > 0 else { return }
        lock.withLock { check(library.enqueueCopyBuffer(queue, source, destination, byteOffset, destinationOffset, bytes, 0, nil, nil), "clEnqueueCopyBuffer") }
    }

    func fill(_ memory: CLHandle, byteOffset: Int, bytes: Int, with value: Float) {
        guard bytes > 0 else { return }
        var pattern = value
        lock.withLock { check(library.enqueueFillBuffer(queue, memory, &pattern, 4, byteOffset, bytes, 0, nil, nil), "clEnqueueFillBuffer") }
    }

    /// Waits until everything queued has run.
    func finish() { lock.withLock { check(library.finish(queue), "clFinish") } }

    // MARK: Kernels

    /// A kernel argument: a storage is passed as two (its buffer, then its offset in floats).
    enum Argument {
        case storage(Storage), buffer(DeviceBuffer), int(Int), float(Float), ulong(UInt64)
    }

    /// Runs kernel `name` over `workItems` work items (one dimension; the driver picks the work-group size).
    func launch(_ name: String, workItems: Int, _ arguments: [Argument]) {
        guard workItems > 0 else { return }
        guard let kernel = kernels[name] else { preconditionFailure("no OpenCL kernel named \(name)") }
        lock.withLock {
            var index: UInt32 = 0
            func set<T: BitwiseCopyable>(_ value: T) {
                let status = withUnsafeBytes(of: value) { library.setKernelArg(kernel, index, $0.count, $0.baseAddress) }
                check(status, "clSetKernelArg(\(name), \(index))")
                index += 1
            }
            for argument in arguments {
                switch argument {
                case .storage(let s): set(s.deviceBuffer); set(kernelInt(s.offset))
                case .buffer(let b): set(b.memory); set(Int32(0))
                case .int(let v): set(kernelInt(v))
                case .float(let v): set(v)
                case .ulong(let v): set(v)
                }
            }
            var global = workItems
            counted.kernelLaunches += 1
            check(library.enqueueNDRangeKernel(queue, kernel, 1, nil, &global, nil, 0, nil, nil), "clEnqueueNDRangeKernel(\(name))")
        }
    }

    /// CLBlast's strided batched sgemm, row-major (offsets, leading dimensions and strides in floats).
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: (CLHandle, offset: Int, ld: Int, stride: Int), b: (CLHandle, offset: Int, ld: Int, stride: Int), beta: Float,
              c: (CLHandle, offset: Int, ld: Int, stride: Int), batch: Int) {
        guard m > 0, n > 0, batch > 0 else { return }
        let ta = transposeA ? OpenCLLibrary.transpose : OpenCLLibrary.noTranspose
        let tb = transposeB ? OpenCLLibrary.transpose : OpenCLLibrary.noTranspose
        lock.withLock {
            counted.products += 1
            let status = batch == 1
                ? library.sgemm(OpenCLLibrary.rowMajor, ta, tb, m, n, k, alpha, a.0, a.offset, a.ld, b.0, b.offset, b.ld, beta,
                                c.0, c.offset, c.ld, &queue, nil)
                : library.sgemmStridedBatched(OpenCLLibrary.rowMajor, ta, tb, m, n, k, alpha, a.0, a.offset, a.ld, a.stride,
                                              b.0, b.offset, b.ld, b.stride, beta, c.0, c.offset, c.ld, c.stride, batch, &queue, nil)
            check(status, "CLBlast sgemm (\(m)x\(n)x\(k), batch \(batch))")
        }
    }

    /// A failed call inside a kernel requirement cannot be handed back (the contract does not throw): the
    /// run ends in one line naming the call and its status. The likely one is a model too large for the
    /// device's memory (CL/cl.h: -4 allocation failure, -5 out of resources, -6 out of host memory).
    private func check(_ status: Int32, _ what: @autoclosure () -> String) {
        guard status != OpenCLLibrary.success else { return }
        let hint = [-4, -5, -6].contains(status) ? " (out of device memory: try a smaller model or batch)" : ""
        stop("OpenCL: \(what()) failed with status \(status) on \(name)\(hint)")
    }

    /// A size or offset as the kernels' 32-bit int (allocate refuses buffers beyond that, so this holds).
    private func kernelInt(_ value: Int) -> Int32 {
        guard let small = Int32(exactly: value) else { stop("OpenCL: \(value) is beyond the kernels' 32-bit indices") }
        return small
    }

    /// Ends the run with `error: <line>` on standard error and status 1, as every program's bad input does.
    private func stop(_ line: String) -> Never {
        FileHandle.standardError.write(Data("error: \(line)\n".utf8))
        exit(1)
    }
}

/// Counts of what a program sent to an OpenCL device: kernels launched, CLBlast products, and bytes copied
/// each way (buffer-to-buffer copies and fills stay on the device and are not counted).
public struct DeviceTraffic: Sendable {
    public var kernelLaunches = 0, products = 0, bytesToDevice = 0, bytesToHost = 0
    public init() {}
    /// What happened between `earlier` and this count.
    public func since(_ earlier: DeviceTraffic) -> DeviceTraffic {
        var d = DeviceTraffic()
        d.kernelLaunches = kernelLaunches - earlier.kernelLaunches; d.products = products - earlier.products
        d.bytesToDevice = bytesToDevice - earlier.bytesToDevice; d.bytesToHost = bytesToHost - earlier.bytesToHost
        return d
    }
}
