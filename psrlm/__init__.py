"""psrlm: process-based self-rewarding language models (arXiv 2503.03746).

The library behind the DVC stages in ``stages/``: the toy world and the one grader, prompts, the
step-wise search and its batched engine, the generation backends, TRL training and lm-eval scoring.
"""
