#include "empo/model/runtime.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"

namespace empo::model {

TEST(Runtime, DevicesAndDtypes) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_EQ(parse_device("auto").is_cuda(), torch::cuda::is_available());
  EXPECT_THROW(parse_device("tpu:3"), InputError);
  EXPECT_EQ(compute_dtype("auto", at::Device(at::kCPU)), at::kFloat);
  EXPECT_EQ(compute_dtype("bfloat16", at::Device(at::kCPU)), at::kBFloat16);
  EXPECT_THROW(compute_dtype("float64", at::Device(at::kCPU)), InputError);
  init_runtime(1);
  EXPECT_EQ(at::get_num_threads(), 1);
}

}  // namespace empo::model
