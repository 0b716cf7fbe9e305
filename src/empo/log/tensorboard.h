#pragma once
// Scalars in TensorBoard's event-file format, so `tensorboard --logdir RUN_DIR` shows the
// training curves as it does for TRL runs. Torch-free: TFRecord framing (length, masked
// CRC32C) around hand-encoded `Event` protocol buffers.
#include <cstdint>
#include <fstream>
#include <string>

#include "empo/io/jsonl.h"

namespace empo::log {

uint32_t crc32c(const uint8_t* data, size_t size);

class TensorBoardWriter {
 public:
  // Creates log_dir/events.out.tfevents.<seconds>.empo (appending is never needed: a resumed
  // run writes a new file, and TensorBoard merges the files of a folder).
  explicit TensorBoardWriter(const std::string& log_dir);
  // Every numeric field of `metrics` except "step" becomes a scalar at `step`.
  void add_scalars(int64_t step, const io::Json& metrics);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::ofstream out_;
};

}  // namespace empo::log
