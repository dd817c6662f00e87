"""The demo world's evaluation: prompt format, greedy decoding, answer checking.

The prompt of one item, with k exemplars (the measured setting is k = 0):

    <s>Question: {exemplar question}\nAnswer: {exemplar solution}\n\n   (k times)
    Question: {question}\nAnswer:

``<s>`` is the BOS token that the tokenizer's post-processor adds; the rest is encoded as one
text. Decoding is greedy (argmax, ties to the lowest id) and stops at EOS, when the decoded
completion contains a blank line, or after ``max_new_tokens``. The completion is cut at the
first blank line. GSM-style: the prediction is the number after the last ``####``; MATH-style:
the content of the last ``\\boxed{...}``. Both are compared as strings after stripping spaces
(GSM-style numbers also with commas removed).
"""
from __future__ import annotations

import re

import torch
from transformers import DynamicCache

EVAL = {
    "shots": 0,
    "max_new_tokens": 64,
    "stop": ["</s>", "\n\n"],
    "prompt": "Question: {question}\nAnswer:",
    "exemplar": "Question: {question}\nAnswer: {solution}\n\n",
    "decoding": "greedy",
}


def item_question(item: dict) -> str:
    return item["question"] if "question" in item else item["problem"]


def item_solution(item: dict) -> str:
    return item["answer"] if "question" in item else item["solution"]


def build_prompt(item: dict, exemplars=()) -> str:
    head = "".join(EVAL["exemplar"].format(question=item_question(e), solution=item_solution(e))
                   for e in exemplars)
    return head + EVAL["prompt"].format(question=item_question(item))


GSM_RE = re.compile(r"####\s*(-?[\d,\.]+)")


def extract_gsm(text: str) -> str | None:
    m = GSM_RE.findall(text)
    return m[-1].replace(",", "").rstrip(".").strip() if m else None


def extract_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced."""
    i = text.rfind("\\boxed{")
    if i < 0:
        return None
    j = i + len("\\boxed{")
    depth = 1
    out = []
    while j < len(text):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return "".join(out).strip()
        out.append(ch)
        j += 1
    return None


def gold(item: dict) -> str:
    if "question" in item:
        return extract_gsm(item["answer"])
    return extract_boxed(item["solution"])


def predicted(item: dict, completion: str) -> str | None:
    return extract_gsm(completion) if "question" in item else extract_boxed(completion)


def cut(text: str) -> str:
    k = text.find("\n\n")
    return text if k < 0 else text[:k]


@torch.no_grad()
def generate(model, tok, prompts, max_new_tokens=None, batch_size=128):
    """Greedy completions for many prompts; left-padded batches with a KV cache."""
    max_new_tokens = max_new_tokens or EVAL["max_new_tokens"]
    eos = tok.token_to_id("</s>")
    pad = tok.token_to_id("<pad>")
    outs = [None] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        encs = [tok.encode(prompts[i]).ids for i in idx]
        L = max(len(e) for e in encs)
        ids = torch.full((len(encs), L), pad, dtype=torch.long)
        mask = torch.zeros((len(encs), L), dtype=torch.long)
        for r, e in enumerate(encs):
            ids[r, L - len(e):] = torch.tensor(e)
            mask[r, L - len(e):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        gen = [[] for _ in idx]
        done = [False] * len(idx)
        past = DynamicCache()
        cur_ids, cur_pos = ids, pos
        for _ in range(max_new_tokens):
            out = model(input_ids=cur_ids, attention_mask=mask, position_ids=cur_pos,
                        past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1, :].argmax(-1)
            for r in range(len(idx)):
                if done[r]:
                    continue
                t = int(nxt[r])
                if t == eos:
                    done[r] = True
                    continue
                gen[r].append(t)
                if "\n\n" in tok.decode(gen[r][-3:], skip_special_tokens=True):
                    done[r] = True
            if all(done):
                break
            cur_ids = nxt.unsqueeze(-1)
            mask = torch.cat([mask, torch.ones((len(idx), 1), dtype=torch.long)], dim=1)
            cur_pos = cur_pos[:, -1:] + 1
        for r, i in enumerate(idx):
            outs[i] = cut(tok.decode(gen[r], skip_special_tokens=True))
    return outs


def score(model, tok, items, exemplars=()):
    prompts = [build_prompt(it, exemplars) for it in items]
    comps = generate(model, tok, prompts)
    rows = []
    for it, c in zip(items, comps):
        p = predicted(it, c)
        rows.append({"completion": c, "pred": p, "correct": p is not None and p == gold(it)})
    acc = sum(r["correct"] for r in rows) / max(1, len(rows))
    return acc, rows
