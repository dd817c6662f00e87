"""The LLM factory's DPO trainer, in parts (the entry point is resources/python/selfdev_dpo.py):
events (the stdout protocol), spec (checking the input before the heavy stack is imported),
tokens (the generator's own token ids), checkpoints (resumable under torch 2.5), outputs (the
adapter and the merged weights) and train (TRL's DPOTrainer with a PEFT adapter)."""
