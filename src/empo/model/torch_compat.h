#pragma once
// Every difference between the two libtorch versions empo builds against lives here: Debian's
// 1.13 (CPU, the default build) and the PyPI wheel's 2.x (CUDA compiled in). The rest of the
// code is written once against these names.
#include <torch/torch.h>
#include <torch/version.h>

#include <string>

#if TORCH_VERSION_MAJOR >= 2
#include <ATen/detail/CUDAHooksInterface.h>
#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#define EMPO_CUDA_MEMORY_INFO 1
#endif
#if __has_include(<ATen/cuda/CUDAGraph.h>) && __has_include(<cuda_runtime_api.h>)
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define EMPO_CUDA_GRAPHS 1
#endif
#endif

// CMake defines EMPO_CUDA_BUILD when the libtorch it found has CUDA libraries. Such a build
// must see the CUDA headers: without them the free-memory query reads 0 (the rollout's KV budget
// becomes unbounded) and CUDA graphs are silently off.
#if defined(EMPO_CUDA_BUILD) && EMPO_CUDA_BUILD && \
    !(defined(EMPO_CUDA_MEMORY_INFO) && defined(EMPO_CUDA_GRAPHS))
#error "libtorch has CUDA but the CUDA headers (cuda_runtime_api.h, c10/cuda) are not found"
#endif

#include <functional>
#include <memory>

namespace c10d {
class ProcessGroup;
class Backend;
class Store;
}  // namespace c10d

// c10d's NCCL backend: only the CUDA wheel's libtorch (2.x) exports it (its torch_cuda target
// defines USE_C10D_NCCL); Debian's 1.13 is CPU-only.
#if TORCH_VERSION_MAJOR >= 2 && defined(USE_C10D_NCCL)
#define EMPO_HAS_NCCL 1
#else
#define EMPO_HAS_NCCL 0
#endif

namespace empo::compat {

inline constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// What of CUDA this binary was compiled with (`empo version`): device memory queries (the
// rollout's KV budget on CUDA) and CUDA graph capture (DeviceGraph).
#ifdef EMPO_CUDA_MEMORY_INFO
inline constexpr bool kCudaMemoryInfo = true;
#else
inline constexpr bool kCudaMemoryInfo = false;
#endif
#ifdef EMPO_CUDA_GRAPHS
inline constexpr bool kCudaGraphs = true;
#else
inline constexpr bool kCudaGraphs = false;
#endif

// The base a c10d Gloo (or NCCL) group is held through: 2.x split ProcessGroup into a
// dispatcher over per-device c10d::Backend objects, and ProcessGroupGloo/NCCL became Backends.
#if TORCH_VERSION_MAJOR >= 2
using GlooBase = c10d::Backend;
#else
using GlooBase = c10d::ProcessGroup;
#endif

// Whether the libtorch this binary links has fused scaled_dot_product_attention kernels
// (flash / memory-efficient on CUDA, a flash-style kernel on CPU). 1.13 has only the math path.
inline constexpr bool kFusedAttention = kTorch2;

// softmax(q k^T / sqrt(D) + additive_mask) v with grouped-query heads.
// q (B, H, T, D); k, v (B, Hkv, S, D) with H a multiple of Hkv; additive_mask (B, 1, T, S) of
// 0 / -inf in q's dtype; no query row may be fully masked. Returns (B, H, T, D).
inline at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v,
                                               const at::Tensor& additive_mask) {
  const int64_t groups = q.size(1) / k.size(1);
#if TORCH_VERSION_MAJOR >= 2
  if (!q.is_cuda())  // the CPU kernel shares key/value heads itself
    return at::scaled_dot_product_attention(q, k, v, additive_mask, 0.0, false, std::nullopt,
                                            /*enable_gqa=*/true);
  // CUDA's memory-efficient kernel (the one that takes a mask) wants equal head counts;
  // repeated keys/values are O(T), the scores it avoids are O(T^2).
  return at::scaled_dot_product_attention(q, k.repeat_interleave(groups, 1),
                                          v.repeat_interleave(groups, 1), additive_mask);
#else
  return std::get<0>(at::_scaled_dot_product_attention(
      q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1), additive_mask));
#endif
}

// Causal softmax(q k^T / sqrt(D)) v with grouped-query heads and no mask tensor, for batches
// whose padding is on the right (a real query never sees a later slot, so it never sees
// padding). Without a mask CUDA can pick the flash kernel, and grouped heads are shared in the
// kernel instead of being repeated (and saved for backward). q (B, H, T, D); k, v
// (B, Hkv, T, D). Returns (B, H, T, D).
inline at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, std::nullopt, 0.0, /*is_causal=*/true,
                                          std::nullopt, /*enable_gqa=*/true);
#else
  const int64_t groups = q.size(1) / k.size(1);
  return std::get<0>(at::_scaled_dot_product_attention(q, k.repeat_interleave(groups, 1),
                                                       v.repeat_interleave(groups, 1), {}, 0.0,
                                                       false, /*is_causal=*/true));
#endif
}

// a @ b for (..., M, K) x (..., K, N) with equal batch dims, float32 results whatever the
// inputs' dtype: attention scores rounded to bf16 before the softmax lose about 3 significant
// digits. On CUDA (torch >= 2.8) cuBLAS writes float32 straight from bf16/fp16 inputs;
// elsewhere the inputs are widened first.
inline at::Tensor float_matmul(const at::Tensor& a, const at::Tensor& b) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 8)
  if (a.is_cuda() && a.scalar_type() != at::kFloat && a.scalar_type() == b.scalar_type()) {
    auto sizes = a.sizes().vec();
    sizes.back() = b.size(-1);
    auto product = at::bmm(a.reshape({-1, a.size(-2), a.size(-1)}),
                           b.reshape({-1, b.size(-2), b.size(-1)}), at::kFloat);
    return product.view(sizes);
  }
#endif
  return at::matmul(a.to(at::kFloat), b.to(at::kFloat));
}

inline std::string torch_version() {
  return TORCH_VERSION;
}

// CUDA kernels linked into this binary (libtorch_cuda registered), GPU or not.
inline bool cuda_compiled_in() {
#if TORCH_VERSION_MAJOR >= 2
  return at::detail::getCUDAHooks().isBuilt();
#else
  return false;  // Debian's 1.13 is CPU-only
#endif
}

// Makes `device` the calling thread's current CUDA device (a no-op off CUDA, or for a CUDA
// device without an index). Each rank calls it once at start, before any CUDA work, so that
// index-less CUDA tensors, NCCL and the caching allocator all use the rank's own GPU and no
// context is opened on GPU 0.
inline void set_current_cuda_device([[maybe_unused]] const at::Device& device) {
#ifdef EMPO_CUDA_MEMORY_INFO
  if (device.is_cuda() && device.has_index()) c10::cuda::set_device(device.index());
#endif
}

// Free bytes on CUDA device `index` (-1: the current one): the driver's free memory plus what
// torch's caching allocator has reserved but not handed out; 0 without CUDA.
inline int64_t cuda_free_memory([[maybe_unused]] int index) {
#ifdef EMPO_CUDA_MEMORY_INFO
  if (!cuda_compiled_in() || at::detail::getCUDAHooks().getNumGPUs() == 0) return 0;
  const auto device =
      index < 0 ? c10::cuda::current_device() : static_cast<c10::DeviceIndex>(index);
  // The guard restores the previous device only where it already has a context, so asking
  // about another GPU opens none on the current one (cudaSetDevice back and forth would).
  const c10::cuda::CUDAGuard on_device(device);
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return 0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  const auto kAll = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  const int64_t unused = stats.reserved_bytes[kAll].current - stats.allocated_bytes[kAll].current;
  return static_cast<int64_t>(free_bytes) + std::max<int64_t>(0, unused);
#else
  return 0;
#endif
}

#ifdef EMPO_CUDA_MEMORY_INFO
// The index of a CUDA device: its own, or the current device for a bare "cuda".
inline c10::DeviceIndex cuda_index(const at::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
#endif

// Peak bytes torch's CUDA allocator handed out on `device` since the last reset; 0 off CUDA.
inline int64_t cuda_peak_memory([[maybe_unused]] const at::Device& device) {
#ifdef EMPO_CUDA_MEMORY_INFO
  if (!device.is_cuda()) return 0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(cuda_index(device));
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
      .peak;
#else
  return 0;
#endif
}

inline void reset_cuda_peak_memory([[maybe_unused]] const at::Device& device) {
#ifdef EMPO_CUDA_MEMORY_INFO
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(cuda_index(device));
#endif
}

// Whether DeviceGraph can capture work on `device`: a CUDA device in a build with CUDA graphs.
inline bool cuda_graphs_available([[maybe_unused]] const at::Device& device) {
#ifdef EMPO_CUDA_GRAPHS
  return device.is_cuda() && cuda_compiled_in();
#else
  return false;
#endif
}

// The device memory that CUDA graphs share: one private pool for every graph captured with it.
// Graphs that share a pool must never run concurrently (ours replay on one stream) and must
// not hand a tensor from one to the next (ours write only buffers allocated before capture).
class GraphPool {
 public:
  explicit GraphPool([[maybe_unused]] const at::Device& device) {
#ifdef EMPO_CUDA_GRAPHS
    if (cuda_graphs_available(device)) id_ = at::cuda::graph_pool_handle();
#endif
  }
#ifdef EMPO_CUDA_GRAPHS
  at::cuda::MempoolId_t id() const {
    return id_;
  }

 private:
  at::cuda::MempoolId_t id_{0, 0};
#endif
};

// Device work recorded once and replayed without launching each kernel from the host: a CUDA
// graph where cuda_graphs_available(device); elsewhere replay() runs the work again, eagerly.
// The work must read and write only tensors that outlive the graph (their addresses are baked
// in) and must not synchronise with the host. Captured into `pool`, which must outlive it.
class DeviceGraph {
 public:
  DeviceGraph(const at::Device& device, std::function<void()> work,
              [[maybe_unused]] const GraphPool& pool)
      : work_(std::move(work)) {
#ifdef EMPO_CUDA_GRAPHS
    if (!cuda_graphs_available(device)) return;
    const auto index = cuda_index(device);
    // Capture runs on a side stream, after what the current stream queued (the inputs' copies)
    // is done; one eager run first does the lazy initialisations (cuBLAS handles and
    // workspaces) that capture forbids.
    auto current = c10::cuda::getCurrentCUDAStream(index);
    auto stream = c10::cuda::getStreamFromPool(false, index);
    at::cuda::CUDAEvent inputs_ready;
    inputs_ready.record(current);
    inputs_ready.block(stream);
    {
      c10::cuda::CUDAStreamGuard on_stream(stream);
      work_();
      stream.synchronize();
      // The warm-up's blocks go back to the driver: the graph's pool cannot reuse blocks the
      // general pool caches, and the KV budget counted those as free.
      c10::cuda::CUDACachingAllocator::emptyCache();
      graph_ = std::make_unique<at::cuda::CUDAGraph>();
      graph_->capture_begin(pool.id());
      work_();
      graph_->capture_end();
    }
    stream.synchronize();
#endif
  }

  bool captured() const {
#ifdef EMPO_CUDA_GRAPHS
    return graph_ != nullptr;
#else
    return false;
#endif
  }

  void replay() {
#ifdef EMPO_CUDA_GRAPHS
    if (graph_) return graph_->replay();
#endif
    work_();
  }

 private:
  std::function<void()> work_;
#ifdef EMPO_CUDA_GRAPHS
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
#endif
};

}  // namespace empo::compat
