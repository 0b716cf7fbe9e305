#include "empo/log/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace empo::log {

namespace {
std::string written(std::FILE* file) {
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text.push_back(static_cast<char>(c));
  return text;
}
}  // namespace

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(44.6), "45s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(7500), "2h05m");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(Progress, LineHasCountFieldsAndEta) {
  ProgressLine line;
  line.done = 3;
  line.total = 60;
  line.elapsed_seconds = 6;  // 2 s a step, 57 steps left
  line.fields = {{"reward", format_number(0.41234, 3)}, {"H", format_number(1.2, 3)}};
  EXPECT_EQ(format_progress(line), "step 3/60  reward 0.412  H 1.200  ETA 1m54s");
  line.unit = "question";
  line.total = 0;  // unknown total: no ETA
  line.fields.clear();
  EXPECT_EQ(format_progress(line), "question 3");
  line.total = 10;
  line.done = 0;  // nothing done: no rate yet
  EXPECT_EQ(format_progress(line), "question 0/10");
}

TEST(Progress, ResumedRunsTimeOnlyTheirOwnSteps) {
  ProgressLine line;
  line.done = 32;
  line.total = 60;
  line.start = 30;  // resumed at step 30: 2 steps in 10 s
  line.elapsed_seconds = 10;
  EXPECT_EQ(format_progress(line), "step 32/60  ETA 2m20s");
}

TEST(Progress, TrainingFieldsFromMetrics) {
  io::Json metrics{{"reward", 0.5},
                   {"empo/semantic_entropy", 1.0986},
                   {"empo/num_clusters", 3.0},
                   {"completions/mean_length", 20.25},
                   {"tokens_per_second", 1234.4},
                   {"guard/strikes", 0}};
  ProgressLine line{"step", 1, 2, 1.0, 0, training_fields(metrics)};
  EXPECT_EQ(format_progress(line),
            "step 1/2  reward 0.500  H 1.099  clusters 3.00  len 20.2  tok/s 1234  ETA 1s");
  metrics["monitor/accuracy"] = 0.25;
  metrics["guard/strikes"] = 2;
  auto fields = training_fields(metrics);
  ASSERT_EQ(fields.size(), 7u);
  EXPECT_EQ(fields[5], (std::pair<std::string, std::string>{"acc", "0.250"}));
  EXPECT_EQ(fields[6], (std::pair<std::string, std::string>{"guard strikes", "2"}));
}

TEST(Progress, LiveRewritesOneLinePlainPrintsLines) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressPrinter live(true, file);
    live.print("step 1/2");
    live.print("step 2/2");
  }  // the destructor ends the live line
  EXPECT_EQ(written(file), "\rstep 1/2\033[K\rstep 2/2\033[K\n");
  std::fclose(file);
  file = std::tmpfile();
  {
    ProgressPrinter plain(false, file);
    plain.print("step 1/2");
    plain.print("step 2/2");
    plain.finish();
  }
  EXPECT_EQ(written(file), "step 1/2\nstep 2/2\n");
  std::fclose(file);
}

}  // namespace empo::log
