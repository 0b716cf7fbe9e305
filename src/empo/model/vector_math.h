#pragma once
// Small float loops shared by the CPU kernels (fused_ops, paged_attention).
//
// EMPO_VECTOR_CLONES on a function compiles its loops for AVX2+FMA as well as the baseline, and
// the loader picks the clone the CPU runs (GCC/Clang function multi-versioning). Sanitizer
// builds keep the baseline only. The helpers below are always inlined, so they are compiled for
// each clone of their caller.
#include <cstdint>

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define EMPO_VECTOR_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define EMPO_VECTOR_CLONES
#endif

namespace empo::model {

inline __attribute__((always_inline)) float dot(const float* a, const float* b, int64_t D) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // independent sums the compiler vectorises
  int64_t d = 0;
  for (; d + 8 <= D; d += 8)
    for (int i = 0; i < 8; ++i) lanes[i] += a[d + i] * b[d + i];
  float sum = 0;
  for (; d < D; ++d) sum += a[d] * b[d];
  for (float lane : lanes) sum += lane;
  return sum;
}

// out += weight * v over D floats.
inline __attribute__((always_inline)) void add_scaled(float* out, const float* v, float weight,
                                                      int64_t D) {
  for (int64_t d = 0; d < D; ++d) out[d] += weight * v[d];
}

}  // namespace empo::model
