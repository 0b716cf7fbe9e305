#include "empo/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::io {

namespace {

// A file from a raw header text and `data_bytes` zero bytes of data.
std::string craft(const std::string& dir, const std::string& header, size_t data_bytes,
                  uint64_t declared_header_size = 0) {
  std::string path = dir + "/crafted.safetensors";
  uint64_t size = declared_header_size ? declared_header_size : header.size();
  std::string contents(8, '\0');
  for (int i = 0; i < 8; ++i) contents[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  contents += header;
  contents.append(data_bytes, '\0');
  test::write_text(path, contents);
  return path;
}

// The InputError message opening `path`, or "" when it opened.
std::string open_error(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, WritesAndReadsBack) {
  auto dir = test::temp_dir("st");
  float a[6] = {1, 2, 3, 4, 5, 6};
  int64_t b[2] = {7, -8};
  write_safetensors(dir + "/x.safetensors",
                    {{"a", DType::F32, {2, 3}, a, sizeof(a)}, {"b", DType::I64, {2}, b, sizeof(b)}},
                    {{"format", "pt"}});
  auto file = SafetensorsFile::open(dir + "/x.safetensors");
  ASSERT_EQ(file->tensors().size(), 2u);
  const TensorInfo* info = file->find("a");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(file->data(*info), a, sizeof(a)), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file->data(*info)) % 8, 0u);  // aligned data section
  EXPECT_EQ(std::memcmp(file->data(*file->find("b")), b, sizeof(b)), 0);
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST(Safetensors, ReadsTheHuggingFaceFixture) {
  auto file = SafetensorsFile::open(test::fixture("qwen2-tiny/model.safetensors"));
  const TensorInfo* embed = file->find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embed->dtype, DType::F32);
  auto bf16 = SafetensorsFile::open(test::fixture("qwen2-tiny/bf16/model.safetensors"));
  EXPECT_EQ(bf16->find("model.embed_tokens.weight")->dtype, DType::BF16);
}

TEST(Safetensors, TruncatedFile) {
  auto dir = test::temp_dir("st");
  float a[4] = {1, 2, 3, 4};
  write_safetensors(dir + "/x.safetensors", {{"a", DType::F32, {4}, a, sizeof(a)}});
  auto contents = test::read_text(dir + "/x.safetensors");
  test::write_text(dir + "/x.safetensors", contents.substr(0, contents.size() - 3));
  auto message = open_error(dir + "/x.safetensors");
  EXPECT_NE(message.find("x.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("\"a\""), std::string::npos) << message;
  EXPECT_NE(message.find("past the end"), std::string::npos) << message;
  test::write_text(dir + "/x.safetensors", "abc");
  EXPECT_NE(open_error(dir + "/x.safetensors").find("truncated"), std::string::npos);
}

TEST(Safetensors, HeaderLengthPastEndOfFile) {
  auto dir = test::temp_dir("st");
  auto path = craft(dir, "{}", 0, 1ull << 40);
  EXPECT_NE(open_error(path).find("header length"), std::string::npos) << open_error(path);
}

TEST(Safetensors, OffsetsOutOfRange) {
  auto dir = test::temp_dir("st");
  auto path = craft(dir, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8);
  auto message = open_error(path);
  EXPECT_NE(message.find("\"w\""), std::string::npos) << message;
  EXPECT_NE(message.find("past the end"), std::string::npos) << message;
}

TEST(Safetensors, OverlappingTensors) {
  auto dir = test::temp_dir("st");
  auto path = craft(dir,
                    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    12);
  EXPECT_NE(open_error(path).find("overlaps"), std::string::npos) << open_error(path);
}

TEST(Safetensors, ShapeDtypeMismatch) {
  auto dir = test::temp_dir("st");
  auto path = craft(dir, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  auto message = open_error(path);
  EXPECT_NE(message.find("\"a\""), std::string::npos);
  EXPECT_NE(message.find("12 bytes"), std::string::npos) << message;
}

TEST(Safetensors, OtherMalformedHeaders) {
  auto dir = test::temp_dir("st");
  EXPECT_NE(open_error(craft(dir, "{not json", 0)).find("invalid JSON"), std::string::npos);
  // A number past a double (nlohmann's out_of_range, not parse_error) used to escape.
  EXPECT_NE(open_error(craft(dir, R"({"__metadata__":{"x":1e400}})", 0)).find("invalid JSON"),
            std::string::npos);
  EXPECT_NE(open_error(craft(dir, R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8))
                .find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(open_error(craft(dir, R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4))
                .find("negative"),
            std::string::npos);
  EXPECT_NE(open_error(craft(dir, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8))
                .find("trailing"),
            std::string::npos);
  EXPECT_NE(open_error(craft(dir, R"({"a":{"dtype":"F32","shape":[1]}})", 4)).find("data_offsets"),
            std::string::npos);
  EXPECT_NE(open_error(dir + "/missing.safetensors").find("cannot open"), std::string::npos);
}

TEST(Safetensors, ShardedIndex) {
  auto dir = test::temp_dir("st");
  float a[2] = {1, 2}, b[3] = {3, 4, 5};
  write_safetensors(dir + "/model-00001-of-00002.safetensors", {{"a", DType::F32, {2}, a, 8}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors", {{"b", DType::F32, {3}, b, 12}});
  test::write_text(dir + "/model.safetensors.index.json",
                   R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                   R"("b":"model-00002-of-00002.safetensors"}})");
  auto store = TensorStore::open_folder(dir);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store.find("b").info->shape, (std::vector<int64_t>{3}));
  test::write_text(dir + "/model.safetensors.index.json",
                   R"({"weight_map":{"c":"model-00001-of-00002.safetensors"}})");
  try {
    TensorStore::open_folder(dir);
    FAIL();
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("\"c\""), std::string::npos);
  }
}

TEST(Safetensors, FailedWriteKeepsTheOldFile) {
  auto dir = test::temp_dir("st");
  float a[1] = {1};
  write_safetensors(dir + "/x.safetensors", {{"a", DType::F32, {1}, a, 4}});
  auto before = test::read_text(dir + "/x.safetensors");
  EXPECT_THROW(write_safetensors(dir + "/x.safetensors", {{"a", DType::F32, {2}, a, 4}}),
               std::logic_error);
  EXPECT_EQ(test::read_text(dir + "/x.safetensors"), before);
  int files = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

// A tensor without a host pointer is produced by its `write` when the writer reaches it: the
// file is the same as if its bytes had been handed over up front.
TEST(Safetensors, StreamedTensorsWriteTheSameFile) {
  auto dir = test::temp_dir("st");
  float a[2] = {1, 2};
  float b[3] = {3, 4, 5};
  write_safetensors(dir + "/direct.safetensors",
                    {{"a", DType::F32, {2}, a, 8}, {"b", DType::F32, {3}, b, 12}});
  int produced = 0;
  TensorToWrite streamed{"b", DType::F32, {3}, nullptr, 12, [&](std::ostream& out) {
                           ++produced;
                           out.write(reinterpret_cast<const char*>(b), 12);
                         }};
  write_safetensors(dir + "/streamed.safetensors", {{"a", DType::F32, {2}, a, 8}, streamed});
  EXPECT_EQ(produced, 1);
  EXPECT_EQ(test::read_text(dir + "/streamed.safetensors"),
            test::read_text(dir + "/direct.safetensors"));
  // A producer that writes the wrong number of bytes fails, and the old file stays.
  TensorToWrite short_by_four{
      "b", DType::F32,
      {3}, nullptr,
      12,  [&](std::ostream& out) {
                                out.write(reinterpret_cast<const char*>(b), 8); }};
  EXPECT_THROW(write_safetensors(dir + "/streamed.safetensors",
                                 {{"a", DType::F32, {2}, a, 8}, short_by_four}),
               std::logic_error);
  EXPECT_EQ(test::read_text(dir + "/streamed.safetensors"),
            test::read_text(dir + "/direct.safetensors"));
}

}  // namespace empo::io
