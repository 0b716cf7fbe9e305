#include "empo/rl/zero_optimizer.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>

#include "empo/io/error.h"
#include "empo/io/safetensors.h"
#include "empo/model/weights.h"

namespace empo::rl {

namespace fs = std::filesystem;

namespace {

constexpr char kReplicatedFile[] = "optimizer.safetensors";

// The optimizer state of one flat range, float32 on the CPU.
struct FlatState {
  at::Tensor master, exp_avg, exp_avg_sq;  // (range.size())
  int64_t step = 0;
};

FlatState empty_state(int64_t size) {
  FlatState state;
  state.master = at::zeros({size}, at::kFloat);
  state.exp_avg = at::zeros({size}, at::kFloat);
  state.exp_avg_sq = at::zeros({size}, at::kFloat);
  return state;
}

// A tensor of a mapped safetensors file, viewed without a copy (the file must outlive it).
at::Tensor mapped(const io::SafetensorsFile& file, const std::string& name, io::DType dtype,
                  int64_t numel) {
  const io::TensorInfo* info = file.find(name);
  if (!info || info->dtype != dtype || info->shape.size() != 1 || info->shape[0] != numel)
    throw_input_error(file.path(), 0,
                      "optimizer shard: missing or mis-shaped \"" + name + "\" (expected " +
                          std::to_string(numel) + " " + io::dtype_name(dtype) + " values)");
  return at::from_blob(const_cast<uint8_t*>(file.data(*info)), {numel},
                       dtype == io::DType::F32 ? at::kFloat : at::kLong);
}

// optimizer-<rank>-of-<world>.safetensors files of a folder, by rank; all of one world size.
std::vector<std::string> shard_files(const std::string& folder) {
  static const std::regex pattern(R"(optimizer-(\d+)-of-(\d+)\.safetensors)");
  std::map<int, std::string> by_rank;
  int world = -1;
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, match, pattern)) continue;
    const int rank = std::stoi(match[1]), of = std::stoi(match[2]);
    if (world >= 0 && of != world)
      throw InputError(folder + ": optimizer shards of two world sizes (" + std::to_string(world) +
                       " and " + std::to_string(of) + ")");
    world = of;
    by_rank[rank] = entry.path().string();
  }
  std::vector<std::string> files;
  for (int rank = 0; rank < world; ++rank) {
    auto found = by_rank.find(rank);
    if (found == by_rank.end())
      throw InputError(folder + ": " + optimizer_shard_name(rank, world) + " is missing");
    files.push_back(found->second);
  }
  return files;
}

// Copies the part of the shards that falls into `range`.
FlatState read_shards(const std::vector<std::string>& files, int64_t total, FlatRange range) {
  FlatState state = empty_state(range.size());
  int64_t covered = 0;
  for (const auto& path : files) {
    auto file = io::SafetensorsFile::open(path);
    auto bounds = mapped(*file, "range", io::DType::I64, 3);  // begin, end, total
    const int64_t begin = bounds[0].item<int64_t>(), end = bounds[1].item<int64_t>();
    if (bounds[2].item<int64_t>() != total || begin < 0 || end < begin || end > total)
      throw_input_error(path, 0,
                        "optimizer shard covers [" + std::to_string(begin) + ", " +
                            std::to_string(end) + ") of " +
                            std::to_string(bounds[2].item<int64_t>()) +
                            " parameters; this model has " + std::to_string(total));
    state.step = mapped(*file, "step", io::DType::I64, 1).item<int64_t>();
    const int64_t from = std::max(begin, range.begin), to = std::min(end, range.end);
    if (from >= to) continue;
    auto take = [&](const char* name, at::Tensor& into) {
      into.narrow(0, from - range.begin, to - from)
          .copy_(
              mapped(*file, name, io::DType::F32, end - begin).narrow(0, from - begin, to - from));
    };
    take("master", state.master);
    take("exp_avg", state.exp_avg);
    take("exp_avg_sq", state.exp_avg_sq);
    covered += to - from;
  }
  if (covered != range.size())
    throw InputError(fs::path(files.front()).parent_path().string() +
                     ": the optimizer shards do not cover every parameter once");
  return state;
}

// The part of a replicated optimizer.safetensors (per-parameter tensors) that falls into
// `range`; float32 parameters have no master copy there, their weights are the parameter.
FlatState read_replicated(const std::string& path, const std::vector<at::Tensor>& parameters,
                          const std::vector<int64_t>& offsets, FlatRange range) {
  auto tensors = model::load_tensor_file(path);
  FlatState state = empty_state(range.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    const int64_t numel = parameters[i].numel();
    const int64_t from = std::max(offsets[i], range.begin);
    const int64_t to = std::min(offsets[i] + numel, range.end);
    if (from >= to) continue;
    auto take = [&](const std::string& name, const at::Tensor& fallback, at::Tensor& into) {
      auto found = tensors.find(name);
      if (found == tensors.end() && !fallback.defined())
        throw_input_error(path, 0, "optimizer state: missing \"" + name + "\"");
      const at::Tensor& source = found != tensors.end() ? found->second : fallback;
      if (source.numel() != numel)
        throw_input_error(path, 0, "optimizer state: mis-shaped \"" + name + "\"");
      into.narrow(0, from - range.begin, to - from)
          .copy_(source.reshape({-1}).narrow(0, from - offsets[i], to - from));
    };
    const std::string index = std::to_string(i);
    take("exp_avg." + index, at::Tensor(), state.exp_avg);
    take("exp_avg_sq." + index, at::Tensor(), state.exp_avg_sq);
    take("master." + index,
         parameters[i].scalar_type() == at::kFloat ? parameters[i].detach().cpu() : at::Tensor(),
         state.master);
  }
  auto step = tensors.find("step");
  if (step == tensors.end()) throw_input_error(path, 0, "optimizer state: missing \"step\"");
  state.step = step->second.item<int64_t>();
  return state;
}

}  // namespace

FlatRange owned_range(int64_t total, int rank, int world_size) {
  const int64_t per_rank = (total + world_size - 1) / world_size;
  FlatRange range;
  range.begin = std::min(total, per_rank * rank);
  range.end = std::min(total, range.begin + per_rank);
  return range;
}

std::string optimizer_shard_name(int rank, int world_size) {
  return "optimizer-" + std::to_string(rank) + "-of-" + std::to_string(world_size) + ".safetensors";
}

ZeroOptimizer::ZeroOptimizer(std::vector<at::Tensor> parameters, const AdamWSettings& settings,
                             dist::Group group, int stage, int64_t bucket_elements)
    : parameters_(std::move(parameters)),
      settings_(settings),
      group_(std::move(group)),
      stage_(stage),
      bucket_elements_(bucket_elements) {
  if (stage_ < 0 || stage_ > 2) throw std::logic_error("ZeroOptimizer: zero_stage is 0, 1 or 2");
  for (const auto& parameter : parameters_) {
    if (!parameter.is_contiguous())
      throw std::logic_error("ZeroOptimizer: parameters must be contiguous");
    offsets_.push_back(total_);
    total_ += parameter.numel();
  }
  if (stage_ == 0) {
    replicated_ = std::make_unique<AdamW>(parameters_, settings_);
    return;
  }
  const int world = group_.world_size();
  for (size_t i = 0; i < parameters_.size(); ++i)
    for (int owner = 0; owner < world; ++owner) {
      const FlatRange range = owned_range(total_, owner, world);
      const int64_t from = std::max(offsets_[i], range.begin);
      const int64_t to = std::min(offsets_[i] + parameters_[i].numel(), range.end);
      if (from < to) segments_.push_back({i, from - offsets_[i], from, to - from, owner});
    }
  range_ = owned_range(total_, group_.rank(), world);
  auto options =
      parameters_.empty() ? at::TensorOptions() : parameters_.front().options().dtype(at::kFloat);
  at::NoGradGuard no_grad;
  master_ = at::empty({range_.size()}, options);
  for (const auto& segment : segments_)
    if (segment.owner == group_.rank())
      owned(master_, segment)
          .copy_(parameters_[segment.parameter].detach().reshape({-1}).narrow(
              0, segment.parameter_offset, segment.length));
  exp_avg_ = at::zeros({range_.size()}, options);
  exp_avg_sq_ = at::zeros({range_.size()}, options);
  grad_ = at::zeros({range_.size()}, options);
}

at::Tensor ZeroOptimizer::owned(const at::Tensor& flat_state, const Segment& segment) const {
  return flat_state.narrow(0, segment.flat_offset - range_.begin, segment.length);
}

int64_t ZeroOptimizer::steps() const {
  return replicated_ ? replicated_->steps() : steps_;
}

void ZeroOptimizer::zero_grad() {
  for (auto& parameter : parameters_)
    if (parameter.grad().defined()) parameter.mutable_grad().reset();
  if (grad_.defined()) grad_.zero_();
}

std::vector<dist::Span> ZeroOptimizer::segment_spans(bool by_dtype) const {
  std::vector<dist::Span> spans;
  for (const auto& segment : segments_) {
    int64_t key = segment.owner;
    if (by_dtype)
      key = key * 64 + static_cast<int64_t>(parameters_[segment.parameter].scalar_type());
    spans.push_back({segment.parameter, segment.parameter_offset, segment.length, key});
  }
  return spans;
}

at::Tensor ZeroOptimizer::owned(const at::Tensor& flat_state, const dist::Span& piece) const {
  return flat_state.narrow(0, offsets_[piece.tensor] + piece.offset - range_.begin, piece.length);
}

void ZeroOptimizer::reduce_gradients_to_owners() {
  at::NoGradGuard no_grad;
  // Bucket by bucket through one float32 staging buffer: pieces of one owner's range travel
  // together in one reduce, and no float32 copy of a whole bf16 gradient is made.
  at::Tensor staging;
  for (const dist::Bucket& bucket : dist::plan_buckets(segment_spans(false), bucket_elements_)) {
    if (!staging.defined())
      staging = at::empty({std::min(bucket_elements_, total_)},
                          parameters_.front().options().dtype(at::kFloat));
    int64_t filled = 0;
    for (const dist::Span& piece : bucket.pieces) {
      auto into = staging.narrow(0, filled, piece.length);
      const auto& grad = parameters_[piece.tensor].grad();
      if (grad.defined())
        into.copy_(grad.reshape({-1}).narrow(0, piece.offset, piece.length));
      else
        into.zero_();  // a rank without this gradient adds zeros
      filled += piece.length;
    }
    auto reduced = staging.narrow(0, 0, bucket.elements);
    const int owner = static_cast<int>(bucket.key);
    group_.reduce_sum_to(reduced, owner);
    if (owner != group_.rank()) continue;
    filled = 0;
    for (const dist::Span& piece : bucket.pieces) {
      owned(grad_, piece).add_(reduced.narrow(0, filled, piece.length));
      filled += piece.length;
    }
  }
  for (auto& parameter : parameters_)
    if (parameter.grad().defined()) parameter.mutable_grad().reset();
}

void ZeroOptimizer::reduce_micro_batch() {
  if (stage_ != 2) throw std::logic_error("ZeroOptimizer: reduce_micro_batch is for zero_stage 2");
  reduce_gradients_to_owners();
}

void ZeroOptimizer::publish_weights() {
  // Each owner's updated pieces travel in the parameters' dtype, a bucket per broadcast.
  std::map<at::ScalarType, at::Tensor> staging;  // (bucket_elements) per parameter dtype
  for (const dist::Bucket& bucket : dist::plan_buckets(segment_spans(true), bucket_elements_)) {
    const auto& like = parameters_[bucket.pieces.front().tensor];
    at::Tensor& buffer = staging[like.scalar_type()];
    if (!buffer.defined()) buffer = at::empty({std::min(bucket_elements_, total_)}, like.options());
    const int owner = static_cast<int>(bucket.key / 64);
    auto weights_of = [&](const dist::Span& piece) {
      return parameters_[piece.tensor].detach().reshape({-1}).narrow(0, piece.offset, piece.length);
    };
    int64_t filled = 0;
    if (owner == group_.rank())
      for (const dist::Span& piece : bucket.pieces) {
        auto weights = weights_of(piece);
        weights.copy_(owned(master_, piece));
        buffer.narrow(0, filled, piece.length).copy_(weights);
        filled += piece.length;
      }
    auto sent = buffer.narrow(0, 0, bucket.elements);
    group_.broadcast_from(sent, owner);
    if (owner == group_.rank()) continue;
    filled = 0;
    for (const dist::Span& piece : bucket.pieces) {
      weights_of(piece).copy_(sent.narrow(0, filled, piece.length));
      filled += piece.length;
    }
  }
}

UpdateOutcome ZeroOptimizer::step(double loss, double max_norm, double lr) {
  if (replicated_) {
    dist::all_reduce_gradients(group_, parameters_, bucket_elements_);
    return guarded_step(*replicated_, parameters_, loss, max_norm, lr);
  }
  at::NoGradGuard no_grad;
  if (stage_ == 1) reduce_gradients_to_owners();
  for (const auto& parameter : parameters_)
    if (parameter.grad().defined())
      throw std::logic_error(
          "ZeroOptimizer: zero_stage 2 needs reduce_micro_batch() after every backward");
  // The global norm from the norms of every owned piece of a parameter, as clip_grad_norm
  // stacks per-parameter norms (one float32 sum over a whole range rounds visibly): one host
  // read for the squares on this rank, summed over ranks.
  std::vector<at::Tensor> norms;
  for (const auto& segment : segments_)
    if (segment.owner == group_.rank()) norms.push_back(owned(grad_, segment).norm());
  const double local =
      norms.empty() ? 0.0 : at::stack(norms).to(at::kDouble).square().sum().item<double>();
  UpdateOutcome outcome;
  outcome.grad_norm = std::sqrt(group_.all_reduce_sum({local})[0]);
  outcome.applied = std::isfinite(loss) && std::isfinite(outcome.grad_norm);
  if (!outcome.applied) {
    grad_.zero_();
    return outcome;
  }
  if (max_norm > 0 && outcome.grad_norm > max_norm)
    grad_.mul_(max_norm / (outcome.grad_norm + 1e-6));  // torch's clip_grad_norm_ formula
  ++steps_;
  adamw_update({master_}, {grad_}, {exp_avg_}, {exp_avg_sq_}, settings_, lr, steps_);
  publish_weights();
  grad_.zero_();  // the next step's sums start from nothing
  return outcome;
}

void ZeroOptimizer::save(const std::string& folder) const {
  if (replicated_) {
    if (group_.is_main())
      model::save_tensor_file((fs::path(folder) / kReplicatedFile).string(), replicated_->state());
    return;
  }
  model::save_tensor_file(
      (fs::path(folder) / optimizer_shard_name(group_.rank(), group_.world_size())).string(),
      {{"master", master_},
       {"exp_avg", exp_avg_},
       {"exp_avg_sq", exp_avg_sq_},
       {"step", at::tensor({steps_}, at::kLong)},
       {"range", at::tensor({range_.begin, range_.end, total_}, at::kLong)}});
}

void ZeroOptimizer::load(const std::string& folder) {
  at::NoGradGuard no_grad;
  const auto shards = shard_files(folder);
  const std::string replicated = (fs::path(folder) / kReplicatedFile).string();
  if (shards.empty() && !fs::exists(replicated))
    throw InputError(folder + ": no " + kReplicatedFile + " nor optimizer-<rank>-of-<world>" +
                     ".safetensors to resume the optimizer from");
  const FlatRange range = replicated_ ? FlatRange{0, total_} : range_;
  if (replicated_ && shards.empty()) {
    replicated_->load_state(model::load_tensor_file(replicated));
    return;
  }
  const FlatState state = shards.empty() ? read_replicated(replicated, parameters_, offsets_, range)
                                         : read_shards(shards, total_, range);
  if (!replicated_) {
    master_.copy_(state.master);
    exp_avg_.copy_(state.exp_avg);
    exp_avg_sq_.copy_(state.exp_avg_sq);
    steps_ = state.step;
    return;
  }
  // Merged shards into the replicated optimizer's per-parameter state.
  std::map<std::string, at::Tensor> merged{{"step", at::tensor({state.step}, at::kLong)}};
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto piece = [&](const at::Tensor& flat) {
      return flat.narrow(0, offsets_[i], parameters_[i].numel()).view(parameters_[i].sizes());
    };
    const std::string index = std::to_string(i);
    merged["exp_avg." + index] = piece(state.exp_avg);
    merged["exp_avg_sq." + index] = piece(state.exp_avg_sq);
    if (parameters_[i].scalar_type() != at::kFloat) merged["master." + index] = piece(state.master);
  }
  replicated_->load_state(merged);
}

int64_t ZeroOptimizer::state_bytes() const {
  int64_t bytes = 0;
  if (replicated_) {
    for (const auto& [name, tensor] : replicated_->state())
      if (name != "step") bytes += tensor.numel() * static_cast<int64_t>(tensor.element_size());
    return bytes;
  }
  for (const auto* tensor : {&master_, &exp_avg_, &exp_avg_sq_, &grad_})
    bytes += tensor->numel() * static_cast<int64_t>(tensor->element_size());
  return bytes;
}

}  // namespace empo::rl
