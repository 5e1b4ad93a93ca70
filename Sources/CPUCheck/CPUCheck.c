// The release build targets x86-64-v3 (AVX2 and FMA; see Package.swift). On a CPU without them the
// first such instruction would kill the program with SIGILL and no explanation. This file is compiled for
// baseline x86-64, and its constructor runs before main, before any Swift code could execute an AVX2
// instruction: it checks the CPU and, if something is missing, exits with one line saying what and how
// to build for this CPU.
#include "CPUCheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed = 0;

int nanogpt_cpu_check_passed(void) { return passed; }

#if defined(__x86_64__) && defined(NANOGPT_NEEDS_X86_64_V3)
// Priority 101 runs before every constructor of default priority in the program, such as the C++ static
// initializers of the plot bridge, which is itself compiled for x86-64-v3.
__attribute__((constructor(101))) static void nanogpt_check_cpu(void) {
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2"), fma = __builtin_cpu_supports("fma");
    int level = __builtin_cpu_supports("x86-64-v3");   // also BMI1/2, F16C, LZCNT, MOVBE, which the compiler may use
    // For the test of this very message: NANOGPT_PRETEND_CPU_LACKS=avx2,fma.
    const char *pretend = getenv("NANOGPT_PRETEND_CPU_LACKS");
    if (pretend && strstr(pretend, "avx2")) avx2 = 0;
    if (pretend && strstr(pretend, "fma")) fma = 0;
    if (avx2 && fma && level) {
        passed = 1;
        return;
    }
    fprintf(stderr, "error: this CPU lacks %s, which this build needs (it targets x86-64-v3); "
                    "rebuild for this CPU with: NANOGPT_PORTABLE=1 swift build -c release\n",
            !avx2 && !fma ? "AVX2 and FMA" : !avx2 ? "AVX2" : !fma ? "FMA" : "part of x86-64-v3 (BMI1/2, F16C, LZCNT or MOVBE)");
    _exit(1);
}
#endif
