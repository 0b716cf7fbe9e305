#pragma once
// EMPO_VECTOR_CLONES on a function compiles its loops for AVX2+FMA as well as the baseline, and
// the loader picks the clone the CPU runs (GCC/Clang function multi-versioning). Sanitizer
// builds keep the baseline only.
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define EMPO_VECTOR_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define EMPO_VECTOR_CLONES
#endif
