#include "empo/io/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "empo/io/error.h"

namespace empo::io {

namespace fs = std::filesystem;

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw_input_error(path, 0, std::string("cannot open to sync: ") + std::strerror(errno));
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync a folder (EINVAL); that is not a lost write.
  if (result != 0 && !(error == EINVAL && fs::is_directory(path)))
    throw_input_error(path, 0, std::string("fsync failed: ") + std::strerror(error));
}

void require_writable_folder(const std::string& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw_input_error(folder, 0, "cannot create the folder: " + error.message());
  if (!fs::is_directory(folder)) throw_input_error(folder, 0, "exists and is not a folder");
  const std::string probe =
      (fs::path(folder) / (".empo-write-test-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw_input_error(folder, 0, std::string("not writable: ") + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void fsync_tree(const std::string& folder) {
  std::vector<std::string> folders{folder};
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file())
      fsync_path(entry.path().string());
    else if (entry.is_directory())
      folders.push_back(entry.path().string());
  }
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) fsync_path(*it);
}

std::string staging_sibling(const std::string& folder) {
  fs::path absolute = fs::absolute(folder).lexically_normal();
  if (absolute.filename().empty()) absolute = absolute.parent_path();
  fs::create_directories(absolute.parent_path());
  fs::path staging = absolute.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(staging);
  fs::create_directories(staging);
  return staging.string();
}

void publish_folder(const std::string& staging, const std::string& folder) {
  fsync_tree(staging);
  const fs::path parent = fs::absolute(folder).lexically_normal().parent_path();
  const std::string aside = folder + kAsideSuffix;
  const bool replacing = fs::exists(folder);
  if (replacing) {
    fs::remove_all(aside);
    fs::rename(folder, aside);
  }
  fs::rename(staging, folder);
  fsync_path(parent.string());
  if (replacing) fs::remove_all(aside);
}

void recover_replaced(const std::string& folder) {
  const std::string aside = folder + kAsideSuffix;
  if (!fs::exists(aside)) return;
  if (fs::exists(folder)) {
    fs::remove_all(aside);
  } else {
    fs::rename(aside, folder);
    fsync_path(fs::absolute(folder).lexically_normal().parent_path().string());
  }
}

}  // namespace empo::io
