#include "empo/io/model_files.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace empo::io {
namespace {

TEST(ModelFiles, ReadsThoseThatExistAndWritesThemBack) {
  const auto& names = model_side_file_names();
  for (const char* name :
       {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  const std::string from = test::temp_dir("model_files_from");
  test::write_text(from + "/tokenizer.json", "{}");
  test::write_text(from + "/chat_template.jinja", "{{ messages }}");
  test::write_text(from + "/model.safetensors", "weights are not side files");
  auto files = read_model_side_files(from);
  ASSERT_EQ(files.size(), 2u);
  const std::string to = test::temp_dir("model_files_to");
  write_model_side_files(files, to);
  EXPECT_EQ(test::read_text(to + "/chat_template.jinja"), "{{ messages }}");
  EXPECT_EQ(test::read_text(to + "/tokenizer.json"), "{}");
  EXPECT_TRUE(read_model_side_files(test::temp_dir("model_files_empty")).empty());
}

}  // namespace
}  // namespace empo::io
