"""PEFT's side of the LoRA tests: runs a base model with a LoRA adapter through
transformers + peft and writes the logits, so the C++ test compares them with empo's.

  peft_reference.py load BASE ADAPTER IDS_JSON OUT.safetensors
      PeftModel.from_pretrained(base, ADAPTER) (an adapter empo wrote): its logits, and the
      logits after peft's own merge_and_unload().
  peft_reference.py write BASE ADAPTER IDS_JSON OUT.safetensors
      get_peft_model with random A and B (init_lora_weights=False, seed 0) on q_proj, v_proj
      and down_proj, saved to ADAPTER with save_pretrained (an adapter empo must read): its
      logits.

IDS_JSON is a list of equally long token-id lists. Exits 77 when torch, transformers or peft
cannot be imported, so the calling test can skip."""
import json
import sys

try:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM
except ImportError as error:
    print(f"torch, transformers or peft is not importable: {error}", file=sys.stderr)
    sys.exit(77)

mode, base_folder, adapter_folder, ids_path, out_path = sys.argv[1:6]
ids = torch.tensor(json.load(open(ids_path)), dtype=torch.long)
base = AutoModelForCausalLM.from_pretrained(
    base_folder, dtype=torch.float32, attn_implementation="eager"
)
base.eval()
outputs = {}
with torch.no_grad():
    if mode == "load":
        model = PeftModel.from_pretrained(base, adapter_folder)
        model.eval()
        outputs["logits"] = model(input_ids=ids).logits.float().contiguous()
        merged = model.merge_and_unload()
        outputs["merged_logits"] = merged(input_ids=ids).logits.float().contiguous()
    elif mode == "write":
        torch.manual_seed(0)
        config = LoraConfig(
            r=2,
            lora_alpha=3,
            target_modules=["q_proj", "v_proj", "down_proj"],
            init_lora_weights=False,
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(base, config)
        model.eval()
        model.save_pretrained(adapter_folder)
        outputs["logits"] = model(input_ids=ids).logits.float().contiguous()
    else:
        sys.exit(f"unknown mode {mode}")
save_file(outputs, out_path)
