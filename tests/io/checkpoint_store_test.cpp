#include "empo/io/checkpoint_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "empo/io/durable.h"
#include "test_support.h"

namespace empo::io {

namespace fs = std::filesystem;

namespace {

void write_checkpoint(const std::string& folder, const std::string& contents) {
  test::write_text(folder + "/weights.bin", contents);
  test::write_text(folder + "/state.json", "{}");
}

}  // namespace

TEST(CheckpointStore, SavesRotatesAndFindsTheLatest) {
  auto dir = test::temp_dir("store");
  CheckpointStore store(dir, "state.json", 2);
  for (long step : {2, 4, 10})
    store.save(step, [&](const std::string& folder) {
      write_checkpoint(folder, "w" + std::to_string(step));
    });
  auto list = store.list();
  ASSERT_EQ(list.size(), 2u);  // keep_last = 2: checkpoint-2 went, after checkpoint-10 was in
  EXPECT_EQ(list[0].first, 4);
  EXPECT_EQ(fs::path(store.latest()).filename(), "checkpoint-10");  // numeric, not text order
  EXPECT_EQ(test::read_text(store.latest() + "/weights.bin"), "w10");
  EXPECT_EQ(CheckpointStore::step_of(dir + "/checkpoint-12"), 12);
  EXPECT_EQ(CheckpointStore::step_of(dir + "/checkpoint-12.tmp-5"), -1);
}

TEST(CheckpointStore, AFailedWriteLeavesThePreviousCheckpointAndNoStaging) {
  auto dir = test::temp_dir("store_fail");
  CheckpointStore store(dir, "state.json", 1);
  store.save(1, [](const std::string& folder) { write_checkpoint(folder, "good"); });
  EXPECT_THROW(store.save(2,
                          [](const std::string& folder) {
                            test::write_text(folder + "/weights.bin", "half");
                            throw std::runtime_error("No space left on device");
                          }),
               std::runtime_error);
  ASSERT_EQ(store.list().size(), 1u);
  EXPECT_EQ(test::read_text(store.latest() + "/weights.bin"), "good");
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(CheckpointStore, ReplacingAStepKeepsACompleteCopyAtEveryMoment) {
  auto dir = test::temp_dir("store_replace");
  CheckpointStore store(dir, "state.json", 1);
  store.save(3, [](const std::string& folder) { write_checkpoint(folder, "old"); });
  store.save(3, [](const std::string& folder) { write_checkpoint(folder, "new"); });
  EXPECT_EQ(test::read_text(store.latest() + "/weights.bin"), "new");
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-3" + kAsideSuffix));
  // A crash between the two renames of a replacement: only the aside copy exists. Cleaning
  // puts it back rather than leaving the run with no checkpoint.
  fs::rename(dir + "/checkpoint-3", dir + "/checkpoint-3" + kAsideSuffix);
  EXPECT_EQ(store.latest(), "");
  store.clean_incomplete();
  EXPECT_EQ(test::read_text(store.latest() + "/weights.bin"), "new");
}

TEST(CheckpointStore, CleansHalfWrittenFolders) {
  auto dir = test::temp_dir("store_clean");
  CheckpointStore store(dir, "state.json");
  store.save(5, [](const std::string& folder) { write_checkpoint(folder, "five"); });
  // What a SIGKILL can leave: a staging folder, and (from older versions) a folder with the
  // checkpoint's name but without its completion marker.
  fs::create_directories(dir + "/checkpoint-6.tmp-4242");
  fs::create_directories(dir + "/checkpoint-7");
  test::write_text(dir + "/checkpoint-6.tmp-4242/weights.bin", "partial");
  test::write_text(dir + "/checkpoint-7/weights.bin", "partial");
  test::write_text(dir + "/metrics.jsonl", "{}\n");
  EXPECT_EQ(fs::path(store.latest()).filename(), "checkpoint-5");  // ignored before cleaning
  EXPECT_EQ(store.clean_incomplete(), 2);
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-6.tmp-4242"));
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-7"));
  EXPECT_TRUE(fs::exists(dir + "/metrics.jsonl"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoint-5/weights.bin"));
}

TEST(Durable, UnwritableFolderIsNamed) {
  auto dir = test::temp_dir("durable");
  test::write_text(dir + "/file", "x");
  try {
    require_writable_folder(dir + "/file/run");
    FAIL() << "expected an error";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find(dir + "/file/run"), std::string::npos);
  }
  EXPECT_NO_THROW(require_writable_folder(dir + "/fresh/run"));
  EXPECT_TRUE(fs::is_directory(dir + "/fresh/run"));
  EXPECT_TRUE(fs::is_empty(dir + "/fresh/run"));  // the probe file is gone
  EXPECT_THROW(fsync_path(dir + "/missing"), std::exception);
}

}  // namespace empo::io
