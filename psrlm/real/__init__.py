"""The real math data: loaders of the offline copies (``../shared/data``, see its README) with their
answer normalisers (``answers``), the cold-start sets built from their reference solutions (``ift``,
``eft``), and the lm-eval benchmark tasks' data (``benchmarks``)."""
