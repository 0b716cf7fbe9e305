// The safetensors reader on arbitrary files: it must refuse bad ones with InputError and, for
// the files it accepts, hand out only byte ranges that lie inside the file.
#include <cstring>

#include "empo/io/error.h"
#include "empo/io/safetensors.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path =
      empo::fuzz::write_scratch_file("model.safetensors", empo::fuzz::as_text(data, size));
  try {
    auto store = empo::io::TensorStore::open_file(path);
    auto file = empo::io::SafetensorsFile::open(path);
    // The layout, read independently of the reader: u64 header length, header, data.
    uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | data[i];
    uint64_t data_offset = 8 + header_bytes;
    uint64_t covered = 0;
    for (const auto& tensor : file->tensors()) {
      uint64_t bytes = tensor.end - tensor.begin;
      EMPO_FUZZ_CHECK(tensor.end >= tensor.begin, tensor.name.c_str());
      EMPO_FUZZ_CHECK(
          static_cast<uint64_t>(tensor.numel()) * empo::io::dtype_size(tensor.dtype) == bytes,
          tensor.name.c_str());
      EMPO_FUZZ_CHECK(data_offset + tensor.end <= size, tensor.name.c_str());
      const uint8_t* begin = file->data(tensor);
      covered += bytes;
      EMPO_FUZZ_CHECK(file->find(tensor.name) == &tensor, tensor.name.c_str());
      EMPO_FUZZ_CHECK(store.find(tensor.name).info != nullptr, tensor.name.c_str());
      // Touch every byte: a range past the mapping faults here.
      uint8_t sum = 0;
      for (uint64_t i = 0; i < bytes; ++i) sum ^= begin[i];
      (void)sum;
    }
    EMPO_FUZZ_CHECK(data_offset + covered == size, "tensor data does not cover the data section");
    EMPO_FUZZ_CHECK(store.names().size() == file->tensors().size(), "store lost a tensor");
  } catch (const empo::InputError&) {
  }
  return 0;
}
