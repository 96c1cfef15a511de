"""Pipeline stages: ``python -m stages.<name> [key]``, each declared in ``dvc.yaml``.

A stage loads params, reads its declared inputs, calls pure functions from ``psrlm`` and writes its
declared outputs atomically. Stages run as separate processes, so generation (vLLM) and training
never share a device's memory.
"""
