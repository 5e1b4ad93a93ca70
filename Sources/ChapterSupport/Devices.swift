// The devices every program of the package can run on: the CPU (TensorCore's own backend) and an
// OpenCL device (TensorCoreOpenCL's, registered here so that --device and NANOGPT_DEVICE can name it).
import TensorCore
import TensorCoreOpenCL

public enum Devices {
    /// Makes `device` (else NANOGPT_DEVICE, else the CPU) where every tensor made from now on lives.
    /// With several OpenCL devices, number `index` (modulo their number): process r of a data-parallel run
    /// passes r. Throws one line when the device cannot be used.
    public static func select(_ device: Device?, index: Int = 0) throws {
        OpenCLBackend.preferredDeviceIndex = index
        OpenCLBackend.register()
        try Backends.select(device)
    }
}
