"""Experiments: the demo, benchmarks, figures and the report (assemble the library only)."""
