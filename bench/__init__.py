"""Benchmarks: each prints medians and ratios measured side by side, with the load and numpy matmul GFLOP/s.

Run them from the repository root as modules: `python -m bench.i3d`, `python -m bench.livedemo`, ...
"""
