"""Speed, overhead, scaling and memory measurements of neural_cotraining; each script writes one JSON file.

``python -m benchmarks [--quick]`` runs them all and prints the README table; see ``benchmarks/README.md``.
Not part of the installed package, and kept out of the test suite (timings are never asserted).
"""
