// End to end: `empo version` names the libtorch the build linked and whether it has CUDA.
#include <gtest/gtest.h>

#include <regex>

#include "test_support.h"

namespace empo::test {
namespace {

TEST(VersionCommand, NamesLibtorchCudaAndGpus) {
  auto result = run_empo("version");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("empo 0.1.0\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(std::string("libtorch ") + EMPO_TORCH_VERSION + "\n"),
            std::string::npos)
      << result.output;
  // CUDA compiled in exactly when CMake found libtorch's CUDA libraries.
  EXPECT_NE(
      result.output.find(EMPO_TORCH_CUDA ? "cuda compiled in: yes\n" : "cuda compiled in: no\n"),
      std::string::npos)
      << result.output;
  // A CUDA build has the device memory queries and CUDA graphs compiled in (without the CUDA
  // headers it does not build); a CPU build has neither.
  const std::string compiled = EMPO_TORCH_CUDA ? "yes\n" : "no\n";
  EXPECT_NE(result.output.find("cuda memory info compiled in: " + compiled), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("cuda graphs compiled in: " + compiled), std::string::npos)
      << result.output;
  EXPECT_TRUE(std::regex_search(result.output, std::regex("gpus visible: [0-9]+\n")))
      << result.output;
}

}  // namespace
}  // namespace empo::test
