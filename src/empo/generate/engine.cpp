#include "empo/generate/engine.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <sstream>
#include <unordered_map>

#include "empo/generate/graph_decoder.h"
#include "empo/generate/scheduler.h"
#include "empo/io/error.h"
#include "empo/model/device.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"

namespace empo::generate {

// Decoders are few (a run's rollout sampling, its greedy and sampled evaluation): past this
// many the oldest goes.
constexpr size_t kMaxSessionDecoders = 4;

struct DecodeSession::State {
  const model::Model* model = nullptr;
  int64_t block_size = 0;
  std::unique_ptr<model::SlotPool> pool;
  std::vector<std::unique_ptr<GraphDecoder>> decoders;  // over `pool`; destroyed before it

  // The kept pool when it serves a call (same model and block size, at least `blocks`), else a
  // new one of `blocks` (the old one and its graphs released first).
  model::SlotPool& pool_for(const model::Model& call_model, int64_t blocks, int64_t call_block) {
    if (pool && model == &call_model && block_size == call_block && pool->num_blocks() >= blocks)
      return *pool;
    decoders.clear();
    pool.reset();
    model = &call_model;
    block_size = call_block;
    pool = std::make_unique<model::SlotPool>(
        model::allocate_slot_pool(call_model, blocks, call_block));
    return *pool;
  }

  GraphDecoder& decoder_for(const SamplingParams& sampling, int64_t max_rows) {
    const int64_t max_blocks = pool->num_blocks() - 1;  // every block but the scratch one
    for (auto& decoder : decoders)
      if (decoder->serves(*model, *pool, sampling, max_rows, max_blocks)) return *decoder;
    if (decoders.size() >= kMaxSessionDecoders) decoders.erase(decoders.begin());
    decoders.push_back(
        std::make_unique<GraphDecoder>(*model, *pool, sampling, max_rows, max_blocks));
    return *decoders.back();
  }
};

DecodeSession::DecodeSession() : state(std::make_unique<State>()) {}
DecodeSession::~DecodeSession() = default;

int64_t DecodeSession::pool_blocks() const {
  return state->pool ? state->pool->num_blocks() : 0;
}

int64_t DecodeSession::captured_buckets() const {
  int64_t captured = 0;
  for (const auto& decoder : state->decoders) captured += decoder->captured_buckets();
  return captured;
}

int64_t DecodeSession::buckets() const {
  int64_t built = 0;
  for (const auto& decoder : state->decoders) built += decoder->buckets();
  return built;
}

int64_t DecodeSession::decoders() const {
  return static_cast<int64_t>(state->decoders.size());
}

int64_t kv_budget_bytes(const at::Device& device, double memory_fraction) {
  if (memory_fraction <= 0) return 0;
  // At least a byte: a share too small for one sample is an error, never "no budget" (0).
  return std::max<int64_t>(
      1, static_cast<int64_t>(memory_fraction *
                              static_cast<double>(model::free_device_memory(device))));
}

const char* finish_reason_name(FinishReason reason) {
  return reason == FinishReason::kStop ? "stop" : "length";
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string mebibytes(int64_t bytes) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / 1048576.0 << " MiB";
  return text.str();
}

// Prompt tokens prefilled in one forward: bounds the activations of a wave of new prompts.
constexpr int64_t kPrefillTokens = 8192;

bool hits_stop_string(const Sample& sample, const GenerationConfig& config, const Decoder& decode) {
  if (config.stop_strings.empty() || !decode) return false;
  // The stop string can only have completed within the last few tokens.
  const size_t tail = std::min<size_t>(sample.tokens.size(), 16);
  std::vector<int64_t> last(sample.tokens.end() - tail, sample.tokens.end());
  std::string text = decode(last);
  for (const auto& stop : config.stop_strings)
    if (!stop.empty() && text.find(stop) != std::string::npos) return true;
  return false;
}

// Appends a token; true when the sample is finished.
bool record_token(Sample& sample, int64_t token, float sampling_logprob, float policy_logprob,
                  const GenerationConfig& config, const Decoder& decode) {
  sample.tokens.push_back(token);
  sample.sampling_logprobs.push_back(sampling_logprob);
  sample.policy_logprobs.push_back(policy_logprob);
  bool eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) !=
             config.eos_token_ids.end();
  if (eos || hits_stop_string(sample, config, decode)) {
    sample.finish = FinishReason::kStop;
    return true;
  }
  sample.finish = FinishReason::kLength;
  return static_cast<int64_t>(sample.tokens.size()) >= config.max_new_tokens;
}

at::Tensor long_tensor(const std::vector<int64_t>& values, int64_t rows, int64_t columns,
                       const at::Device& device) {
  return model::to_device(at::tensor(values, at::kLong).view({rows, columns}), device);
}

template <class T>
std::vector<T> to_host(const at::Tensor& tensor) {
  auto host = tensor.to(at::kCPU).contiguous();
  return {host.data_ptr<T>(), host.data_ptr<T>() + host.numel()};
}

// The rollout of one generate() call: the pool, the scheduler and the rows' device state.
class Rollout {
 public:
  Rollout(const model::Model& model, const std::vector<std::vector<int64_t>>& prompts,
          const GenerationConfig& config, const Decoder& decode,
          const std::vector<uint64_t>& prompt_seeds, GenerationStats& stats)
      : model_(model),
        prompts_(prompts),
        config_(config),
        decode_(decode),
        prompt_seeds_(prompt_seeds),
        stats_(stats),
        G_(std::max<int64_t>(1, config.num_samples)),
        device_(model.weights.embed_tokens.device()),
        sync_steps_(config.sync_steps > 0 ? config.sync_steps : (device_.is_cuda() ? 8 : 1)),
        session_(config.cuda_graphs && config.session ? config.session->state.get() : nullptr),
        pool_(session_ ? session_->pool_for(model, pool_blocks(), block_size())
                       : own_pool(pool_blocks())),
        allocator_(pool_.num_blocks(), block_size()),
        scheduler_(prompt_lengths(), G_, std::max<int64_t>(1, config.prompts_per_batch) * G_,
                   allocator_),
        samples_(prompts.size() * G_),
        samples_done_(prompts.size(), 0) {
    stats_.kv_pool_bytes = pool_.num_blocks() * pool_.block_size() * model::slot_bytes(model);
    if (session_) {
      graphs_ = &session_->decoder_for(config.sampling, scheduler_.max_rows());
    } else if (config.cuda_graphs) {
      own_graphs_ = std::make_unique<GraphDecoder>(model, pool_, config.sampling,
                                                   scheduler_.max_rows(), max_row_blocks());
      graphs_ = own_graphs_.get();
    }
  }

  std::vector<Sample> run() {
    while (!scheduler_.done()) {
      const int64_t window = window_steps();
      auto start = Clock::now();
      prefill(scheduler_.admit(window));
      stats_.preemptions += scheduler_.reserve(window);
      stats_.prefill_seconds += seconds_since(start);
      start = Clock::now();
      decode_window(window);
      stats_.decode_seconds += seconds_since(start);
    }
    stats_.kv_cache_bytes =
        allocator_.peak_used_blocks() * allocator_.block_size() * model::slot_bytes(model_);
    if (graphs_) stats_.captured_graphs = graphs_->captured_buckets();
    return std::move(samples_);
  }

 private:
  std::vector<int64_t> prompt_lengths() const {
    std::vector<int64_t> lengths;
    for (size_t i = 0; i < prompts_.size(); ++i) {
      if (prompts_[i].empty())
        throw InputError("prompt " + std::to_string(i) + " is empty: generation needs at least " +
                         "one prompt token");
      lengths.push_back(static_cast<int64_t>(prompts_[i].size()));
    }
    return lengths;
  }

  int64_t longest_prompt() const {
    int64_t longest = 0;
    for (const auto& prompt : prompts_) longest = std::max<int64_t>(longest, prompt.size());
    return longest;
  }

  int64_t block_size() const { return std::max<int64_t>(1, config_.block_size); }

  model::SlotPool& own_pool(int64_t blocks) {
    owned_pool_ =
        std::make_unique<model::SlotPool>(model::allocate_slot_pool(model_, blocks, block_size()));
    return *owned_pool_;
  }

  int64_t blocks_for(int64_t tokens) const {
    const int64_t block = block_size();
    return (tokens + block - 1) / block;
  }

  // The most blocks a row reads: its prompt's and its own, which cover its tokens up to the
  // end of its last window.
  int64_t max_row_blocks() const {
    return blocks_for(longest_prompt()) + blocks_for(config_.max_new_tokens + sync_steps_);
  }

  // The pool: the budget's blocks, or what prompts_per_batch x G rows can ever fill, whichever
  // is less, plus the scratch block. A budget that cannot hold the longest prompt with one
  // full-length sample is an error, not a hang.
  int64_t pool_blocks() const {
    const int64_t block = block_size();
    const int64_t longest = longest_prompt();
    const int64_t rows = std::max<int64_t>(1, config_.prompts_per_batch) * G_;
    const int64_t row_blocks = blocks_for(config_.max_new_tokens + sync_steps_);
    const int64_t prompt_count = std::min<int64_t>(rows, static_cast<int64_t>(prompts_.size()));
    const int64_t unbounded = rows * row_blocks + prompt_count * blocks_for(longest);
    const int64_t alone = blocks_for(longest) + row_blocks;
    int64_t blocks = unbounded;
    if (config_.kv_budget_bytes > 0) {
      const int64_t block_bytes = block * model::slot_bytes(model_);
      blocks = std::min(blocks, config_.kv_budget_bytes / block_bytes);
      if (blocks < alone)
        throw InputError("the rollout KV budget of " + mebibytes(config_.kv_budget_bytes) +
                         " cannot hold one sample of a " + std::to_string(longest) +
                         "-token prompt with " + std::to_string(config_.max_new_tokens) +
                         " new tokens (needs " + mebibytes(alone * block_bytes) +
                         "): raise rollout_memory_fraction or lower max_completion_length");
    }
    return std::max(blocks, alone) + 1;
  }

  // Steps until the next host sync: no more than any live or queued row could still use.
  int64_t window_steps() const {
    return std::max<int64_t>(1, std::min(sync_steps_, config_.max_new_tokens));
  }

  uint64_t prompt_seed(int64_t prompt) const {
    return prompt_seeds_.empty() ? static_cast<uint64_t>(prompt) : prompt_seeds_[prompt];
  }

  // Prefills newly cached prompts into their blocks, right-padded, a few thousand tokens per
  // forward; keeps each prompt's next-token logits for its samples' first draw.
  void prefill(const std::vector<int64_t>& cached) {
    const int64_t block = allocator_.block_size();
    for (size_t first = 0; first < cached.size();) {
      int64_t L = 0;
      size_t last = first;
      while (last < cached.size()) {
        const int64_t longer = std::max<int64_t>(L, prompts_[cached[last]].size());
        if (last > first && longer * static_cast<int64_t>(last + 1 - first) > kPrefillTokens) break;
        L = longer;
        ++last;
      }
      const int64_t P = static_cast<int64_t>(last - first);
      std::vector<int64_t> ids(P * L, config_.pad_token_id), positions(P * L), slots(P * L);
      std::vector<int64_t> real(P * L, 0), final_position(P);
      for (int64_t row = 0; row < P; ++row) {
        const int64_t prompt = cached[first + row];
        const auto& tokens = prompts_[prompt];
        const auto length = static_cast<int64_t>(tokens.size());
        const SequenceBlocks blocks{&scheduler_.prompt_blocks(prompt), length, nullptr};
        for (int64_t t = 0; t < L; ++t) {
          positions[row * L + t] = t;
          if (t >= length) {
            slots[row * L + t] = BlockAllocator::kScratchSlot;
            continue;
          }
          ids[row * L + t] = tokens[t];
          real[row * L + t] = 1;
          slots[row * L + t] = blocks.slot(t, block);
        }
        final_position[row] = row * L + length - 1;
        stats_.prompt_tokens += length;
      }
      model::PagedBatch batch;
      batch.input_ids = long_tensor(ids, P, L, device_);
      batch.position_ids = long_tensor(positions, P, L, device_);
      batch.write_slots = long_tensor(slots, P, L, device_);
      batch.key_mask = long_tensor(real, P, L, device_).to(at::kBool);
      batch.padding = model::Padding::right;  // each prompt's tokens come first
      auto hidden = model::forward_hidden(model_, batch, pool_).reshape({P * L, -1});  // (P*L, C)
      auto last_hidden =
          hidden.index_select(0, model::to_device(at::tensor(final_position), device_));
      auto logits = at::linear(last_hidden, model_.weights.lm_head).to(at::kFloat);  // (P, V)
      for (int64_t row = 0; row < P; ++row) prompt_logits_[cached[first + row]] = logits[row];
      first = last;
    }
  }

  // The next-token logits of every live row, in row order: from the last decode step for rows
  // that took part in it, from the prompt for newly admitted ones.
  at::Tensor row_logits() {
    std::vector<at::Tensor> parts;
    std::vector<int64_t> carried;
    for (const auto& row : scheduler_.rows()) {
      auto found = logits_row_of_.find(row.id);
      if (found != logits_row_of_.end()) {
        carried.push_back(found->second);
      } else {
        carried.push_back(-1);
      }
    }
    const bool all_carried =
        std::none_of(carried.begin(), carried.end(), [](int64_t index) { return index < 0; });
    if (all_carried && decode_logits_.defined())
      return decode_logits_.index_select(0, model::to_device(at::tensor(carried), device_));
    for (size_t r = 0; r < carried.size(); ++r) {
      const auto& row = scheduler_.rows()[r];
      parts.push_back(carried[r] >= 0 ? decode_logits_[carried[r]]
                                      : prompt_logits_.at(row.job.prompt));
    }
    return at::stack(parts);  // (R, V)
  }

  void start_new_rows() {
    for (const auto& row : scheduler_.rows()) {
      if (rngs_.count(row.id)) continue;
      rngs_.emplace(row.id, SequenceRng(config_.seed, prompt_seed(row.job.prompt), row.job.sample));
      Sample& sample = samples_[row.job.prompt * G_ + row.job.sample];
      sample = Sample{};  // a preempted sample starts over
      sample.prompt_index = row.job.prompt;
      sample.sample_index = row.job.sample;
    }
  }

  // `window` decode steps on the device, then one copy of their tokens to the host.
  void decode_window(int64_t window) {
    start_new_rows();
    auto& rows = scheduler_.rows();
    const int64_t R = static_cast<int64_t>(rows.size());
    const int64_t block = allocator_.block_size();
    // Per row: the slots its window writes, and the blocks it reads with the position each of
    // their slots holds (-1: none; a prompt's last block may be partly empty).
    std::vector<int64_t> start_position(R);
    size_t widest = 0;
    for (int64_t r = 0; r < R; ++r) {
      start_position[r] = scheduler_.prompt_length(rows[r].job.prompt) + rows[r].generated;
      widest = std::max(
          widest, scheduler_.prompt_blocks(rows[r].job.prompt).size() + rows[r].own_blocks.size());
    }
    const auto nb = static_cast<int64_t>(widest);
    std::vector<int64_t> read(R * nb, 0), key_positions(R * nb * block, -1), write(R * window);
    std::vector<double> draws;
    const bool greedy = config_.sampling.is_greedy();
    if (!greedy) draws.resize(R * window);
    for (int64_t r = 0; r < R; ++r) {
      const SequenceBlocks blocks = scheduler_.blocks(rows[r]);
      const int64_t L = blocks.prompt_length;
      int64_t column = 0;
      for (size_t i = 0; i < blocks.prompt_blocks->size(); ++i, ++column) {
        read[r * nb + column] = (*blocks.prompt_blocks)[i];
        for (int64_t o = 0; o < block; ++o) {
          const int64_t position = static_cast<int64_t>(i) * block + o;
          if (position < L) key_positions[(r * nb + column) * block + o] = position;
        }
      }
      for (size_t i = 0; i < blocks.own_blocks->size(); ++i, ++column) {
        read[r * nb + column] = (*blocks.own_blocks)[i];
        for (int64_t o = 0; o < block; ++o)
          key_positions[(r * nb + column) * block + o] = L + static_cast<int64_t>(i) * block + o;
      }
      for (int64_t s = 0; s < window; ++s) {
        write[r * window + s] = blocks.slot(start_position[r] + s, block);
        if (!greedy) draws[r * window + s] = rngs_.at(rows[r].id).uniform();
      }
    }
    DecodeWindow inputs;
    inputs.logits = row_logits();  // (R, V)
    inputs.read_blocks = long_tensor(read, R, nb, device_);
    inputs.key_positions = long_tensor(key_positions, R, nb * block, device_);
    inputs.write_slots = long_tensor(write, R, window, device_);
    inputs.positions = long_tensor(start_position, R, 1, device_);
    if (!greedy) inputs.uniforms = model::to_device(at::tensor(draws).view({R, window}), device_);
    int64_t longest_remaining = 0;
    for (const auto& row : rows)
      longest_remaining = std::max(longest_remaining, config_.max_new_tokens - row.generated);
    const int64_t steps = std::min(window, longest_remaining);  // all rows stop by then
    auto decoded = graphs_ ? graphs_->run(inputs, steps)
                           : eager_steps(inputs, steps, longest_remaining > steps);
    auto host_tokens = to_host<int64_t>(at::stack(decoded.tokens, 1));  // (R, steps)
    auto host_sampling = to_host<float>(at::stack(decoded.sampling_logprobs, 1));
    auto host_policy = to_host<float>(at::stack(decoded.policy_logprobs, 1));
    finish_window(host_tokens, host_sampling, host_policy, steps, decoded.logits,
                  steps == window /* the last step fed its tokens */);
  }

  // The window's steps one op at a time: each samples from the logits and runs the forward of
  // the sampled tokens; the last step's forward only when a row needs more tokens after it.
  DecodedSteps eager_steps(const DecodeWindow& inputs, int64_t steps, bool forward_last) {
    const int64_t R = inputs.logits.size(0);
    DecodedSteps out;
    out.logits = inputs.logits;
    for (int64_t s = 0; s < steps; ++s) {
      auto sampled =
          sample_on_device(out.logits, config_.sampling,
                           inputs.uniforms.defined() ? inputs.uniforms.select(1, s) : at::Tensor());
      out.tokens.push_back(sampled.tokens);
      out.sampling_logprobs.push_back(sampled.sampling_logprobs);
      out.policy_logprobs.push_back(sampled.policy_logprobs);
      if (s + 1 == steps && !forward_last) break;
      model::PagedBatch batch;
      batch.input_ids = sampled.tokens.view({R, 1});
      batch.position_ids = inputs.positions + s;
      batch.write_slots = inputs.write_slots.narrow(1, s, 1);
      batch.read_blocks = inputs.read_blocks;
      batch.key_positions = inputs.key_positions;
      auto hidden = model::forward_hidden(model_, batch, pool_).squeeze(1);    // (R, C)
      out.logits = at::linear(hidden, model_.weights.lm_head).to(at::kFloat);  // (R, V)
    }
    return out;
  }

  // Records the window's tokens, retires finished rows and keeps the others' logits.
  void finish_window(const std::vector<int64_t>& tokens, const std::vector<float>& sampling,
                     const std::vector<float>& policy, int64_t steps, const at::Tensor& logits,
                     bool logits_follow) {
    auto& rows = scheduler_.rows();
    std::vector<bool> finished(rows.size(), false);
    for (size_t r = 0; r < rows.size(); ++r) {
      Sample& sample = samples_[rows[r].job.prompt * G_ + rows[r].job.sample];
      for (int64_t s = 0; s < steps && !finished[r]; ++s) {
        const size_t at = r * steps + s;
        finished[r] = record_token(sample, tokens[at], sampling[at], policy[at], config_, decode_);
        rows[r].generated += 1;
        stats_.generated_tokens += 1;
      }
    }
    logits_row_of_.clear();
    decode_logits_ = logits_follow ? logits : at::Tensor();
    size_t prompts_done_before = prompts_done_;
    std::vector<int64_t> ids;
    for (size_t r = 0; r < rows.size(); ++r) ids.push_back(rows[r].id);
    for (size_t r = rows.size(); r-- > 0;) {
      if (!finished[r]) continue;
      const int64_t prompt = rows[r].job.prompt;
      rngs_.erase(rows[r].id);
      scheduler_.finish_row(r);
      if (++samples_done_[prompt] == G_) {
        ++prompts_done_;
        if (scheduler_.prompt_blocks(prompt).empty()) prompt_logits_.erase(prompt);
      }
    }
    if (logits_follow)
      for (size_t r = 0; r < ids.size(); ++r)
        if (!finished[r]) logits_row_of_[ids[r]] = static_cast<int64_t>(r);
    if (config_.on_batch_done && prompts_done_ > prompts_done_before)
      config_.on_batch_done(prompts_done_);
  }

  const model::Model& model_;
  const std::vector<std::vector<int64_t>>& prompts_;
  const GenerationConfig& config_;
  const Decoder& decode_;
  const std::vector<uint64_t>& prompt_seeds_;
  GenerationStats& stats_;
  const int64_t G_;
  const at::Device device_;
  const int64_t sync_steps_;
  DecodeSession::State* session_;                // when the pool and graphs outlive this call
  std::unique_ptr<model::SlotPool> owned_pool_;  // when they do not
  model::SlotPool& pool_;
  BlockAllocator allocator_;
  RolloutScheduler scheduler_;
  std::vector<Sample> samples_;
  std::vector<int64_t> samples_done_;
  size_t prompts_done_ = 0;
  std::unordered_map<int64_t, SequenceRng> rngs_;          // by row id
  std::unordered_map<int64_t, at::Tensor> prompt_logits_;  // by prompt: (V) while cached
  at::Tensor decode_logits_;                               // (R_last, V) of the last window
  std::unordered_map<int64_t, int64_t> logits_row_of_;     // row id -> row of decode_logits_
  std::unique_ptr<GraphDecoder> own_graphs_;               // cuda_graphs without a session
  GraphDecoder* graphs_ = nullptr;                         // when config.cuda_graphs
};

}  // namespace

std::vector<Sample> generate(const model::Model& model,
                             const std::vector<std::vector<int64_t>>& prompts,
                             const GenerationConfig& config, const Decoder& decode,
                             const std::vector<uint64_t>& prompt_seeds, GenerationStats* stats) {
  at::NoGradGuard no_grad;
  GenerationStats local_stats;
  if (prompts.empty()) {
    if (stats) *stats = local_stats;
    return {};
  }
  auto samples = Rollout(model, prompts, config, decode, prompt_seeds, local_stats).run();
  if (stats) *stats = local_stats;
  return samples;
}

}  // namespace empo::generate
