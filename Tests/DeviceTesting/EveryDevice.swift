// Running the same test on every backend: the CPU, and the OpenCL device where OpenCL is installed (PoCL,
// OpenCL on the CPU, in the README's test command; a GPU elsewhere).
import Testing
import TensorCore
import TensorCoreOpenCL

/// This machine's OpenCL backend, or nil when OpenCL or CLBlast is missing (then only the CPU is tested).
public let openCLBackend: OpenCLBackend? = try? OpenCLBackend.shared()   // (TensorCoreOpenCL)

/// Why the OpenCL half of a test did not run, when it did not.
public let openCLSkipped = "OpenCL is not installed here (the README's test command installs PoCL and CLBlast); tested on the CPU only"

/// A trait that runs each test it marks (or every test of a suite it marks) twice: on the CPU, then with
/// every tensor made inside it on the OpenCL device (`Backends.using`).
public struct EveryDevice: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite || testCase == nil ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await Backends.using(CPUBackend.shared) { try await function() }
        guard let openCLBackend else { return }
        try await Backends.using(openCLBackend) { try await function() }   // a failure only here is the device's
    }
}

extension Trait where Self == EveryDevice {
    /// Runs the test on the CPU and again on the OpenCL device, if there is one.
    public static var onEveryDevice: EveryDevice { EveryDevice() }
}
