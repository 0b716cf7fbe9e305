"""transformers' side of the rope scaling tests: builds a tiny random LlamaForCausalLM with
the given rope_parameters, saves it (config.json + model.safetensors) and writes its logits for
fixed token ids, so the C++ test compares empo's forward pass with transformers'.

  rope_reference.py ROPE_JSON MODEL_FOLDER OUT.safetensors

ROPE_JSON: the rope_parameters object, e.g. {"rope_type": "llama3", "factor": 8, ...}; rope_theta
is added. Exits 77 when torch or transformers cannot be imported, so the test can skip."""
import json
import sys

try:
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaForCausalLM
except ImportError as error:
    print(f"torch or transformers is not importable: {error}", file=sys.stderr)
    sys.exit(77)

rope, folder, out_path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
rope = dict(rope, rope_theta=10000.0)
torch.manual_seed(0)
config = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     max_position_embeddings=256, rope_parameters=rope, tie_word_embeddings=False,
                     attn_implementation="eager")
model = LlamaForCausalLM(config).eval()
with torch.no_grad():
    for parameter in model.parameters():  # far from the init, so logits differ by position
        parameter.normal_(0.0, 0.3)
model.save_pretrained(folder, safe_serialization=True)
# Positions well past original_max_position_embeddings, where the scaling matters.
ids = torch.arange(96, dtype=torch.long).remainder(127).add(1).view(1, 96)
with torch.no_grad():
    logits = model(input_ids=ids).logits.float().contiguous()
save_file({"input_ids": ids, "logits": logits}, out_path)
