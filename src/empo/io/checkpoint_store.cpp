#include "empo/io/checkpoint_store.h"

#include <algorithm>
#include <filesystem>

#include "empo/io/durable.h"

namespace empo::io {

namespace fs = std::filesystem;

namespace {

constexpr char kPrefix[] = "checkpoint-";

bool is_staging_name(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return false;
  return name.find(".tmp-") != std::string::npos;
}

}  // namespace

CheckpointStore::CheckpointStore(std::string run_dir, std::string marker, int keep_last)
    : run_dir_(std::move(run_dir)), marker_(std::move(marker)), keep_last_(keep_last) {}

std::string CheckpointStore::folder_name(long step) {
  return kPrefix + std::to_string(step);
}

long CheckpointStore::step_of(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  if (name.rfind(kPrefix, 0) != 0) return -1;
  const std::string digits = name.substr(sizeof(kPrefix) - 1);
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stol(digits);
}

std::vector<std::pair<long, std::string>> CheckpointStore::list() const {
  std::vector<std::pair<long, std::string>> found;
  if (!fs::is_directory(run_dir_)) return found;
  for (const auto& entry : fs::directory_iterator(run_dir_)) {
    const long step = step_of(entry.path().string());
    if (step >= 0 && fs::exists(entry.path() / marker_))
      found.push_back({step, entry.path().string()});
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string CheckpointStore::latest() const {
  auto found = list();
  return found.empty() ? "" : found.back().second;
}

int CheckpointStore::clean_incomplete() const {
  if (!fs::is_directory(run_dir_)) return 0;
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(run_dir_)) entries.push_back(entry.path());
  // A checkpoint caught while being replaced comes back first, so it is not counted missing.
  for (const auto& path : entries) {
    const std::string name = path.string();
    const std::string suffix = kAsideSuffix;
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      recover_replaced(name.substr(0, name.size() - suffix.size()));
  }
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(run_dir_)) {
    const std::string name = entry.path().filename().string();
    const bool staging = is_staging_name(name);
    const bool incomplete =
        step_of(entry.path().string()) >= 0 && !fs::exists(entry.path() / marker_);
    if (entry.is_directory() && (staging || incomplete)) {
      fs::remove_all(entry.path());
      ++removed;
    }
  }
  return removed;
}

void CheckpointStore::remove_all() const {
  for (const auto& [step, path] : list()) fs::remove_all(path);
}

std::string CheckpointStore::save(long step,
                                  const std::function<void(const std::string& folder)>& write) {
  fs::create_directories(run_dir_);
  const std::string final_path = (fs::path(run_dir_) / folder_name(step)).string();
  const std::string staging = staging_sibling(final_path);
  try {
    write(staging);
    publish_folder(staging, final_path);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
  if (keep_last_ > 0) {
    auto existing = list();
    for (size_t i = 0; i + keep_last_ < existing.size(); ++i) fs::remove_all(existing[i].second);
  }
  return final_path;
}

}  // namespace empo::io
