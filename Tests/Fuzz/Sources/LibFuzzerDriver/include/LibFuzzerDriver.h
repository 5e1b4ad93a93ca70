// libFuzzer's driver, callable from a program that has its own main (libFuzzer >= 11; linked in by
// -sanitize=fuzzer). It parses libFuzzer's flags from argc/argv and calls `callback` once per input.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
