#pragma once
// Shared by the libFuzzer targets. Each target feeds bytes to one reader; the only exception a
// reader may let out is empo::InputError (bad input, exit 2). Anything else escaping, a
// sanitizer report, a crash or a broken invariant (fuzz_check) is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace empo::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder of this process's own (libFuzzer -jobs/-fork run several processes at once).
// Removed at a normal exit (the end of -max_total_time or -runs).
inline const std::filesystem::path& scratch_folder() {
  struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("empo-fuzz-" + std::to_string(static_cast<long>(::getpid())));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

// Writes the input to scratch_folder()/name and returns its path: the readers under test take
// paths, as the program gives them.
inline std::string write_scratch_file(const std::string& name, std::string_view bytes) {
  std::filesystem::path path = scratch_folder() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path.string();
}

// An invariant of the code under test; a violation aborts, so libFuzzer saves the input.
#define EMPO_FUZZ_CHECK(condition, message)                                                 \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "fuzz invariant broken: %s (%s:%d): %s\n", #condition, __FILE__, \
                   __LINE__, message);                                                      \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

}  // namespace empo::fuzz
