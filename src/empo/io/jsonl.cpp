#include "empo/io/jsonl.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "empo/io/durable.h"
#include "empo/io/error.h"

namespace empo::io {

void for_each_jsonl(const std::string& path, const std::function<void(const Json&, long)>& visit) {
  for_each_jsonl(path, visit, nullptr);
}

void for_each_jsonl(const std::string& path, const std::function<void(const Json&, long)>& visit,
                    const std::function<void(long, const std::string&)>& on_bad_line) {
  std::ifstream in(path);
  if (!in) throw_input_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
  std::string line;
  long number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json value;
    try {
      value = Json::parse(line);
    } catch (const Json::exception& error) {  // parse_error, and out_of_range for 1e400
      const std::string reason = std::string("invalid JSON: ") + error.what();
      if (!on_bad_line) throw_input_error(path, number, reason);
      on_bad_line(number, reason);
      continue;
    }
    visit(value, number);
  }
}

Json parse_json(std::string_view text, const std::string& path, long line) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& error) {
    throw_input_error(path, line, std::string("invalid JSON: ") + error.what());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_input_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

namespace {

std::string temp_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

// The data reaches the disk before the name does, and the new name before we return.
void rename_into_place(const std::string& temp_path, const std::string& path) {
  try {
    fsync_path(temp_path);
  } catch (...) {
    std::remove(temp_path.c_str());
    throw;
  }
  if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    std::remove(temp_path.c_str());
    throw_input_error(path, 0, "cannot write: " + reason);
  }
  auto parent = std::filesystem::absolute(path).lexically_normal().parent_path();
  fsync_path(parent.string());
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::string temp_path = temp_path_for(path);
  {
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    if (!out) throw_input_error(path, 0, std::string("cannot write: ") + std::strerror(errno));
    try {
      write(out);
      out.flush();
    } catch (...) {
      out.close();
      std::remove(temp_path.c_str());
      throw;
    }
    if (!out) {
      out.close();
      std::remove(temp_path.c_str());
      throw_input_error(path, 0, "write failed (disk full?)");
    }
  }
  rename_into_place(temp_path, path);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  });
}

JsonlWriter::JsonlWriter(std::string path)
    : path_(std::move(path)), temp_path_(temp_path_for(path_)) {
  out_.open(temp_path_, std::ios::trunc);
  if (!out_) throw_input_error(path_, 0, std::string("cannot write: ") + std::strerror(errno));
}

JsonlWriter::~JsonlWriter() {
  if (!committed_) {
    out_.close();
    std::remove(temp_path_.c_str());
  }
}

void JsonlWriter::write(const Json& value) {
  out_ << value.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

void JsonlWriter::commit() {
  out_.flush();
  if (!out_) throw_input_error(path_, 0, "write failed");
  out_.close();
  rename_into_place(temp_path_, path_);
  committed_ = true;
}

const Json& require_field(const Json& object, const char* key, const std::string& path, long line) {
  if (!object.is_object()) throw_input_error(path, line, "expected a JSON object");
  auto found = object.find(key);
  if (found == object.end())
    throw_input_error(path, line, std::string("missing field \"") + key + "\"");
  return *found;
}

}  // namespace empo::io
