#pragma once
// RUN_DIR/metrics.jsonl: one JSON object a line, each with its "step". Appends are flushed
// line by line, so a crash loses at most the line being written; a resumed run drops what
// came after its checkpoint (and a torn last line), so every step appears once.
#include <string>

#include "empo/io/jsonl.h"

namespace empo::log {

class MetricsLog {
 public:
  explicit MetricsLog(std::string path);

  // Appends one line; InputError naming the file when it cannot be written.
  void append(const io::Json& line) const;

  // Keeps the lines whose "step" is <= step and drops a last line cut short by a crash;
  // rewrites the file atomically. A torn line anywhere but at the end is an InputError.
  void keep_through(long step) const;

  void remove() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace empo::log
