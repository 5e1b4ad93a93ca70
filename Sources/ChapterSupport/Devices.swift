// The devices every program of the package can run on: the CPU (TensorCore's own backend) and an
// OpenCL device (TensorCoreOpenCL's, registered here so that --device and NANOGPT_DEVICE can name it).
import TensorCore
import TensorCoreOpenCL

public enum Devices {
    /// Makes `device` (else NANOGPT_DEVICE, else the CPU) where every tensor made from now on lives.
    /// Throws one line when the device cannot be used.
    public static func select(_ device: Device?) throws {
        OpenCLBackend.register()
        try Backends.select(device)
    }
}
