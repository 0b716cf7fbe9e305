#include "empo/log/tensorboard.h"

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "empo/io/error.h"

namespace empo::log {

namespace {

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> entries{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t crc = i;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (crc & 1 ? 0x82F63B78u : 0u);
      entries[i] = crc;
    }
    return entries;
  }();
  return table;
}

uint32_t masked_crc(const uint8_t* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

void append_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Protocol-buffer wire format: varints, 64/32-bit fixed fields and length-delimited fields.
void varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void field_bytes(std::string& out, int field, const std::string& bytes) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  varint(out, bytes.size());
  out += bytes;
}

void field_double(std::string& out, int field, double value) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 1);
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  append_little_endian(out, bits, 8);
}

void field_float(std::string& out, int field, float value) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 5);
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  append_little_endian(out, bits, 4);
}

void field_varint(std::string& out, int field, uint64_t value) {
  varint(out, static_cast<uint64_t>(field) << 3);
  varint(out, value);
}

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) crc = crc_table()[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir) {
  std::filesystem::create_directories(log_dir);
  path_ = log_dir + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(wall_time())) +
          ".empo";
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError(path_ + ": cannot write");
  std::string event;  // Event { wall_time = 1; file_version = 3 }
  field_double(event, 1, wall_time());
  field_bytes(event, 3, "brain.Event:2");
  write_record(event);
}

void TensorBoardWriter::add_scalars(int64_t step, const io::Json& metrics) {
  std::string summary;  // Summary { repeated Value value = 1 { tag = 1; simple_value = 2 } }
  for (const auto& [name, value] : metrics.items()) {
    if (name == "step" || !value.is_number()) continue;
    std::string entry;
    field_bytes(entry, 1, name);
    field_float(entry, 2, value.get<float>());
    field_bytes(summary, 1, entry);
  }
  std::string event;  // Event { wall_time = 1; step = 2; summary = 5 }
  field_double(event, 1, wall_time());
  field_varint(event, 2, static_cast<uint64_t>(step));
  field_bytes(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::write_record(const std::string& data) {
  std::string header;
  append_little_endian(header, data.size(), 8);
  std::string record = header;
  append_little_endian(record, masked_crc(reinterpret_cast<const uint8_t*>(header.data()), 8), 4);
  record += data;
  append_little_endian(record,
                       masked_crc(reinterpret_cast<const uint8_t*>(data.data()), data.size()), 4);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.flush();
}

}  // namespace empo::log
