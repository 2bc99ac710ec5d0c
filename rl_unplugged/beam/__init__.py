"""Apache Beam pipelines: many dataset builds, or many evaluations, on one engine.

Optional: needs `pip install apache-beam` (not a dependency of the package); without
it, `require_beam` raises a one-line `ConfigError` naming the package. Each element's
work is the single-process code path itself (`datasets.generate_element`,
`builders.base.shard_examples`, `evaluation.evaluate_block`), so whatever engine runs
them, and in whatever order, the outputs are the single-process ones on the same
kind of machine: the same raw logs (manifest digests; each worker's `generate` computes
with one XLA thread whatever its cores, `generation/numerics.py`), the same prepared
examples, the same per-episode returns. (A learning level generated on another kind of
machine may differ: `data/reference_builds.py`.)

Runners: any Beam runner, by name (`DirectRunner` locally; `DataflowRunner`,
`FlinkRunner`, `SparkRunner` on a cluster) with its `PipelineOptions` flags.
"""

from rl_unplugged.beam.engine import pipeline_options, require_beam, run_map

__all__ = ["pipeline_options", "require_beam", "run_map"]
