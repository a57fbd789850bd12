"""The simple stories the tiny model learns from: a seeded template generator (generator.py) with its word lists
(words.py), plot templates (templates.py), a phrase-structure grammar (grammar.py, lexicon.py), and stories written
by SmolLM2 (distill.py, `python -m llmviz.training.stories.distill`).
"""
