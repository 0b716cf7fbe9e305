#include "empo/model/runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "empo/io/error.h"
#include "empo/model/torch_compat.h"
#include "empo/model/weights.h"

namespace empo::model {

void init_runtime(int threads) {
  int count = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  if (const char* variable = std::getenv("EMPO_THREADS"); variable && threads <= 0)
    count = std::atoi(variable);
  at::set_num_threads(std::max(1, count));
}

void use_native_blas_kernels(char** argv) {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  using CoreName = const char* (*)();
  auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!core_name || std::string(core_name()) != "Prescott") return;  // not OpenBLAS, or not fooled
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  setenv("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then keep the slow kernels
#else
  (void)argv;
#endif
}

at::Device parse_device(const std::string& name) {
  if (name == "auto")
    return torch::cuda::is_available() ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  try {
    at::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw InputError("device \"" + name + "\": CUDA is not available in this build/machine");
    return device;
  } catch (const c10::Error&) {
    throw InputError("unknown device \"" + name + "\" (expected cpu, cuda, cuda:N or auto)");
  }
}

at::ScalarType compute_dtype(const std::string& name, const at::Device& device) {
  if (name == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
  return parse_dtype_name(name);
}

int64_t free_device_memory(const at::Device& device) {
  if (device.is_cuda()) return compat::cuda_free_memory(device.index());
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

BuildInfo build_info() {
  BuildInfo info;
  info.torch_version = compat::torch_version();
  info.cuda_compiled_in = compat::cuda_compiled_in();
  info.gpus_visible = info.cuda_compiled_in ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  info.fused_attention = compat::kFusedAttention;
  info.cuda_memory_info = compat::kCudaMemoryInfo;
  info.cuda_graphs = compat::kCudaGraphs;
  return info;
}

}  // namespace empo::model
