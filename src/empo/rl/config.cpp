#include "empo/rl/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/model/lora_config.h"
#include "empo/reward/judge.h"

namespace empo::rl {
namespace {

// ---------------------------------------------------------------- enum names
template <class E>
struct EnumName {
  E value;
  const char* name;
};

const std::vector<EnumName<LrSchedulerType>> kSchedulers = {
    {LrSchedulerType::constant, "constant"},
    {LrSchedulerType::constant_with_warmup, "constant_with_warmup"},
    {LrSchedulerType::linear, "linear"},
    {LrSchedulerType::cosine, "cosine"}};
const std::vector<EnumName<LossType>> kLossTypes = {{LossType::grpo, "grpo"},
                                                    {LossType::dapo, "dapo"},
                                                    {LossType::bnpo, "bnpo"},
                                                    {LossType::dr_grpo, "dr_grpo"},
                                                    {LossType::gspo, "gspo"}};
const std::vector<EnumName<ImportanceCorrection>> kImportanceCorrections = {
    {ImportanceCorrection::none, "none"},
    {ImportanceCorrection::token_truncate, "token_truncate"},
    {ImportanceCorrection::token_mask, "token_mask"},
    {ImportanceCorrection::sequence_truncate, "sequence_truncate"},
    {ImportanceCorrection::sequence_mask, "sequence_mask"}};
const std::vector<EnumName<ScaleRewards>> kScaleRewards = {
    {ScaleRewards::group, "group"}, {ScaleRewards::batch, "batch"}, {ScaleRewards::none, "none"}};
const std::vector<EnumName<RewardType>> kRewards = {{RewardType::empo, "empo"},
                                                    {RewardType::ttrl, "ttrl"},
                                                    {RewardType::supervised, "supervised"},
                                                    {RewardType::self_certainty, "self_certainty"},
                                                    {RewardType::token_entropy, "token_entropy"}};
const std::vector<EnumName<Equivalence>> kEquivalences = {
    {Equivalence::math, "math"}, {Equivalence::judge, "judge"}, {Equivalence::exact, "exact"}};
const std::vector<EnumName<AnswerExtraction>> kExtractions = {
    {AnswerExtraction::boxed, "boxed"},
    {AnswerExtraction::hash_dollar, "hash_dollar"},
    {AnswerExtraction::full, "full"}};
const std::vector<EnumName<AnswerFallback>> kFallbacks = {
    {AnswerFallback::answer_is, "answer_is"},
    {AnswerFallback::answer_colon, "answer_colon"},
    {AnswerFallback::last_number, "last_number"}};
const std::vector<EnumName<ChatFormat>> kChatFormats = {
    {ChatFormat::chatml, "chatml"}, {ChatFormat::raw, "raw"}, {ChatFormat::automatic, "auto"}};
const std::vector<EnumName<TruncatePrompts>> kTruncatePrompts = {{TruncatePrompts::error, "error"},
                                                                 {TruncatePrompts::left, "left"}};
const std::vector<EnumName<JudgeDirection>> kJudgeDirections = {
    {JudgeDirection::one_way, "one_way"}, {JudgeDirection::bidirectional, "bidirectional"}};
const std::vector<EnumName<data::TruthfulQaSplit>> kTruthfulQaSplits = {
    {data::TruthfulQaSplit::held_out, "held_out"}, {data::TruthfulQaSplit::test_time, "test_time"}};
const std::vector<EnumName<Dtype>> kDtypes = {
    {Dtype::float32, "float32"}, {Dtype::bfloat16, "bfloat16"}, {Dtype::automatic, "auto"}};

const std::vector<EnumName<model::AttnImplementation>> kAttnImplementations = {
    {model::AttnImplementation::automatic, "auto"},
    {model::AttnImplementation::sdpa, "sdpa"},
    {model::AttnImplementation::eager, "eager"}};

template <class E>
const char* name_of(const std::vector<EnumName<E>>& table, E value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.name;
  return "?";
}

template <class E>
std::string choices_of(const std::vector<EnumName<E>>& table) {
  std::string text;
  for (const auto& entry : table) text += (text.empty() ? "" : " | ") + std::string(entry.name);
  return text;
}

// ---------------------------------------------------------------- where a value came from
// path is a file name or "override 'key=value'"; line 0 when there is no line (overrides,
// configs built in code).
struct Origin {
  std::string path;
  long line = 0;
};

[[noreturn]] void fail(const Origin& origin, const std::string& key, const std::string& what) {
  throw_input_error(origin.path, origin.line, key + ": " + what);
}

std::string shown(const YAML::Node& node) {
  if (node.IsNull()) return "nothing (null)";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.Tag() == "!") return "the quoted string \"" + node.Scalar() + "\"";
  return "\"" + node.Scalar() + "\"";
}

// A plain (unquoted) scalar: quoted scalars are strings in YAML, never numbers or booleans.
bool is_plain_scalar(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() != "!";
}

// ---------------------------------------------------------------- strict scalar parsing
long read_integer(const YAML::Node& node, const Origin& origin, const std::string& key) {
  const std::string& text = node.IsScalar() ? node.Scalar() : std::string();
  bool digits = !text.empty();
  for (size_t i = 0; i < text.size(); ++i) {
    bool sign = i == 0 && (text[i] == '-' || text[i] == '+') && text.size() > 1;
    if (!sign && (text[i] < '0' || text[i] > '9')) digits = false;
  }
  if (!is_plain_scalar(node) || !digits)
    fail(origin, key, "expected an integer, got " + shown(node));
  errno = 0;
  long value = std::strtol(text.c_str(), nullptr, 10);
  if (errno == ERANGE) fail(origin, key, "integer out of range: " + text);
  return value;
}

std::uint64_t read_unsigned(const YAML::Node& node, const Origin& origin, const std::string& key) {
  const std::string& text = node.IsScalar() ? node.Scalar() : std::string();
  bool digits = !text.empty() &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!is_plain_scalar(node) || !digits)
    fail(origin, key, "expected a non-negative integer, got " + shown(node));
  errno = 0;
  unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) fail(origin, key, "integer out of range: " + text);
  return value;
}

double read_number(const YAML::Node& node, const Origin& origin, const std::string& key) {
  const std::string& text = node.IsScalar() ? node.Scalar() : std::string();
  // strtod also reads hexadecimal, "inf" and "nan"; a config number is decimal and finite.
  bool decimal = !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  char* end = nullptr;
  double value = decimal ? std::strtod(text.c_str(), &end) : 0.0;
  if (!is_plain_scalar(node) || !decimal || end != text.c_str() + text.size())
    fail(origin, key, "expected a number, got " + shown(node));
  if (!std::isfinite(value)) fail(origin, key, "number out of range: " + text);
  return value;
}

bool read_bool(const YAML::Node& node, const Origin& origin, const std::string& key) {
  std::string text = node.IsScalar() ? node.Scalar() : std::string();
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (is_plain_scalar(node)) {
    if (text == "true" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "no" || text == "off") return false;
  }
  fail(origin, key, "expected true or false, got " + shown(node));
}

std::string read_string(const YAML::Node& node, const Origin& origin, const std::string& key) {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) fail(origin, key, "expected a string, got " + shown(node));
  return node.Scalar();
}

// A list of strings; a single scalar is a list of one (eval_files=a.jsonl).
std::vector<std::string> read_string_list(const YAML::Node& node, const Origin& origin,
                                          const std::string& key) {
  if (node.IsNull()) return {};
  if (node.IsScalar()) return {node.Scalar()};
  if (!node.IsSequence()) fail(origin, key, "expected a list of strings, got " + shown(node));
  std::vector<std::string> values;
  for (const auto& item : node) {
    if (!item.IsScalar() || item.Scalar().empty())
      fail(origin, key, "expected a list of non-empty strings, got an item " + shown(item));
    values.push_back(item.Scalar());
  }
  return values;
}

template <class E>
E read_enum(const YAML::Node& node, const std::vector<EnumName<E>>& table, const Origin& origin,
            const std::string& key) {
  if (node.IsScalar())
    for (const auto& entry : table)
      if (node.Scalar() == entry.name) return entry.value;
  fail(origin, key, "expected one of " + choices_of(table) + ", got " + shown(node));
}

// ---------------------------------------------------------------- ranges
// An interval of allowed values; open ends exclude the bound, infinite ends are no bound.
struct Range {
  double low = -std::numeric_limits<double>::infinity();
  bool low_open = false;
  double high = std::numeric_limits<double>::infinity();
  bool high_open = false;
};

Range at_least(double low) {
  return {low, false};
}
Range above(double low) {
  return {low, true};
}
Range closed(double low, double high) {
  return {low, false, high, false};
}
Range half_open(double low, double high) {
  return {low, false, high, true};
}
Range any_number() {
  return {};
}

std::string format_number(double value) {
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text = buffer;
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // reads as a float
  return text;
}

std::string format_bound(double value) {
  std::string text = format_number(value);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text;
}

bool contains(const Range& range, double value) {
  bool low_ok = range.low_open ? value > range.low : value >= range.low;
  bool high_ok = range.high_open ? value < range.high : value <= range.high;
  return low_ok && high_ok;
}

std::string describe(const Range& range) {
  bool has_low = std::isfinite(range.low), has_high = std::isfinite(range.high);
  if (has_low && has_high)
    return std::string("in ") + (range.low_open ? "(" : "[") + format_bound(range.low) + ", " +
           format_bound(range.high) + (range.high_open ? ")" : "]");
  if (has_low) return (range.low_open ? "> " : ">= ") + format_bound(range.low);
  if (has_high) return (range.high_open ? "< " : "<= ") + format_bound(range.high);
  return "a finite number";
}

void check_range(double value, const Range& range, const Origin& origin, const std::string& key,
                 const std::string& shown_value) {
  if (!contains(range, value))
    fail(origin, key, "must be " + describe(range) + ", got " + shown_value);
}

// ---------------------------------------------------------------- the key table
struct Key {
  std::string name;
  bool takes_raw_text;  // overrides of string keys are taken verbatim, not parsed as YAML
  std::function<void(TrainConfig&, const YAML::Node&, const Origin&)> read;
  std::function<void(const TrainConfig&, YAML::Emitter&)> write;
};

template <class T>
Key integer_key(const char* name, T TrainConfig::*member, Range range) {
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            long value = read_integer(node, origin, name);
            check_range(static_cast<double>(value), range, origin, name, std::to_string(value));
            if (value > static_cast<long>(std::numeric_limits<T>::max()))
              fail(origin, name, "integer out of range: " + std::to_string(value));
            config.*member = static_cast<T>(value);
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << std::to_string(config.*member);
          }};
}

Key number_key(const char* name, double TrainConfig::*member, Range range) {
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            double value = read_number(node, origin, name);
            check_range(value, range, origin, name, node.Scalar());
            config.*member = value;
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << format_number(config.*member);
          }};
}

Key bool_key(const char* name, bool TrainConfig::*member) {
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            config.*member = read_bool(node, origin, name);
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << (config.*member ? "true" : "false");
          }};
}

Key string_key(const char* name, std::string TrainConfig::*member) {
  return {name, true,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            config.*member = read_string(node, origin, name);
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << YAML::DoubleQuoted << config.*member;
          }};
}

template <class E>
Key enum_key(const char* name, E TrainConfig::*member, const std::vector<EnumName<E>>& table) {
  return {name, false,
          [=, &table](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            config.*member = read_enum(node, table, origin, name);
          },
          [=, &table](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << name_of(table, config.*member);
          }};
}

Key eval_files_key() {
  const char* name = "eval_files";
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            config.eval_files = read_string_list(node, origin, name);
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginSeq;
            for (const auto& file : config.eval_files) out << YAML::DoubleQuoted << file;
            out << YAML::EndSeq;
          }};
}

// Short module names (checked here, so a typo fails with its line) or the single all-linear.
Key lora_target_modules_key() {
  const char* name = "lora_target_modules";
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            auto values = read_string_list(node, origin, name);
            model::resolve_lora_targets(values, located(origin.path, origin.line, name));
            config.lora_target_modules = values;
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginSeq;
            for (const auto& module : config.lora_target_modules) out << module;
            out << YAML::EndSeq;
          }};
}

Key answer_fallbacks_key() {
  const char* name = "answer_fallbacks";
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            config.answer_fallbacks.clear();
            if (node.IsNull()) return;
            if (node.IsScalar()) {
              config.answer_fallbacks.push_back(read_enum(node, kFallbacks, origin, name));
              return;
            }
            if (!node.IsSequence())
              fail(origin, name,
                   "expected a list of " + choices_of(kFallbacks) + ", got " + shown(node));
            for (const auto& item : node)
              config.answer_fallbacks.push_back(read_enum(item, kFallbacks, origin, name));
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginSeq;
            for (auto method : config.answer_fallbacks) out << name_of(kFallbacks, method);
            out << YAML::EndSeq;
          }};
}

Key entropy_band_key() {
  const char* name = "entropy_band";
  return {
      name, false,
      [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
        if (!node.IsSequence() || node.size() != 2)
          fail(origin, name, "expected [low, high], got " + shown(node));
        EntropyBand band{read_number(node[0], origin, name), read_number(node[1], origin, name)};
        std::string text = "[" + node[0].Scalar() + ", " + node[1].Scalar() + "]";
        if (!(0.0 <= band.low && band.low <= band.high && band.high <= 1.0))
          fail(origin, name,
               "must satisfy 0 <= low <= high <= 1 (H / log G is in [0, 1]), got " + text);
        config.entropy_band = band;
      },
      [=](const TrainConfig& config, YAML::Emitter& out) {
        out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginSeq
            << format_number(config.entropy_band.low) << format_number(config.entropy_band.high)
            << YAML::EndSeq;
      }};
}

Key seed_key() {
  const char* name = "seed";
  return {name, false,
          [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
            config.seed = read_unsigned(node, origin, name);
          },
          [=](const TrainConfig& config, YAML::Emitter& out) {
            out << YAML::Key << name << YAML::Value << std::to_string(config.seed);
          }};
}

Key question_template_key() {
  Key key = string_key("question_template", &TrainConfig::question_template);
  auto read = key.read;
  key.read = [read](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
    read(config, node, origin);
    if (config.question_template.find(data::kQuestionPlaceholder) == std::string::npos)
      fail(origin, "question_template",
           std::string("must contain the placeholder ") + data::kQuestionPlaceholder);
  };
  return key;
}

Key max_steps_key() {
  Key key = integer_key("max_steps", &TrainConfig::max_steps, at_least(-1));
  auto read = key.read;
  key.read = [read](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
    read(config, node, origin);
    if (config.max_steps == 0)
      fail(origin, "max_steps", "must be -1 (use num_train_epochs) or >= 1, got 0");
  };
  return key;
}

// epsilon_high: null means "the same as epsilon", resolved after every key is read.
Key epsilon_high_key(bool* explicitly_set) {
  Key key = number_key("epsilon_high", &TrainConfig::epsilon_high, at_least(0));
  auto read = key.read;
  key.read = [read, explicitly_set](TrainConfig& config, const YAML::Node& node,
                                    const Origin& origin) {
    *explicitly_set = !node.IsNull();
    if (*explicitly_set) read(config, node, origin);
  };
  return key;
}

// A map of template variables: scalar values keep their YAML type (true, 3, 0.5, "text").
Key chat_template_kwargs_key() {
  const char* name = "chat_template_kwargs";
  return {
      name, false,
      [=](TrainConfig& config, const YAML::Node& node, const Origin& origin) {
        config.chat_template_kwargs = nlohmann::json::object();
        if (node.IsNull()) return;
        if (!node.IsMap())
          fail(origin, name,
               "expected a mapping such as {enable_thinking: false}, got " + shown(node));
        for (const auto& entry : node) {
          const std::string key = entry.first.Scalar();
          const YAML::Node& value = entry.second;
          for (const char* reserved : {"messages", "add_generation_prompt", "tools", "documents"})
            if (key == reserved)
              fail(origin, name, "\"" + key + "\" is set by empo, not by a keyword argument");
          if (value.IsNull()) {
            config.chat_template_kwargs[key] = nullptr;
          } else if (!value.IsScalar()) {
            fail(origin, name, "\"" + key + "\" must be a single value, got " + shown(value));
          } else if (!is_plain_scalar(value)) {
            config.chat_template_kwargs[key] = value.Scalar();
          } else if (value.Scalar() == "true" || value.Scalar() == "false") {
            config.chat_template_kwargs[key] = read_bool(value, origin, name);
          } else {
            const std::string& text = value.Scalar();
            char* end = nullptr;
            errno = 0;
            const long long integer = std::strtoll(text.c_str(), &end, 10);
            if (!text.empty() && *end == '\0' && errno == 0) {
              config.chat_template_kwargs[key] = integer;
              continue;
            }
            errno = 0;
            const double number = std::strtod(text.c_str(), &end);
            if (!text.empty() && *end == '\0' && errno == 0 && std::isfinite(number))
              config.chat_template_kwargs[key] = number;
            else
              config.chat_template_kwargs[key] = text;
          }
        }
      },
      [=](const TrainConfig& config, YAML::Emitter& out) {
        out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap;
        for (const auto& [key, value] : config.chat_template_kwargs.items()) {
          out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
          if (value.is_null())
            out << YAML::Null;
          else if (value.is_boolean())
            out << (value.get<bool>() ? "true" : "false");
          else if (value.is_number_integer())
            out << std::to_string(value.get<long long>());
          else if (value.is_number())
            out << format_number(value.get<double>());
          else
            out << YAML::DoubleQuoted << value.get<std::string>();
        }
        out << YAML::EndMap;
      }};
}

// Every key in the order to_yaml writes them. `epsilon_high_set` receives whether
// epsilon_high was given a value.
std::vector<Key> make_keys(bool* epsilon_high_set) {
  using C = TrainConfig;
  return {
      string_key("model_name_or_path", &C::model_name_or_path),
      string_key("train_file", &C::train_file),
      eval_files_key(),
      string_key("output_dir", &C::output_dir),
      bool_key("overwrite_output_dir", &C::overwrite_output_dir),
      string_key("device", &C::device),
      enum_key("dtype", &C::dtype, kDtypes),
      enum_key("attn_implementation", &C::attn_implementation, kAttnImplementations),
      bool_key("gradient_checkpointing", &C::gradient_checkpointing),
      integer_key("lora_r", &C::lora_r, at_least(0)),
      number_key("lora_alpha", &C::lora_alpha, above(0)),
      number_key("lora_dropout", &C::lora_dropout, half_open(0, 1)),
      lora_target_modules_key(),
      integer_key("zero_stage", &C::zero_stage, closed(0, 2)),
      string_key("system_prompt", &C::system_prompt),
      question_template_key(),
      enum_key("chat_format", &C::chat_format, kChatFormats),
      string_key("chat_template", &C::chat_template),
      chat_template_kwargs_key(),
      integer_key("max_prompt_length", &C::max_prompt_length, at_least(1)),
      enum_key("truncate_prompts", &C::truncate_prompts, kTruncatePrompts),
      bool_key("skip_bad_lines", &C::skip_bad_lines),
      enum_key("truthfulqa_split", &C::truthfulqa_split, kTruthfulQaSplits),
      max_steps_key(),
      number_key("num_train_epochs", &C::num_train_epochs, above(0)),
      integer_key("per_device_train_batch_size", &C::per_device_train_batch_size, at_least(1)),
      integer_key("gradient_accumulation_steps", &C::gradient_accumulation_steps, at_least(1)),
      integer_key("micro_batch_size", &C::micro_batch_size, at_least(0)),
      integer_key("steps_per_generation", &C::steps_per_generation, at_least(1)),
      integer_key("num_iterations", &C::num_iterations, at_least(1)),
      seed_key(),
      // One sample per question has no group to compare with: every advantage would be 0.
      integer_key("num_generations", &C::num_generations, at_least(2)),
      number_key("temperature", &C::temperature, at_least(0)),
      number_key("top_p", &C::top_p, Range{0, true, 1, false}),
      integer_key("top_k", &C::top_k, at_least(0)),
      number_key("min_p", &C::min_p, half_open(0, 1)),
      integer_key("max_completion_length", &C::max_completion_length, at_least(1)),
      number_key("rollout_memory_fraction", &C::rollout_memory_fraction, {0, true, 1, false}),
      bool_key("rollout_cuda_graphs", &C::rollout_cuda_graphs),
      number_key("learning_rate", &C::learning_rate, at_least(0)),
      enum_key("lr_scheduler_type", &C::lr_scheduler_type, kSchedulers),
      number_key("warmup_ratio", &C::warmup_ratio, closed(0, 1)),
      integer_key("warmup_steps", &C::warmup_steps, at_least(0)),
      number_key("weight_decay", &C::weight_decay, at_least(0)),
      number_key("adam_beta1", &C::adam_beta1, half_open(0, 1)),
      number_key("adam_beta2", &C::adam_beta2, half_open(0, 1)),
      number_key("adam_epsilon", &C::adam_epsilon, above(0)),
      number_key("max_grad_norm", &C::max_grad_norm, at_least(0)),
      integer_key("max_nonfinite_steps", &C::max_nonfinite_steps, at_least(1)),
      enum_key("loss_type", &C::loss_type, kLossTypes),
      number_key("beta", &C::beta, at_least(0)),
      number_key("epsilon", &C::epsilon, at_least(0)),
      epsilon_high_key(epsilon_high_set),
      enum_key("scale_rewards", &C::scale_rewards, kScaleRewards),
      bool_key("mask_truncated_completions", &C::mask_truncated_completions),
      enum_key("rollout_importance_correction", &C::rollout_importance_correction,
               kImportanceCorrections),
      number_key("rollout_importance_cap", &C::rollout_importance_cap, at_least(1)),
      enum_key("reward", &C::reward, kRewards),
      entropy_band_key(),
      number_key("empty_answer_reward", &C::empty_answer_reward, any_number()),
      enum_key("equivalence", &C::equivalence, kEquivalences),
      string_key("judge_model", &C::judge_model),
      string_key("judge_prompt", &C::judge_prompt),
      enum_key("judge_direction", &C::judge_direction, kJudgeDirections),
      number_key("copy_question_rouge", &C::copy_question_rouge, closed(0, 1)),
      number_key("copy_question_reward", &C::copy_question_reward, any_number()),
      number_key("min_majority_share", &C::min_majority_share, closed(0, 1)),
      enum_key("answer_extraction", &C::answer_extraction, kExtractions),
      answer_fallbacks_key(),
      bool_key("dynamic_sampling", &C::dynamic_sampling),
      integer_key("max_resample_rounds", &C::max_resample_rounds, at_least(0)),
      bool_key("guard_stop_rule", &C::guard_stop_rule),
      number_key("guard_entropy_floor", &C::guard_entropy_floor, closed(0, 1)),
      number_key("guard_reward_ceiling", &C::guard_reward_ceiling, any_number()),
      integer_key("guard_patience", &C::guard_patience, at_least(1)),
      number_key("guard_max_kl", &C::guard_max_kl, at_least(0)),
      integer_key("save_steps", &C::save_steps, at_least(0)),
      integer_key("save_total_limit", &C::save_total_limit, at_least(0)),
      integer_key("logging_steps", &C::logging_steps, at_least(1)),
      bool_key("log_completions", &C::log_completions),
      integer_key("num_completions_to_print", &C::num_completions_to_print, at_least(0)),
  };
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above_value = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above_value;
    }
  }
  return row[b.size()];
}

[[noreturn]] void fail_unknown_key(const std::vector<Key>& keys, const std::string& name,
                                   const Origin& origin) {
  std::string closest;
  size_t best = 4;  // suggest only near misses (typos), not arbitrary keys
  for (const auto& key : keys) {
    size_t distance = edit_distance(name, key.name);
    if (distance < best) best = distance, closest = key.name;
  }
  std::string hint = closest.empty() ? "" : " (did you mean '" + closest + "'?)";
  throw_input_error(origin.path, origin.line, "unknown key '" + name + "'" + hint);
}

// ---------------------------------------------------------------- loading
class Loader {
 public:
  Loader() : keys_(make_keys(&epsilon_high_set_)) {}

  void apply_document(const std::string& text, const std::string& origin_path, bool with_lines) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& error) {
      throw_input_error(origin_path, error.mark.line + 1, "invalid YAML: " + error.msg);
    }
    if (root.IsNull()) return;
    if (!root.IsMap()) throw_input_error(origin_path, 1, "expected a mapping of key: value");
    std::set<std::string> seen;
    for (const auto& entry : root) {
      Origin origin{origin_path, with_lines ? entry.first.Mark().line + 1 : 0};
      if (!entry.first.IsScalar()) throw_input_error(origin.path, origin.line, "expected a key");
      const std::string& name = entry.first.Scalar();
      if (!seen.insert(name).second) fail(origin, name, "duplicate key");
      apply(name, entry.second, origin);
    }
  }

  void apply_override(const std::string& text) {
    Origin origin{"override '" + text + "'", 0};
    size_t equals = text.find('=');
    std::string name = equals == std::string::npos ? "" : text.substr(0, equals);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name.empty()) throw_input_error(origin.path, 0, "expected key=value");
    std::string value = text.substr(equals + 1);
    const Key& key = find(name, origin);
    if (key.takes_raw_text) {
      apply(name, YAML::Node(value), origin);
      return;
    }
    YAML::Node node;
    try {
      node = YAML::Load(value);
    } catch (const YAML::Exception& error) {
      fail(origin, name, "cannot parse the value: " + error.msg);
    }
    apply(name, node, origin);
  }

  TrainConfig finish() {
    if (!epsilon_high_set_) config_.epsilon_high = config_.epsilon;
    check_across_keys();
    return config_;
  }

 private:
  const Key& find(const std::string& name, const Origin& origin) const {
    for (const auto& key : keys_)
      if (key.name == name) return key;
    fail_unknown_key(keys_, name, origin);
  }

  void apply(const std::string& name, const YAML::Node& value, const Origin& origin) {
    find(name, origin).read(config_, value, origin);
    origins_[name] = origin;
  }

  // Where a key was last set; a key left at its default is blamed on the config as a whole.
  Origin origin_of(const std::string& name) const {
    auto found = origins_.find(name);
    if (found != origins_.end()) return found->second;
    return {"config", 0};
  }

  void check_across_keys() const {
    if (config_.model_name_or_path.empty())
      fail(origin_of("model_name_or_path"), "model_name_or_path", "required (a model folder)");
    if (config_.train_file.empty())
      fail(origin_of("train_file"), "train_file", "required (a JSONL file of questions)");
    if (config_.equivalence == Equivalence::judge && config_.judge_model.empty())
      fail(origin_of(origins_.count("judge_model") ? "judge_model" : "equivalence"), "judge_model",
           "required when equivalence is judge");
    if (config_.judge_prompt.empty())
      fail(origin_of("judge_prompt"), "judge_prompt",
           "expected general_verifier, entailment or a template file");
    if (config_.equivalence == Equivalence::judge) {
      try {  // a template file is read now, so that a typo fails before any model loads
        reward::judge_prompt_from_name(config_.judge_prompt);
      } catch (const InputError& error) {
        fail(origin_of("judge_prompt"), "judge_prompt", error.what());
      }
    }
    if (!config_.chat_template.empty() && config_.chat_format != ChatFormat::automatic)
      fail(origin_of("chat_template"), "chat_template",
           std::string("is a template of its own; it cannot go with chat_format ") +
               to_string(config_.chat_format) + " (leave chat_format at auto)");
    if (config_.answer_extraction != AnswerExtraction::boxed && !config_.answer_fallbacks.empty())
      fail(origin_of("answer_fallbacks"), "answer_fallbacks",
           "only apply to answer_extraction boxed (a task with its own answer marker must not "
           "guess answers)");
    // TRL's "constant" schedule silently ignores warmup; say so instead.
    if (config_.lr_scheduler_type == LrSchedulerType::constant) {
      if (config_.warmup_ratio > 0)
        fail(origin_of("warmup_ratio"), "warmup_ratio",
             "has no effect with lr_scheduler_type constant (use constant_with_warmup)");
      if (config_.warmup_steps > 0)
        fail(origin_of("warmup_steps"), "warmup_steps",
             "has no effect with lr_scheduler_type constant (use constant_with_warmup)");
    }
  }

  bool epsilon_high_set_ = false;
  std::vector<Key> keys_;
  TrainConfig config_;
  std::map<std::string, Origin> origins_;
};

}  // namespace

TrainConfig parse_config(const std::string& yaml_text, const std::string& origin,
                         const std::vector<std::string>& overrides) {
  Loader loader;
  loader.apply_document(yaml_text, origin, true);
  for (const auto& override_text : overrides) loader.apply_override(override_text);
  return loader.finish();
}

TrainConfig load_config(const std::string& yaml_path, const std::vector<std::string>& overrides) {
  return parse_config(io::read_file(yaml_path), yaml_path, overrides);
}

void validate(const TrainConfig& config) {
  // Re-reading the written form runs every per-key check and the cross-key checks; lines of
  // the generated text would mean nothing to the caller, so errors carry none.
  Loader loader;
  loader.apply_document(to_yaml(config), "config", false);
  loader.finish();
}

std::string to_yaml(const TrainConfig& config) {
  bool unused = false;
  YAML::Emitter out;
  out << YAML::Comment("empo training config (resolved: every key, defaults included)");
  out << YAML::BeginMap;
  for (const auto& key : make_keys(&unused)) key.write(config, out);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> names = [] {
    bool unused = false;
    std::vector<std::string> result;
    for (const auto& key : make_keys(&unused)) result.push_back(key.name);
    return result;
  }();
  return names;
}

const char* to_string(LrSchedulerType value) {
  return name_of(kSchedulers, value);
}
const char* to_string(LossType value) {
  return name_of(kLossTypes, value);
}
const char* to_string(ImportanceCorrection value) {
  return name_of(kImportanceCorrections, value);
}
const char* to_string(ScaleRewards value) {
  return name_of(kScaleRewards, value);
}
const char* to_string(RewardType value) {
  return name_of(kRewards, value);
}
const char* to_string(Equivalence value) {
  return name_of(kEquivalences, value);
}
const char* to_string(AnswerExtraction value) {
  return name_of(kExtractions, value);
}
const char* to_string(AnswerFallback value) {
  return name_of(kFallbacks, value);
}
const char* to_string(ChatFormat value) {
  return name_of(kChatFormats, value);
}

const char* to_string(TruncatePrompts value) {
  return name_of(kTruncatePrompts, value);
}
const char* to_string(JudgeDirection value) {
  return name_of(kJudgeDirections, value);
}
const char* to_string(data::TruthfulQaSplit value) {
  return name_of(kTruthfulQaSplits, value);
}
const char* to_string(Dtype value) {
  return name_of(kDtypes, value);
}

bool operator==(const EntropyBand& a, const EntropyBand& b) {
  return a.low == b.low && a.high == b.high;
}

model::LoraSettings lora_settings(const TrainConfig& config) {
  model::LoraSettings settings;
  settings.r = config.lora_r;
  settings.alpha = config.lora_alpha;
  settings.dropout = config.lora_dropout;
  settings.targets = model::resolve_lora_targets(config.lora_target_modules, "lora_target_modules");
  return settings;
}

// The written form holds every field exactly (numbers in shortest round-trip form), so
// comparing it cannot miss a field added later.
bool operator==(const TrainConfig& a, const TrainConfig& b) {
  return to_yaml(a) == to_yaml(b);
}

}  // namespace empo::rl
