#pragma once
// Process-wide torch settings every command that runs a model applies once.
#include <torch/torch.h>

#include <string>

namespace empo::model {

// libtorch starts with one intra-op thread; use `threads` > 0, else $EMPO_THREADS, else every
// core of the machine.
void init_runtime(int threads = 0);

// Debian's OpenBLAS picks its kernels from the CPU model when it loads; on virtual machines
// that report a generic model it falls back to its Prescott (SSE3) kernels, about half the
// speed of its AVX2 (Haswell) or AVX-512 (SkylakeX) ones on the same CPU. When OpenBLAS did so,
// OPENBLAS_CORETYPE is unset and the CPU has AVX2 and FMA, this re-executes the program once
// with OPENBLAS_CORETYPE set to the widest of those the CPU runs; otherwise it returns. Call it
// first thing in main().
void use_native_blas_kernels(char** argv);

// "cpu", "cuda", "cuda:1" or "auto" (CUDA when available); InputError for anything else.
at::Device parse_device(const std::string& name);

// float32 on CPU (bf16 matmul is ~20x slower there), bfloat16 on GPU, unless told otherwise.
at::ScalarType compute_dtype(const std::string& name, const at::Device& device);

// Bytes the device can still hand out: MemAvailable of /proc/meminfo on CPU, the driver's free
// memory plus what torch's caching allocator holds unused on CUDA; 0 when it cannot be told.
int64_t free_device_memory(const at::Device& device);

// What this binary runs on (`empo version`).
struct BuildInfo {
  std::string torch_version;      // of the libtorch linked, e.g. "1.13.1" or "2.5.1"
  bool cuda_compiled_in = false;  // libtorch_cuda linked: CUDA kernels available when a GPU is
  int64_t gpus_visible = 0;       // CUDA devices this process sees now
  bool fused_attention = false;   // scaled_dot_product_attention has fused kernels (2.x)
  // Compiled against the CUDA headers (always both in a CUDA build, which fails without them):
  bool cuda_memory_info = false;  // free/peak device memory queries (the rollout's KV budget)
  bool cuda_graphs = false;       // CUDA graph capture of decode steps (rollout_cuda_graphs)
};
BuildInfo build_info();

}  // namespace empo::model
