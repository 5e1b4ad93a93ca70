// The start-up check of the CPU (see CPUCheck.c). Nothing to call: it runs before main.
#pragma once

/// 1 when this build needs AVX2 and FMA (it targets x86-64-v3) and the check has passed, 0 otherwise.
int nanogpt_cpu_check_passed(void);
