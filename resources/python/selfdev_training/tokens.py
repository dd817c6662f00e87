"""Token ids as the project's generator sees and writes them, and a test hook that records the ids
the loss receives."""
import json
import os

# Test hook: when set, every training batch's token ids, as TRL's collator built them, are appended
# to this JSONL file, so a test can check the ids the loss sees.
TRACE = os.environ.get("SELFDEV_DPO_TRACE")


def encode_pair(tokenizer, row: dict) -> dict:
    bos, eos = tokenizer.bos_token, tokenizer.eos_token_id
    rendered = bool(bos) and row["prompt"].startswith(bos)
    prompt = tokenizer(row["prompt"], add_special_tokens=not rendered)["input_ids"]

    def completion(text):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        # A completion that already ends with the EOS text keeps its one EOS (as TRL does).
        return ids if ids and ids[-1] == eos else ids + [eos]

    return {"prompt_ids": prompt, "chosen_ids": completion(row["chosen"]), "rejected_ids": completion(row["rejected"])}



def trace_batch(inputs):
    rows = []
    for ids, att, comp in zip(inputs["input_ids"].tolist(), inputs["attention_mask"].tolist(),
                              inputs["completion_mask"].tolist()):
        rows.append({"prompt": [t for t, a, c in zip(ids, att, comp) if a and not c],
                     "completion": [t for t, a, c in zip(ids, att, comp) if a and c]})
    with open(TRACE, "a") as f:
        f.write(json.dumps(rows) + "\n")
