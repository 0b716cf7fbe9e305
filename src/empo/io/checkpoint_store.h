#pragma once
// The checkpoints of a run folder: RUN_DIR/checkpoint-<step>/, each published whole (see
// durable.h), rotated only after the new one is on disk, so at every moment of a run the
// newest complete checkpoint is valid. A folder is complete when it holds `marker` (the
// trainer writes its state file last); staging leftovers of a crash are cleaned on open.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace empo::io {

class CheckpointStore {
 public:
  // keep_last: complete checkpoints kept after a save (0: all).
  CheckpointStore(std::string run_dir, std::string marker, int keep_last = 0);

  // Writes checkpoint-<step>: `write` fills an empty staging folder; then every file is
  // fsynced, the folder renamed into place, and older checkpoints beyond keep_last removed.
  // On an exception (a full disk, ...) the staging folder is removed and the existing
  // checkpoints are untouched. Returns the checkpoint's path.
  std::string save(long step, const std::function<void(const std::string& folder)>& write);

  // Complete checkpoints, oldest first.
  std::vector<std::pair<long, std::string>> list() const;
  std::string latest() const;  // "" when there is none

  // Removes what a crash can leave behind: staging folders (checkpoint-<N>.tmp-*), and
  // checkpoint-<N> folders without the marker; puts back a checkpoint that a crash caught in
  // the middle of being replaced. Returns how many folders were removed.
  int clean_incomplete() const;

  // Removes every checkpoint (overwrite_output_dir).
  void remove_all() const;

  static std::string folder_name(long step);
  // The step of a folder named checkpoint-<digits>, else -1.
  static long step_of(const std::string& path);

  const std::string& run_dir() const { return run_dir_; }

 private:
  std::string run_dir_;
  std::string marker_;
  int keep_last_;
};

}  // namespace empo::io
