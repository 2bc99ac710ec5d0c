"""BC on an expert dataset scores about 1 under the frozen normalisation (issue 8).

Behaviour cloning of the task's `expert` level (greedy play of the logged run's best
checkpoint) should score close to that policy, and the expert reference is the better
of that checkpoint and a twice-as-long run's: a normalised mean far above 1 means the
reference is weak, far below 1 that BC or the expert data is broken. Slow: it builds
each task's noise0 run0 and expert run0 raw logs (set RLU_SANITY_DATA_DIR to reuse a
data root between runs), trains BC for 3 seeds and evaluates 100 episodes per seed.
"""

import os

import numpy as np
import pytest

from rl_unplugged import baselines, registry
from rl_unplugged.evaluation import protocols
from rl_unplugged.evaluation.normalisation import normalise

TASKS = [t.id for t in registry.tasks("classic") + registry.tasks("bsuite")]
LOW, HIGH = 0.7, 1.15


@pytest.mark.slow
@pytest.mark.parametrize("task_id", TASKS)
def test_bc_on_expert_data_scores_about_one(task_id, tmp_path):
    task = registry.get_task(task_id)
    dataset = f"rlu_{task.domain}/{task.name}_expert_run0"
    cfg = baselines.BaselineConfig(
        name=f"bc expert sanity {task_id}", agent="bc", track=task_id,
        datasets={task_id: dataset}, steps=5_000, seeds=(0, 1, 2),
        config={"hidden": (64, 64)})
    data_dir = os.environ.get("RLU_SANITY_DATA_DIR") or tmp_path / "data"
    submission = baselines.run(cfg, tmp_path / "run", data_dir=data_dir)
    runs = submission["results"][task_id]["runs"]
    means = np.array([np.mean(r["returns"]) for r in runs])
    score = float(np.mean(normalise(means, protocols.get_protocol(task_id))))
    # Shown with `pytest -s` (the recorded table in baselines/CREDIBILITY_PLAN.md).
    print(f"\nBC-on-expert {task_id}: normalised {score:.3f}, mean return {means.mean():.4g}, "
          f"per seed {np.round(means, 4).tolist()}")
    assert LOW <= score <= HIGH, (
        f"{task_id}: BC on {dataset} scores {score:.3f} normalised (mean return "
        f"{means.mean():.4g}), outside [{LOW}, {HIGH}]: "
        f"{protocols.get_protocol(task_id).references['expert']['how']}")
