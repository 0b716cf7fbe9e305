#pragma once
// Process-wide torch settings every command that runs a model applies once.
#include <torch/torch.h>

#include <string>

namespace empo::model {

// libtorch starts with one intra-op thread; use `threads` > 0, else $EMPO_THREADS, else every
// core of the machine.
void init_runtime(int threads = 0);

// "cpu", "cuda", "cuda:1" or "auto" (CUDA when available); InputError for anything else.
at::Device parse_device(const std::string& name);

// float32 on CPU (bf16 matmul is ~20x slower there), bfloat16 on GPU, unless told otherwise.
at::ScalarType compute_dtype(const std::string& name, const at::Device& device);

}  // namespace empo::model
