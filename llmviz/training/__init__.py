"""Rebuilding the shipped models: the corpora, the story generator and SmolLM2 story distillation (stories/), the
training script (`python -m llmviz.training.train`) and the model card. Nothing in llmviz imports this package at
run time; only these scripts and their tests do.
"""
