#pragma once
// Host-to-device copies and random generators for whichever device a tensor lives on.
#include <torch/torch.h>

#include <cstdint>

namespace empo::model {

// `host` (a CPU tensor) on `device`. To CUDA the copy goes through pinned memory and does not
// block the host: a copy from pageable memory is synchronous and stalls the stream. Torch's
// pinned allocator keeps the staging block until the copy has finished, so `host` may go out
// of scope at once. On CPU: `host` itself.
at::Tensor to_device(const at::Tensor& host, const at::Device& device);

// A generator for draws on `device` from `seed`: the CPU generator on CPU, a fresh CUDA
// generator (Philox, offset 0) on CUDA, so the same seed gives the same draws on that device.
at::Generator seeded_generator(const at::Device& device, uint64_t seed);

}  // namespace empo::model
