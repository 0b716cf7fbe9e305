#include "empo/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::io {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
      return 2;
    case DType::I64:
      return 8;
    case DType::U8:
    case DType::BOOL:
      return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::U8:
      return "U8";
    case DType::BOOL:
      return "BOOL";
  }
  return "?";
}

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit

DType parse_dtype(const std::string& name, const std::string& path, const std::string& tensor) {
  static const std::pair<const char*, DType> known[] = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I64", DType::I64},
      {"I32", DType::I32}, {"U8", DType::U8},   {"BOOL", DType::BOOL}};
  for (const auto& [text, dtype] : known)
    if (name == text) return dtype;
  throw_input_error(path, 0,
                    "tensor \"" + tensor + "\": unsupported dtype \"" + name +
                        "\" (expected F32, F16, BF16, I64, I32, U8 or BOOL)");
}

uint64_t read_u64_le(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

TensorInfo parse_tensor_entry(const std::string& name, const nlohmann::json& entry,
                              const std::string& path) {
  auto fail = [&](const std::string& what) {
    throw_input_error(path, 0, "tensor \"" + name + "\": " + what);
  };
  if (!entry.is_object()) fail("header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(std::string("missing \"") + key + "\"");
  if (!entry["dtype"].is_string()) fail("dtype is not a string");
  TensorInfo info;
  info.name = name;
  info.dtype = parse_dtype(entry["dtype"].get<std::string>(), path, name);
  const auto& shape = entry["shape"];
  if (!shape.is_array()) fail("shape is not an array");
  uint64_t numel = 1;
  for (const auto& dim : shape) {
    if (!dim.is_number_unsigned()) fail("shape has a non-integer or negative dimension");
    uint64_t size = dim.get<uint64_t>();
    if (size != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / size)
      fail("shape overflows");
    numel *= size;
    info.shape.push_back(static_cast<int64_t>(size));
  }
  const auto& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail("data_offsets must be two non-negative integers");
  info.begin = offsets[0].get<uint64_t>();
  info.end = offsets[1].get<uint64_t>();
  if (info.end < info.begin) fail("data_offsets end before begin");
  uint64_t expected = numel * dtype_size(info.dtype);
  if (info.end - info.begin != expected)
    fail("shape x dtype is " + std::to_string(expected) + " bytes but data_offsets span " +
         std::to_string(info.end - info.begin));
  return info;
}

// Ranges must lie inside the data section, not overlap, and cover it without holes.
void check_ranges(std::vector<TensorInfo> tensors, uint64_t data_size, const std::string& path) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const auto& tensor : tensors) {
    if (tensor.end > data_size)
      throw_input_error(path, 0,
                        "tensor \"" + tensor.name + "\": data_offsets [" +
                            std::to_string(tensor.begin) + ", " + std::to_string(tensor.end) +
                            "] past the end of the data (" + std::to_string(data_size) + " bytes)");
    if (tensor.begin < cursor)
      throw_input_error(path, 0, "tensor \"" + tensor.name + "\": data overlaps another tensor");
    if (tensor.begin > cursor)
      throw_input_error(path, 0,
                        "tensor \"" + tensor.name + "\": gap in the data section before byte " +
                            std::to_string(tensor.begin));
    cursor = tensor.end;
  }
  if (cursor != data_size)
    throw_input_error(
        path, 0,
        std::to_string(data_size - cursor) + " trailing bytes after the last tensor's data");
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw_input_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    throw_input_error(path, 0, "not a regular file");
  }
  auto file_size = static_cast<uint64_t>(status.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw_input_error(path, 0,
                      "truncated: " + std::to_string(file_size) +
                          " bytes, shorter than the 8-byte header length");
  }
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) throw_input_error(path, 0, "mmap failed");
  file->mapping_ = mapping;
  file->mapping_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(mapping);

  uint64_t header_size = read_u64_le(bytes);
  if (header_size > kMaxHeaderBytes || header_size > file_size - 8)
    throw_input_error(path, 0,
                      "header length " + std::to_string(header_size) +
                          " runs past the end of the " + std::to_string(file_size) + "-byte file");
  nlohmann::json header =
      parse_json(std::string_view(reinterpret_cast<const char*>(bytes) + 8, header_size), path);
  if (!header.is_object()) throw_input_error(path, 0, "header is not a JSON object");
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw_input_error(path, 0, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items())
        file->metadata_[key] = value.is_string() ? value.get<std::string>() : value.dump();
      continue;
    }
    file->tensors_.push_back(parse_tensor_entry(name, entry, path));
  }
  file->data_section_ = bytes + 8 + header_size;
  check_ranges(file->tensors_, file_size - 8 - header_size, path);
  std::sort(file->tensors_.begin(), file->tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto found =
      std::lower_bound(tensors_.begin(), tensors_.end(), name,
                       [](const TensorInfo& a, const std::string& b) { return a.name < b; });
  return found != tensors_.end() && found->name == name ? &*found : nullptr;
}

TensorStore TensorStore::open_file(const std::string& path) {
  TensorStore store;
  auto file = SafetensorsFile::open(path);
  for (const auto& info : file->tensors()) store.entries_[info.name] = {file.get(), &info};
  store.files_.push_back(std::move(file));
  return store;
}

TensorStore TensorStore::open_folder(const std::string& folder) {
  namespace fs = std::filesystem;
  fs::path index_path = fs::path(folder) / "model.safetensors.index.json";
  if (!fs::exists(index_path)) {
    fs::path single = fs::path(folder) / "model.safetensors";
    if (!fs::exists(single))
      throw_input_error(folder, 0, "no model.safetensors or model.safetensors.index.json");
    return open_file(single.string());
  }
  nlohmann::json index = parse_json(read_file(index_path.string()), index_path.string());
  if (!index.contains("weight_map") || !index["weight_map"].is_object())
    throw_input_error(index_path.string(), 0, "missing \"weight_map\" object");
  TensorStore store;
  std::map<std::string, SafetensorsFile*> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string())
      throw_input_error(index_path.string(), 0, "weight_map[\"" + name + "\"] is not a file name");
    auto shard_name = shard.get<std::string>();
    if (!shards.count(shard_name)) {
      store.files_.push_back(SafetensorsFile::open((fs::path(folder) / shard_name).string()));
      shards[shard_name] = store.files_.back().get();
    }
    const SafetensorsFile* file = shards[shard_name];
    const TensorInfo* info = file->find(name);
    if (!info)
      throw_input_error(file->path(), 0,
                        "tensor \"" + name + "\" listed in the index is not in this shard");
    store.entries_[name] = {file, info};
  }
  return store;
}

TensorStore::Entry TensorStore::find(const std::string& name) const {
  auto found = entries_.find(name);
  return found == entries_.end() ? Entry{nullptr, nullptr} : found->second;
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    uint64_t numel = 1;
    for (int64_t dim : tensor.shape) numel *= static_cast<uint64_t>(dim);
    if (numel * dtype_size(tensor.dtype) != tensor.nbytes)
      throw std::logic_error("write_safetensors: tensor \"" + tensor.name +
                             "\" byte size does not match its shape and dtype");
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.nbytes}}};
    offset += tensor.nbytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // keep data 8-byte aligned
  write_file_atomic(path, [&](std::ostream& out) {
    uint64_t header_size = header_text.size();
    char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((header_size >> (8 * i)) & 0xff);
    out.write(length, 8);
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const auto& tensor : tensors) {
      const auto before = out.tellp();
      if (tensor.data)
        out.write(static_cast<const char*>(tensor.data),
                  static_cast<std::streamsize>(tensor.nbytes));
      else
        tensor.write(out);
      if (out && out.tellp() - before != static_cast<std::streamoff>(tensor.nbytes))
        throw std::logic_error("write_safetensors: tensor \"" + tensor.name + "\" wrote " +
                               std::to_string(out.tellp() - before) + " bytes, expected " +
                               std::to_string(tensor.nbytes));
    }
  });
}

}  // namespace empo::io
