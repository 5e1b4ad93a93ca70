// OpenCL and CLBlast, loaded at run time.
//
// The package builds and runs where neither is installed: nothing links them. `OpenCLLibrary.load()` opens
// `libOpenCL.so.1` (the ICD loader, which finds the vendors' drivers through /etc/OpenCL/vendors) and
// `libclblast.so.1` with dlopen, and looks up the few functions the OpenCL backend calls. What is missing
// is reported in one line that names the Debian packages.
//
// The declarations below are the C ones from CL/cl.h and clblast_c.h, written out: every OpenCL handle
// (platform, device, context, queue, buffer, program, kernel, event) is an opaque pointer, cl_int is Int32,
// size_t is Int.
import Foundation
import TensorCore

typealias CLHandle = OpaquePointer?

/// Why the OpenCL device could not be used, in one line.
public struct OpenCLError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }

    static let packages = "on Debian: apt-get install pocl-opencl-icd libclblast1 (the CPU through PoCL), or a GPU vendor's OpenCL driver and libclblast1"

    /// A failed call: its name and OpenCL's status code (CL/cl.h lists them: -5 out of resources, ...).
    static func call(_ function: String, _ status: Int32) -> OpenCLError {
        OpenCLError("OpenCL: \(function) failed with status \(status)")
    }
}

/// The OpenCL and CLBlast entry points the backend uses, looked up once.
struct OpenCLLibrary {
    typealias Status = Int32
    typealias Events = UnsafePointer<CLHandle>?
    typealias EventOut = UnsafeMutablePointer<CLHandle>?

    let getPlatformIDs: @convention(c) (UInt32, UnsafeMutablePointer<CLHandle>?, UnsafeMutablePointer<UInt32>?) -> Status
    let getPlatformInfo: @convention(c) (CLHandle, UInt32, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Status
    let getDeviceIDs: @convention(c) (CLHandle, UInt64, UInt32, UnsafeMutablePointer<CLHandle>?, UnsafeMutablePointer<UInt32>?) -> Status
    let getDeviceInfo: @convention(c) (CLHandle, UInt32, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Status
    let createContext: @convention(c) (UnsafePointer<Int>?, UInt32, UnsafePointer<CLHandle>?, UnsafeRawPointer?,
                                       UnsafeMutableRawPointer?, UnsafeMutablePointer<Status>?) -> CLHandle
    let createCommandQueue: @convention(c) (CLHandle, CLHandle, UInt64, UnsafeMutablePointer<Status>?) -> CLHandle
    let createBuffer: @convention(c) (CLHandle, UInt64, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Status>?) -> CLHandle
    let releaseMemObject: @convention(c) (CLHandle) -> Status
    let enqueueWriteBuffer: @convention(c) (CLHandle, CLHandle, UInt32, Int, Int, UnsafeRawPointer?, UInt32, Events, EventOut) -> Status
    let enqueueReadBuffer: @convention(c) (CLHandle, CLHandle, UInt32, Int, Int, UnsafeMutableRawPointer?, UInt32, Events, EventOut) -> Status
    let enqueueCopyBuffer: @convention(c) (CLHandle, CLHandle, CLHandle, Int, Int, Int, UInt32, Events, EventOut) -> Status
    let enqueueFillBuffer: @convention(c) (CLHandle, CLHandle, UnsafeRawPointer?, Int, Int, Int, UInt32, Events, EventOut) -> Status
    let createProgramWithSource: @convention(c) (CLHandle, UInt32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?,
                                                 UnsafeMutablePointer<Status>?) -> CLHandle
    let buildProgram: @convention(c) (CLHandle, UInt32, UnsafePointer<CLHandle>?, UnsafePointer<CChar>?, UnsafeRawPointer?,
                                      UnsafeMutableRawPointer?) -> Status
    let getProgramBuildInfo: @convention(c) (CLHandle, CLHandle, UInt32, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Status
    let createKernel: @convention(c) (CLHandle, UnsafePointer<CChar>?, UnsafeMutablePointer<Status>?) -> CLHandle
    let setKernelArg: @convention(c) (CLHandle, UInt32, Int, UnsafeRawPointer?) -> Status
    let enqueueNDRangeKernel: @convention(c) (CLHandle, CLHandle, UInt32, UnsafePointer<Int>?, UnsafePointer<Int>?,
                                              UnsafePointer<Int>?, UInt32, Events, EventOut) -> Status
    let finish: @convention(c) (CLHandle) -> Status

    /// CLBlastSgemm(layout, transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc, queue*, event*)
    let sgemm: @convention(c) (Int32, Int32, Int32, Int, Int, Int, Float, CLHandle, Int, Int, CLHandle, Int, Int, Float,
                               CLHandle, Int, Int, UnsafeMutablePointer<CLHandle>?, EventOut) -> Status
    /// CLBlastSgemmStridedBatched: the same with a stride after each leading dimension and a batch count.
    let sgemmStridedBatched: @convention(c) (Int32, Int32, Int32, Int, Int, Int, Float, CLHandle, Int, Int, Int,
                                             CLHandle, Int, Int, Int, Float, CLHandle, Int, Int, Int, Int,
                                             UnsafeMutablePointer<CLHandle>?, EventOut) -> Status

    // Constants from CL/cl.h and clblast_c.h.
    static let success: Status = 0
    static let deviceTypeAll: UInt64 = 0xFFFF_FFFF, deviceTypeGPU: UInt64 = 1 << 2
    static let memReadWrite: UInt64 = 1 << 0
    static let platformName: UInt32 = 0x0902, deviceName: UInt32 = 0x102B, programBuildLog: UInt32 = 0x1183
    static let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112

    /// Opens both libraries, or says in one line which is missing and where to get it.
    static func load(openCL openCLName: String = "libOpenCL.so.1", clblast clblastName: String = "libclblast.so.1") throws -> OpenCLLibrary {
        guard let opencl = dlopen(openCLName, RTLD_NOW | RTLD_LOCAL) else {
            throw OpenCLError("--device opencl: \(openCLName) not found (\(OpenCLError.packages))")
        }
        guard let clblast = dlopen(clblastName, RTLD_NOW | RTLD_LOCAL) else {
            throw OpenCLError("--device opencl: \(clblastName) not found (\(OpenCLError.packages))")
        }
        func symbol<F>(_ library: UnsafeMutableRawPointer, _ name: String) throws -> F {   // F: the field's type
            guard let address = dlsym(library, name) else { throw OpenCLError("--device opencl: \(name) missing from its library") }
            return unsafeBitCast(address, to: F.self)
        }
        return OpenCLLibrary(
            getPlatformIDs: try symbol(opencl, "clGetPlatformIDs"),
            getPlatformInfo: try symbol(opencl, "clGetPlatformInfo"),
            getDeviceIDs: try symbol(opencl, "clGetDeviceIDs"),
            getDeviceInfo: try symbol(opencl, "clGetDeviceInfo"),
            createContext: try symbol(opencl, "clCreateContext"),
            createCommandQueue: try symbol(opencl, "clCreateCommandQueue"),
            createBuffer: try symbol(opencl, "clCreateBuffer"),
            releaseMemObject: try symbol(opencl, "clReleaseMemObject"),
            enqueueWriteBuffer: try symbol(opencl, "clEnqueueWriteBuffer"),
            enqueueReadBuffer: try symbol(opencl, "clEnqueueReadBuffer"),
            enqueueCopyBuffer: try symbol(opencl, "clEnqueueCopyBuffer"),
            enqueueFillBuffer: try symbol(opencl, "clEnqueueFillBuffer"),
            createProgramWithSource: try symbol(opencl, "clCreateProgramWithSource"),
            buildProgram: try symbol(opencl, "clBuildProgram"),
            getProgramBuildInfo: try symbol(opencl, "clGetProgramBuildInfo"),
            createKernel: try symbol(opencl, "clCreateKernel"),
            setKernelArg: try symbol(opencl, "clSetKernelArg"),
            enqueueNDRangeKernel: try symbol(opencl, "clEnqueueNDRangeKernel"),
            finish: try symbol(opencl, "clFinish"),
            sgemm: try symbol(clblast, "CLBlastSgemm"),
            sgemmStridedBatched: try symbol(clblast, "CLBlastSgemmStridedBatched"))
    }
}
