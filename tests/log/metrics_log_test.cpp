#include "empo/log/metrics_log.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::log {

TEST(MetricsLog, ResumeKeepsStepsUpToTheCheckpointAndDropsATornLine) {
  auto dir = test::temp_dir("metrics_log");
  MetricsLog log(dir + "/metrics.jsonl");
  for (long step = 1; step <= 4; ++step) log.append({{"step", step}, {"loss", 0.5}});
  // A SIGKILL in the middle of an append leaves part of a line.
  test::write_text(dir + "/metrics.jsonl",
                   test::read_text(dir + "/metrics.jsonl") + "{\"step\": 5, \"lo");
  log.keep_through(3);
  auto lines = test::read_jsonl(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["step"], 3);
  log.append({{"step", 4}});
  EXPECT_EQ(test::read_jsonl(dir + "/metrics.jsonl").size(), 4u);
}

TEST(MetricsLog, ATornLineBeforeTheEndIsAnError) {
  auto dir = test::temp_dir("metrics_log_bad");
  test::write_text(dir + "/metrics.jsonl", "{\"step\": 1}\n{\"st\n{\"step\": 2}\n");
  EXPECT_THROW(MetricsLog(dir + "/metrics.jsonl").keep_through(5), InputError);
}

}  // namespace empo::log
