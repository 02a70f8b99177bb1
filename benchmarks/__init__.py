"""Sentio's benchmarks: one command, ``python -m benchmarks``, measures speed, memory and
accuracy side by side and regenerates the measured part of BENCHMARKS.md.

One module per benchmark (``inference``, ``features``, ``end_to_end``, ``accuracy``,
``pi_estimate``); ``timing`` interleaves contenders and summarizes repeats, ``machine`` describes
the computer and its peak, ``flops`` counts the model's arithmetic, ``report`` renders markdown.
"""
