#include "empo/generate/engine.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "empo/generate/kv_cache.h"
#include "empo/model/transformer.h"

namespace empo::generate {

const char* finish_reason_name(FinishReason reason) {
  return reason == FinishReason::kStop ? "stop" : "length";
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A live row of the decode batch: which sample it extends and its random stream.
struct Row {
  Sample* sample;
  std::unique_ptr<SequenceRng> rng;
  int64_t next_position;
  bool finished = false;
};

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

void record_token(Row& row, int64_t token, float sampling_logprob, float policy_logprob,
                  const GenerationConfig& config, const Decoder& decode) {
  Sample& sample = *row.sample;
  sample.tokens.push_back(token);
  sample.sampling_logprobs.push_back(sampling_logprob);
  sample.policy_logprobs.push_back(policy_logprob);
  bool eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) !=
             config.eos_token_ids.end();
  if (eos || hits_stop_string(sample, config, decode)) {
    sample.finish = FinishReason::kStop;
    row.finished = true;
  } else if (static_cast<int64_t>(sample.tokens.size()) >= config.max_new_tokens) {
    sample.finish = FinishReason::kLength;
    row.finished = true;
  }
}

// Prefill of P left-padded prompts: the KV cache (P rows) and next-token logits (P, V).
struct Prefill {
  model::KVState kv;
  at::Tensor key_mask;  // (P, L) bool
  at::Tensor logits;    // (P, V)
  std::vector<int64_t> lengths;
};

Prefill prefill(const model::Model& model, const std::vector<std::vector<int64_t>>& prompts,
                size_t first, size_t last, const GenerationConfig& config) {
  const int64_t P = static_cast<int64_t>(last - first);
  int64_t L = 1;
  for (size_t i = first; i < last; ++i) L = std::max<int64_t>(L, prompts[i].size());
  auto ids = at::full({P, L}, config.pad_token_id, at::kLong);
  auto mask = at::zeros({P, L}, at::kLong);
  Prefill result;
  for (int64_t row = 0; row < P; ++row) {
    const auto& prompt = prompts[first + row];
    const int64_t offset = L - static_cast<int64_t>(prompt.size());
    for (size_t t = 0; t < prompt.size(); ++t) {
      ids[row][offset + t] = prompt[t];
      mask[row][offset + t] = 1;
    }
    result.lengths.push_back(static_cast<int64_t>(prompt.size()));
  }
  auto device = model.weights.embed_tokens.device();
  auto batch = model::make_batch(ids.to(device), mask.to(device));
  result.kv = model::allocate_kv(model, P, L + config.max_new_tokens);
  auto hidden = model::forward_hidden(model, batch, &result.kv);               // (P, L, C)
  result.logits = at::linear(hidden.select(1, L - 1), model.weights.lm_head);  // (P, V)
  result.key_mask = batch.key_mask;
  return result;
}

}  // namespace

std::vector<Sample> generate(const model::Model& model,
                             const std::vector<std::vector<int64_t>>& prompts,
                             const GenerationConfig& config, const Decoder& decode,
                             const std::vector<uint64_t>& prompt_seeds, GenerationStats* stats) {
  at::NoGradGuard no_grad;
  const int64_t G = std::max<int64_t>(1, config.num_samples);
  std::vector<Sample> samples(prompts.size() * G);
  GenerationStats local_stats;
  for (size_t first = 0; first < prompts.size(); first += config.prompts_per_batch) {
    const size_t last = std::min(prompts.size(), first + config.prompts_per_batch);
    const int64_t P = static_cast<int64_t>(last - first);
    auto prefill_start = Clock::now();
    Prefill state = prefill(model, prompts, first, last, config);
    for (int64_t length : state.lengths) local_stats.prompt_tokens += length;
    local_stats.kv_cache_bytes =
        std::max(local_stats.kv_cache_bytes, model::kv_bytes(state.kv) * G);
    // Copy each prompt's keys/values once into its G samples.
    auto expand = at::arange(P, at::kLong).repeat_interleave(G);
    if (G > 1) select_rows(state.kv, expand);
    auto device = state.logits.device();
    auto logits = state.logits.index_select(0, expand.to(device));
    auto key_mask = state.key_mask.index_select(0, expand.to(device));
    local_stats.prefill_seconds += seconds_since(prefill_start);

    auto decode_start = Clock::now();
    std::vector<Row> rows;
    for (int64_t p = 0; p < P; ++p) {
      const uint64_t prompt_id = prompt_seeds.empty() ? first + p : prompt_seeds[first + p];
      for (int64_t j = 0; j < G; ++j) {
        Sample& sample = samples[(first + p) * G + j];
        sample.prompt_index = static_cast<int64_t>(first + p);
        sample.sample_index = j;
        rows.push_back(
            {&sample, std::make_unique<SequenceRng>(config.seed, prompt_id, j), state.lengths[p]});
      }
    }
    size_t finished_pending = 0;
    while (true) {
      std::vector<SequenceRng*> rngs;
      for (auto& row : rows) rngs.push_back(row.rng.get());
      auto sampled = sample_tokens(logits, config.sampling, rngs);
      bool any_running = false;
      for (size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].finished) continue;
        record_token(rows[r], sampled.tokens[r], sampled.sampling_logprobs[r],
                     sampled.policy_logprobs[r], config, decode);
        local_stats.generated_tokens += 1;
        if (rows[r].finished)
          ++finished_pending;
        else
          any_running = true;
      }
      if (!any_running) break;
      // Drop finished rows once they are an eighth of the batch: compaction copies the cache,
      // so doing it for every single finished row would cost more than it saves.
      if (finished_pending * 8 >= rows.size()) {
        std::vector<int64_t> keep;
        std::vector<Row> kept_rows;
        for (size_t r = 0; r < rows.size(); ++r)
          if (!rows[r].finished) {
            keep.push_back(static_cast<int64_t>(r));
            kept_rows.push_back(std::move(rows[r]));
          }
        auto keep_index = at::tensor(keep, at::kLong);
        select_rows(state.kv, keep_index);
        key_mask = key_mask.index_select(0, keep_index.to(device));
        std::vector<int64_t> kept_tokens;
        for (int64_t r : keep) kept_tokens.push_back(sampled.tokens[r]);
        sampled.tokens = kept_tokens;
        rows = std::move(kept_rows);
        finished_pending = 0;
      }
      const int64_t R = static_cast<int64_t>(rows.size());
      std::vector<int64_t> positions(R);
      for (int64_t r = 0; r < R; ++r) positions[r] = rows[r].next_position++;
      auto input = at::tensor(sampled.tokens, at::kLong).view({R, 1}).to(device);
      auto position_ids = at::tensor(positions, at::kLong).view({R, 1}).to(device);
      key_mask = at::cat({key_mask, at::ones({R, 1}, key_mask.options())}, 1);
      logits = model::forward_logits(model, {input, position_ids, key_mask}, &state.kv).squeeze(1);
    }
    local_stats.decode_seconds += seconds_since(decode_start);
    if (config.on_batch_done) config.on_batch_done(last);
  }
  if (stats) *stats = local_stats;
  return samples;
}

}  // namespace empo::generate
