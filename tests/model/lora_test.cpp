#include "empo/model/lora.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/model/transformer.h"
#include "test_support.h"

namespace empo::model {

namespace {

Model tiny(const std::string& family = "qwen2") {
  LoadOptions options;
  options.attn_implementation = AttnImplementation::eager;
  return load_model(test::fixture(family + "-tiny"), options);
}

LoraSettings settings_for(const std::vector<std::string>& modules, int64_t r = 4,
                          double alpha = 8.0) {
  LoraSettings settings;
  settings.r = r;
  settings.alpha = alpha;
  settings.targets = resolve_lora_targets(modules, "test");
  return settings;
}

// B starts at zero; tests give it values so the adapters change the output.
void randomize_b(LoraAdapters& lora, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::NoGradGuard no_grad;
  for (auto& layer : lora.layers)
    for (auto& pair : layer)
      if (pair.B.defined()) pair.B.copy_(at::normal(0.0, 0.05, pair.B.sizes(), generator));
}

at::Tensor token_ids() {  // (2, 9)
  return at::tensor({5, 17, 300, 42, 7, 99, 128, 3, 250, 11, 12, 13, 400, 501, 2, 77, 64, 31},
                    at::kLong)
      .view({2, 9});
}

at::Tensor logits_of(const Model& model, const at::Tensor& ids) {
  at::NoGradGuard no_grad;
  return forward_logits(model, make_batch(ids, at::ones_like(ids)));
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST(LoraConfig, TargetsAndParameterCount) {
  EXPECT_EQ(resolve_lora_targets({"all-linear"}, "k").size(), 7u);
  EXPECT_EQ(resolve_lora_targets({"v_proj", "q_proj", "q_proj"}, "k"),
            (std::vector<LoraModule>{LoraModule::q_proj, LoraModule::v_proj}));
  try {
    resolve_lora_targets({"q_proj", "c_attn"}, "cfg.yaml:3: lora_target_modules");
    FAIL() << "expected an InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("cfg.yaml:3: lora_target_modules"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("c_attn"), std::string::npos);
  }
  auto model = tiny();
  auto settings = settings_for({"all-linear"}, 4);
  auto lora = init_lora(model, settings, 1);
  int64_t numel = 0;
  for (const auto& tensor : lora_parameters(*lora)) numel += tensor.numel();
  EXPECT_EQ(numel, lora_parameter_count(model.config, settings));
  // qwen2-tiny: C 64, q 64, kv 32, F 176, 2 layers: r (2*64 + 2*(64+32) + 2*64 + 3*(64+176)).
  EXPECT_EQ(numel, 4 * (128 + 192 + 128 + 720) * 2);
}

TEST(Lora, InitIsPeftsAndStartsAtTheBaseModel) {
  auto model = tiny();
  auto settings = settings_for({"q_proj", "down_proj"});
  model.lora = init_lora(model, settings, 7);
  const auto& pair = model.lora->layers[1][static_cast<int>(LoraModule::down_proj)];
  ASSERT_TRUE(pair.A.defined());
  EXPECT_EQ(pair.A.sizes(), (at::IntArrayRef{4, 176}));  // (r, in)
  EXPECT_EQ(pair.B.sizes(), (at::IntArrayRef{64, 4}));   // (out, r)
  EXPECT_LE(pair.A.abs().max().item<double>(), 1.0 / std::sqrt(176.0));
  EXPECT_GT(pair.A.abs().max().item<double>(), 0.8 / std::sqrt(176.0));  // spans the range
  EXPECT_EQ(pair.B.abs().max().item<double>(), 0.0);
  EXPECT_FALSE(model.lora->layers[0][static_cast<int>(LoraModule::k_proj)].A.defined());
  // Seeded: the same seed draws the same A, another seed another.
  EXPECT_TRUE(init_lora(model, settings, 7)->layers[1][6].A.equal(pair.A));
  EXPECT_FALSE(init_lora(model, settings, 8)->layers[1][6].A.equal(pair.A));
  auto ids = token_ids();
  EXPECT_EQ(max_diff(logits_of(model, ids), logits_of(without_lora(model), ids)), 0.0);
}

// y = W x + s B A x: the output and both gradients written out by hand.
TEST(Lora, ProjectionAndGradientsMatchHandComputedReference) {
  auto model = tiny();
  auto lora = init_lora(model, settings_for({"up_proj"}, 3, 6.0), 3);
  randomize_b(*lora, 4);
  auto& pair = lora->layers[0][static_cast<int>(LoraModule::up_proj)];
  pair.A.requires_grad_(true);
  pair.B.requires_grad_(true);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  auto x = at::normal(0.0, 1.0, {2, 5, 64}, generator);      // (B, T, C)
  auto base = at::normal(0.0, 1.0, {2, 5, 176}, generator);  // W x, (B, T, F)
  auto upstream = at::normal(0.0, 1.0, {2, 5, 176}, generator);
  auto y = add_lora(base, x, lora.get(), 0, LoraModule::up_proj);
  (y * upstream).sum().backward();

  const double s = 6.0 / 3.0;
  auto X = x.reshape({10, 64});          // (N, in)
  auto G = upstream.reshape({10, 176});  // (N, out)
  auto A = pair.A.detach(), Bm = pair.B.detach();
  auto expected = base.reshape({10, 176}) + s * X.mm(A.t()).mm(Bm.t());
  EXPECT_LE(max_diff(y.detach().reshape({10, 176}), expected), 1e-5);
  EXPECT_LE(max_diff(pair.B.grad(), s * G.t().mm(X.mm(A.t()))), 1e-4);  // dL/dB = s G^T (X A^T)
  EXPECT_LE(max_diff(pair.A.grad(), s * G.mm(Bm).t().mm(X)), 1e-4);     // dL/dA = s (G B)^T X
  // A module without an adapter passes its output through untouched.
  EXPECT_TRUE(add_lora(base, x, lora.get(), 0, LoraModule::q_proj).equal(base));
}

TEST(Lora, DropoutOnlyInTrainingPassesSeededAndScaled) {
  auto model = tiny();
  auto settings = settings_for({"q_proj"}, 4, 4.0);
  settings.dropout = 0.5;
  auto lora = init_lora(model, settings, 3);
  randomize_b(*lora, 4);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(6);
  auto x = at::normal(0.0, 1.0, {4, 16, 64}, generator);
  auto base = at::zeros({4, 16, 64});
  auto plain = add_lora(base, x, lora.get(), 0, LoraModule::q_proj);
  lora->dropout_active = true;
  lora->dropout_seed = 11;
  auto first = add_lora(base, x, lora.get(), 0, LoraModule::q_proj);
  auto again = add_lora(base, x, lora.get(), 0, LoraModule::q_proj);
  lora->dropout_seed = 12;
  auto other = add_lora(base, x, lora.get(), 0, LoraModule::q_proj);
  EXPECT_TRUE(first.equal(again));  // a replay draws the same masks
  EXPECT_FALSE(first.equal(other));
  EXPECT_GT(max_diff(first, plain), 1e-3);
  // Inverted dropout keeps the expectation: the mean over many seeds approaches the plain output.
  auto mean = at::zeros_like(plain);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    lora->dropout_seed = seed;
    mean += add_lora(base, x, lora.get(), 0, LoraModule::q_proj) / 200.0;
  }
  EXPECT_LE((mean - plain).abs().mean().item<double>(), 0.2 * plain.abs().mean().item<double>());
}

// Through the whole decoder: with W' = W + s B A the merged weight, dL/dB = s dL/dW' A^T and
// dL/dA = s B^T dL/dW', and the logits of the merged and the adapted model agree.
TEST(Lora, WholeModelGradientsFollowTheMergedWeightsGradient) {
  for (bool checkpointing : {false, true}) {
    auto model = tiny("qwen3");
    model.gradient_checkpointing = checkpointing;
    model.lora = init_lora(model, settings_for({"all-linear"}, 2, 5.0), 9);
    randomize_b(*model.lora, 10);
    for (auto& tensor : lora_parameters(*model.lora)) tensor.requires_grad_(true);
    auto merged = merge_lora(model);
    auto& merged_o = merged.weights.layers[1].o_proj;
    auto& merged_gate = merged.weights.layers[0].gate_proj;
    merged_o.requires_grad_(true);
    merged_gate.requires_grad_(true);
    auto ids = token_ids();
    auto batch = make_batch(ids, at::ones_like(ids));
    auto weights = at::linspace(-1.0, 1.0, 512);  // a loss that depends on every logit
    (forward_logits(model, batch) * weights).sum().backward();
    (forward_logits(merged, batch) * weights).sum().backward();
    const double s = 5.0 / 2.0;
    for (auto [layer, module, merged_weight] :
         {std::make_tuple(1, LoraModule::o_proj, &merged_o),
          std::make_tuple(0, LoraModule::gate_proj, &merged_gate)}) {
      const auto& pair = model.lora->layers[layer][static_cast<int>(module)];
      auto dW = merged_weight->grad();  // (out, in)
      const double scale = dW.abs().max().item<double>();
      EXPECT_LE(max_diff(pair.B.grad(), s * dW.mm(pair.A.detach().t())), 1e-4 * scale)
          << "checkpointing " << checkpointing;
      EXPECT_LE(max_diff(pair.A.grad(), s * pair.B.detach().t().mm(dW)), 1e-4 * scale)
          << "checkpointing " << checkpointing;
    }
    // The frozen base gets no gradient.
    EXPECT_FALSE(model.weights.layers[0].q_proj.grad().defined());
  }
}

// Gradient checkpointing replays each layer in backward: with dropout on, the replay must draw
// the first pass's masks, or the gradients would belong to another forward.
TEST(Lora, CheckpointingReplaysTheSameDropoutMasks) {
  std::vector<at::Tensor> gradients[2];
  for (bool checkpointing : {false, true}) {
    auto model = tiny();
    model.gradient_checkpointing = checkpointing;
    auto settings = settings_for({"all-linear"}, 2, 4.0);
    settings.dropout = 0.3;
    model.lora = init_lora(model, settings, 9);
    randomize_b(*model.lora, 10);
    model.lora->dropout_active = true;
    model.lora->dropout_seed = 77;
    auto parameters = lora_parameters(*model.lora);
    for (auto& tensor : parameters) tensor.requires_grad_(true);
    auto ids = token_ids();
    forward_logits(model, make_batch(ids, at::ones_like(ids))).pow(2).mean().backward();
    for (const auto& tensor : parameters) gradients[checkpointing].push_back(tensor.grad());
  }
  ASSERT_EQ(gradients[0].size(), gradients[1].size());
  for (size_t i = 0; i < gradients[0].size(); ++i)
    EXPECT_LE(max_diff(gradients[0][i], gradients[1][i]),
              1e-5 * (1 + gradients[0][i].abs().max().item<double>()))
        << i;
}

TEST(Lora, MergedAndUnmergedLogitsAgree) {
  for (const char* family : {"qwen2", "qwen3"}) {
    auto model = tiny(family);
    model.lora = init_lora(model, settings_for({"all-linear"}, 4, 16.0), 1);
    randomize_b(*model.lora, 2);
    auto ids = token_ids();
    auto adapted = logits_of(model, ids);
    auto merged = logits_of(merge_lora(model), ids);
    EXPECT_LE(max_diff(adapted, merged), 1e-4) << family;
    EXPECT_GT(max_diff(adapted, logits_of(without_lora(model), ids)), 1e-2) << family;
    // Merging made new tensors: the base model is untouched.
    EXPECT_EQ(max_diff(logits_of(without_lora(model), ids), logits_of(tiny(family), ids)), 0.0);
  }
}

TEST(Lora, WithoutLoraSharesTheBaseWeights) {
  auto model = tiny();
  model.lora = init_lora(model, settings_for({"q_proj"}), 1);
  auto base = without_lora(model);
  EXPECT_EQ(base.lora, nullptr);
  EXPECT_EQ(base.weights.layers[0].q_proj.data_ptr(), model.weights.layers[0].q_proj.data_ptr());
  EXPECT_EQ(base.weights.embed_tokens.data_ptr(), model.weights.embed_tokens.data_ptr());
}

TEST(Lora, AdapterRoundTrip) {
  auto dir = test::temp_dir("lora_round_trip");
  auto model = tiny();
  auto settings = settings_for({"k_proj", "o_proj", "up_proj"}, 3, 7.5);
  settings.dropout = 0.1;
  model.lora = init_lora(model, settings, 21);
  randomize_b(*model.lora, 22);
  save_lora_adapter(*model.lora, dir, "/models/base", at::kFloat);
  auto config = io::parse_json(io::read_file(dir + "/adapter_config.json"), "adapter_config");
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["r"], 3);
  EXPECT_EQ(config["lora_alpha"], 7.5);
  EXPECT_EQ(config["base_model_name_or_path"], "/models/base");
  EXPECT_EQ(config["target_modules"], (io::Json{"k_proj", "o_proj", "up_proj"}));
  auto file = load_tensor_file(dir + "/adapter_model.safetensors");
  EXPECT_EQ(file.size(), 2u * 3 * 2);  // A and B, 3 modules, 2 layers
  EXPECT_EQ(file.count("base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight"), 1u);

  auto loaded = load_lora_adapter(dir, model);
  EXPECT_EQ(loaded->settings.r, 3);
  EXPECT_EQ(loaded->settings.alpha, 7.5);
  EXPECT_EQ(loaded->settings.dropout, 0.1);
  EXPECT_EQ(loaded->settings.targets, settings.targets);
  auto original = lora_parameters(*model.lora), restored = lora_parameters(*loaded);
  ASSERT_EQ(original.size(), restored.size());
  for (size_t i = 0; i < original.size(); ++i) EXPECT_TRUE(original[i].equal(restored[i]));
  auto reloaded = without_lora(model);
  reloaded.lora = loaded;
  auto ids = token_ids();
  EXPECT_EQ(max_diff(logits_of(model, ids), logits_of(reloaded, ids)), 0.0);
}

TEST(Lora, BadAdapterFoldersNameTheFileAndTheExpectation) {
  auto model = tiny();
  model.lora = init_lora(model, settings_for({"q_proj", "v_proj"}, 4), 1);
  auto expect_error = [&](const std::string& dir, const std::string& file,
                          const std::string& phrase) {
    try {
      load_lora_adapter(dir, model);
      ADD_FAILURE() << "expected an InputError mentioning " << phrase;
    } catch (const InputError& error) {
      const std::string what = error.what();
      EXPECT_NE(what.find(file), std::string::npos) << what;
      EXPECT_NE(what.find(phrase), std::string::npos) << what;
    }
  };
  auto edited = [&](const std::string& name, const std::function<void(io::Json&)>& edit) {
    auto dir = test::temp_dir("lora_bad_" + name);
    save_lora_adapter(*model.lora, dir, "base", at::kFloat);
    auto config = io::parse_json(io::read_file(dir + "/adapter_config.json"), "config");
    edit(config);
    test::write_text(dir + "/adapter_config.json", config.dump());
    return dir;
  };
  // A module the model lacks (GPT-2's fused attention).
  expect_error(edited("module",
                      [](io::Json& c) {
                        c["target_modules"] = {"q_proj", "c_attn"};
                      }),
               "adapter_config.json", "c_attn");
  // Rank mismatch: the config says 8, the tensors hold 4.
  expect_error(edited("rank", [](io::Json& c) { c["r"] = 8; }), "adapter_model.safetensors",
               "expected [8, 64]");
  // Tensors of a module the config does not target.
  expect_error(edited("extra", [](io::Json& c) { c["target_modules"] = {"q_proj"}; }),
               "adapter_model.safetensors", "unexpected tensor");
  // A tensor missing for a targeted module.
  expect_error(edited("missing",
                      [](io::Json& c) {
                        c["target_modules"] = {"q_proj", "v_proj", "o_proj"};
                      }),
               "adapter_model.safetensors", "missing tensor");
  expect_error(edited("type", [](io::Json& c) { c["peft_type"] = "PREFIX_TUNING"; }),
               "adapter_config.json", "expected \"LORA\"");
  expect_error(edited("dora", [](io::Json& c) { c["use_dora"] = true; }), "adapter_config.json",
               "use_dora");
  expect_error(test::temp_dir("lora_bad_empty"), "adapter_config.json", "not a PEFT adapter");
}

TEST(Lora, ReadsPeftsFullModuleNamesAndSuffixes) {
  auto model = tiny();
  model.lora = init_lora(model, settings_for({"q_proj"}, 2), 1);
  auto dir = test::temp_dir("lora_full_names");
  save_lora_adapter(*model.lora, dir, "base", at::kFloat);
  // PEFT resolves all-linear into full module names when it saves.
  auto config = io::parse_json(io::read_file(dir + "/adapter_config.json"), "config");
  config["target_modules"] = {"model.layers.1.self_attn.q_proj", "layers.0.self_attn.q_proj"};
  test::write_text(dir + "/adapter_config.json", config.dump());
  auto loaded = load_lora_adapter(dir, model);
  EXPECT_TRUE(loaded->layers[0][0].A.defined());
  EXPECT_TRUE(loaded->layers[1][0].A.defined());
}

// PyPI's peft reads empo's adapter onto the Hugging Face base model and gives empo's logits;
// and empo reads an adapter peft wrote, giving peft's.
TEST(Lora, PeftLoadsOurAdapterAndWeReadPefts) {
  const auto dir = test::temp_dir("lora_peft");
  const auto base = test::fixture("qwen2-tiny");
  auto model = tiny();
  model.lora = init_lora(model, settings_for({"all-linear"}, 4, 8.0), 5);
  randomize_b(*model.lora, 6);
  save_lora_adapter(*model.lora, dir + "/ours", base, at::kFloat);
  auto ids = token_ids();
  io::Json ids_json = io::Json::array();
  for (int64_t row = 0; row < ids.size(0); ++row) {
    io::Json values = io::Json::array();
    for (int64_t t = 0; t < ids.size(1); ++t) values.push_back(ids[row][t].item<int64_t>());
    ids_json.push_back(values);
  }
  test::write_text(dir + "/ids.json", ids_json.dump());
  const std::string script = "python3 " + test::source_path("tests/model/peft_reference.py");
  auto run = test::run_shell(script + " load " + base + " " + dir + "/ours " + dir + "/ids.json " +
                             dir + "/peft_load.safetensors 2>&1");
  if (run.exit_code == 77) GTEST_SKIP() << "peft/transformers not importable: " << run.output;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto peft = load_tensor_file(dir + "/peft_load.safetensors");
  auto merged = logits_of(merge_lora(model), ids);
  EXPECT_LE(max_diff(peft["logits"], merged), 1e-4);
  EXPECT_LE(max_diff(peft["merged_logits"], merged), 1e-4);
  EXPECT_GT(max_diff(peft["logits"], logits_of(without_lora(model), ids)), 1e-2);

  run = test::run_shell(script + " write " + base + " " + dir + "/theirs " + dir + "/ids.json " +
                        dir + "/peft_write.safetensors 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto theirs = without_lora(model);
  theirs.lora = load_lora_adapter(dir + "/theirs", theirs);
  EXPECT_EQ(theirs.lora->settings.r, 2);
  EXPECT_EQ(theirs.lora->settings.scaling(), 1.5);
  auto written = load_tensor_file(dir + "/peft_write.safetensors");
  EXPECT_LE(max_diff(written["logits"], logits_of(theirs, ids)), 1e-4);
}

}  // namespace empo::model
