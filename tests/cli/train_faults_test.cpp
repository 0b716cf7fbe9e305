// End to end: `empo train` under signals, SIGKILL at random moments, a full disk and
// non-finite numbers. Every case must leave a valid last checkpoint behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "empo/io/jsonl.h"
#include "tiny_policy.h"

namespace empo {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::vector<io::Json> metrics_of(const std::string& run) {
  if (!fs::exists(run + "/metrics.jsonl")) return {};
  std::vector<io::Json> lines;
  std::istringstream in(test::read_text(run + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    try {
      lines.push_back(io::Json::parse(line));
    } catch (const io::Json::parse_error&) {  // a line being written right now
    }
  }
  return lines;
}

// Waits until `ready()` or the timeout; false on timeout.
template <class Ready>
bool wait_until(Ready ready, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

long latest_step(const std::string& run) {
  long best = -1;
  if (!fs::is_directory(run)) return best;
  for (const auto& entry : fs::directory_iterator(run)) {
    auto name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) == 0 && name.find('.') == std::string::npos &&
        fs::exists(entry.path() / "trainer_state.json"))
      best = std::max(best, std::stol(name.substr(11)));
  }
  return best;
}

bool staging_exists(const std::string& run) {
  if (!fs::is_directory(run)) return false;
  for (const auto& entry : fs::directory_iterator(run))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

struct RunFolder {
  std::string dir = test::temp_dir("train_faults");
  std::string model = test::tiny_policy(dir);
  std::string data = test::addition_questions(dir + "/train.jsonl", 16, 3);
  std::string config(const std::string& extra) const {
    return test::write_config(dir, model, data, extra);
  }
};

}  // namespace

TEST(TrainFaults, SigtermFinishesTheStepCheckpointsAndExitsZero) {
  RunFolder setup;
  auto config = setup.config("max_steps: 100000\nsave_steps: 0\nlearning_rate: 0.001\n");
  const std::string run = setup.dir + "/run";
  int pid = test::spawn_empo({"train", "--config", config}, setup.dir + "/log");
  ASSERT_TRUE(wait_until([&] { return metrics_of(run).size() >= 2; }, 120))
      << test::read_text(setup.dir + "/log");
  const auto signalled = Clock::now();
  kill(pid, SIGTERM);
  EXPECT_EQ(test::wait_empo(pid, 60), 0) << test::read_text(setup.dir + "/log");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - signalled).count(), 30.0);
  auto metrics = metrics_of(run);
  ASSERT_FALSE(metrics.empty());
  // The checkpoint is at the last step that was logged: the step in flight was finished.
  const long last = metrics.back()["step"].get<long>();
  EXPECT_EQ(latest_step(run), last);
  for (size_t i = 0; i < metrics.size(); ++i) EXPECT_EQ(metrics[i]["step"], long(i + 1));
  EXPECT_NE(test::read_text(setup.dir + "/log").find("stopped by a signal"), std::string::npos);
  auto resumed = test::run_empo("train --resume " + run + " max_steps=" + std::to_string(last + 1));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(latest_step(run), last + 1);
}

TEST(TrainFaults, SecondSignalExitsAtOnceLeavingTheLastCheckpoint) {
  RunFolder setup;
  auto config = setup.config("max_steps: 100000\nsave_steps: 1\nsave_total_limit: 2\n");
  const std::string run = setup.dir + "/run";
  int pid = test::spawn_empo({"train", "--config", config}, setup.dir + "/log");
  ASSERT_TRUE(wait_until([&] { return latest_step(run) >= 2; }, 120))
      << test::read_text(setup.dir + "/log");
  kill(pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // two signals, not one merged
  kill(pid, SIGINT);
  const int code = test::wait_empo(pid, 30);
  EXPECT_EQ(code, 128 + SIGINT) << test::read_text(setup.dir + "/log");
  // Whatever moment the second signal hit, a complete checkpoint remains and resumes.
  const long last = latest_step(run);
  ASSERT_GE(last, 2);
  auto resumed = test::run_empo("train --resume " + run + " max_steps=" + std::to_string(last + 1));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_FALSE(staging_exists(run));
}

TEST(TrainFaults, NprocForwardsSignalsAndRanksDieWithTheLauncher) {
  RunFolder setup;
  auto config = setup.config("max_steps: 100000\nsave_steps: 0\nper_device_train_batch_size: 1\n");
  const std::string run = setup.dir + "/run";
  int pid = test::spawn_empo({"train", "--nproc", "2", "--config", config}, setup.dir + "/log");
  ASSERT_TRUE(wait_until([&] { return metrics_of(run).size() >= 2; }, 120))
      << test::read_text(setup.dir + "/log");
  kill(pid, SIGTERM);  // the launcher passes it on; both ranks stop at the same step
  EXPECT_EQ(test::wait_empo(pid, 60), 0) << test::read_text(setup.dir + "/log");
  EXPECT_EQ(latest_step(run), metrics_of(run).back()["step"].get<long>());

  // SIGKILL of the launcher cannot be forwarded: the ranks go by their parent-death signal.
  const std::string orphans = setup.dir + "/orphans";
  auto second = setup.config(
      "max_steps: 100000\nsave_steps: 0\nper_device_train_batch_size: 1\n"
      "output_dir: " +
      orphans + "\n");
  pid = test::spawn_empo({"train", "--nproc", "2", "--config", second}, setup.dir + "/log2");
  ASSERT_TRUE(wait_until([&] { return metrics_of(orphans).size() >= 1; }, 120))
      << test::read_text(setup.dir + "/log2");
  auto ranks_alive = [&] {
    int count = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::ifstream in(entry.path() / "cmdline");
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmdline.find(second) != std::string::npos &&
          std::to_string(pid) != entry.path().filename())
        ++count;
    }
    return count;
  };
  EXPECT_EQ(ranks_alive(), 2);
  kill(pid, SIGKILL);
  test::wait_empo(pid, 10);
  EXPECT_TRUE(wait_until([&] { return ranks_alive() == 0; }, 10)) << ranks_alive() << " left";
}

TEST(TrainFaults, SigkillAtRandomMomentsResumesToTheSameBytes) {
  RunFolder setup;
  const std::string extra =
      "max_steps: 16\nsave_steps: 1\nsave_total_limit: 2\n"
      "learning_rate: 0.003\nper_device_train_batch_size: 3\n";
  auto config = setup.config(extra);
  const std::string straight = setup.dir + "/straight", run = setup.dir + "/run";
  auto reference = test::run_empo("train --config " + config + " output_dir=" + straight);
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  std::mt19937_64 engine(20261201);
  int kills = 0, during_checkpoint = 0, starts = 0;
  bool finished = false;
  while (!finished && starts < 40) {
    ++starts;
    std::vector<std::string> arguments =
        latest_step(run) >= 0 ? std::vector<std::string>{"train", "--resume", run}
                              : std::vector<std::string>{"train", "--config", config};
    const int pid = test::spawn_empo(arguments, setup.dir + "/log");
    // Alternate: a random moment (0-40 ms after the run's next step is logged, so that the
    // moment falls inside training whatever the machine's speed), or the moment a checkpoint
    // is being written.
    const bool at_checkpoint = kills % 2 == 1;
    std::uniform_real_distribution<double> delay(0.0, 0.04);
    const double extra = delay(engine);
    const size_t lines_at_start = metrics_of(run).size();
    std::optional<Clock::time_point> kill_at;
    int status = 0;
    bool exited = false;
    while (kills < 6 && !exited) {
      exited = waitpid(pid, &status, WNOHANG) == pid;
      if (exited) break;
      if (!at_checkpoint && !kill_at && metrics_of(run).size() > lines_at_start)
        kill_at = Clock::now() +
                  std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(extra));
      if (at_checkpoint ? staging_exists(run) : (kill_at && Clock::now() >= *kill_at)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        exited = true;
        if (WIFSIGNALED(status)) {
          ++kills;
          during_checkpoint += at_checkpoint;
        }
        break;
      }
      if (!at_checkpoint) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      // Polling for the staging folder does not sleep: a checkpoint is written in a few ms.
    }
    if (!exited) waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0) << test::read_text(setup.dir + "/log");
      finished = true;
    }
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, 5);
  EXPECT_GE(during_checkpoint, 2);
  ASSERT_TRUE(fs::exists(straight + "/checkpoint-16/model.safetensors"));
  for (const char* file : {"model.safetensors", "optimizer.safetensors"})
    EXPECT_EQ(test::read_text(run + "/checkpoint-16/" + file),
              test::read_text(straight + "/checkpoint-16/" + file))
        << file;
  auto metrics = metrics_of(run);
  ASSERT_EQ(metrics.size(), 16u);
  for (size_t i = 0; i < metrics.size(); ++i) EXPECT_EQ(metrics[i]["step"], long(i + 1));
  EXPECT_FALSE(staging_exists(run));
}

TEST(TrainFaults, NonFiniteStepsAreSkippedThenStopTheRun) {
  RunFolder setup;
  auto config = setup.config("max_steps: 2\nsave_steps: 2\n");
  const std::string run = setup.dir + "/run";
  auto result = test::run_empo("train --config " + config);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string good = test::read_text(run + "/checkpoint-2/model.safetensors");
  // An absurd learning rate sends the weights past float range: every later loss is NaN.
  result = test::run_empo("train --resume " + run +
                          " max_steps=20 save_steps=1 learning_rate=1e30 max_nonfinite_steps=3");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("update skipped"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("non-finite"), std::string::npos) << result.output;
  auto metrics = metrics_of(run);
  ASSERT_GE(metrics.size(), 5u);
  EXPECT_EQ(metrics.back()["skipped_steps"].get<long>(), 3);
  EXPECT_TRUE(metrics.back()["loss"].is_null() || metrics.back()["grad_norm"].is_null());
  // The last good checkpoint is intact; nothing non-finite was written after it.
  EXPECT_EQ(test::read_text(run + "/checkpoint-2/model.safetensors"), good);
  for (long step = 4; step <= 20; ++step)
    EXPECT_FALSE(fs::exists(run + "/checkpoint-" + std::to_string(step))) << step;
}

}  // namespace empo
