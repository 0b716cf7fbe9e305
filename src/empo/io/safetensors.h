#pragma once
// safetensors: a memory-mapped, fully validated reader and an atomic writer; sharded
// checkpoints through model.safetensors.index.json. Torch-free: tensors are byte ranges,
// the model stage turns them into tensors.
//
// File layout: u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data section; offsets are relative to the data section.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace empo::io {

enum class DType { F32, F16, BF16, I64, I32, U8, BOOL };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // byte offsets in the data section
  uint64_t end;
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the whole header; throws InputError naming the file (and tensor).
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(const std::string& name) const;
  const uint8_t* data(const TensorInfo& tensor) const { return data_section_ + tensor.begin; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  const uint8_t* data_section_ = nullptr;
  std::vector<TensorInfo> tensors_;  // sorted by name
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model folder: model.safetensors, or the shards that
// model.safetensors.index.json names (every listed tensor must be in its shard).
class TensorStore {
 public:
  static TensorStore open_folder(const std::string& folder);
  static TensorStore open_file(const std::string& path);

  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };
  // nullptr-file entry when absent.
  Entry find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry> entries_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // nullptr: `write` produces the bytes when the writer reaches this tensor
  size_t nbytes;
  // Writes exactly nbytes to the stream: lets a device tensor be copied to host one at a time,
  // so a checkpoint never holds the whole state in host memory at once.
  std::function<void(std::ostream&)> write = nullptr;
};

// Writes atomically (temp file, fsync, rename): an existing file is replaced only when the
// new one is complete.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace empo::io
