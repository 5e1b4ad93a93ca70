import CPUCheck

/// What the start-up check (Sources/CPUCheck) found.
public enum CPUFeatures {
    /// True when this build targets x86-64-v3 and the CPU has its AVX2 and FMA (the check ran before
    /// main). False in a portable build (NANOGPT_PORTABLE=1), which needs neither.
    public static var checkedForX86_64_v3: Bool { nanogpt_cpu_check_passed() != 0 }
}
