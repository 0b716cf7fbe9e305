#include "empo/log/tensorboard.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_support.h"

namespace empo::log {

namespace {

uint64_t read_le(const std::string& bytes, size_t at, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

uint32_t masked(const std::string& bytes) {
  uint32_t crc = crc32c(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// The records of an event file, each CRC checked.
std::vector<std::string> read_records(const std::string& file) {
  std::vector<std::string> records;
  size_t at = 0;
  while (at < file.size()) {
    const uint64_t length = read_le(file, at, 8);
    EXPECT_EQ(read_le(file, at + 8, 4), masked(file.substr(at, 8)));
    std::string data = file.substr(at + 12, length);
    EXPECT_EQ(read_le(file, at + 12 + length, 4), masked(data));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

}  // namespace

TEST(TensorBoard, Crc32cCheckValue) {
  const char* text = "123456789";  // the standard CRC-32C check value
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t*>(text), 9), 0xE3069283u);
}

TEST(TensorBoard, EventsAreFramedRecordsWithTagsAndValues) {
  auto dir = test::temp_dir("tensorboard");
  std::string path;
  {
    TensorBoardWriter writer(dir);
    writer.add_scalars(7, io::Json{{"step", 7},
                                   {"reward", 0.5},
                                   {"empo/semantic_entropy", 1.25},
                                   {"note", "text is skipped"}});
    path = writer.path();
  }
  auto records = read_records(test::read_text(path));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  const std::string& event = records[1];
  EXPECT_NE(event.find("reward"), std::string::npos);
  EXPECT_NE(event.find("empo/semantic_entropy"), std::string::npos);
  EXPECT_EQ(event.find("note"), std::string::npos);
  EXPECT_NE(event.find(std::string("\x10\x07", 2)), std::string::npos);  // step = 7 (field 2)
  // simple_value of reward: field 2, wire type 5, float 0.5 little endian.
  float half = 0.5f;
  std::string encoded("\x15", 1);
  encoded.append(reinterpret_cast<const char*>(&half), 4);
  EXPECT_NE(event.find(encoded), std::string::npos);
}

}  // namespace empo::log
