"""Evaluations as (candidate x seed block) elements: the in-process evaluator's results."""

import concurrent.futures
import importlib.util

import pytest

from rl_unplugged import agents, registry, training
from rl_unplugged.beam import evaluation as beam_evaluation
from rl_unplugged.evaluation import evaluator, protocols
from tests.training.helpers import random_transitions

HAS_BEAM = importlib.util.find_spec("apache_beam") is not None
DATASET = "rlu_bsuite/cartpole_noise0_run0"
SAME = ("task", "protocol", "selection", "datasets", "episode_seeds", "returns", "lengths",
        "mean_return", "steps")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two candidates: tiny BC runs (two seeds) on bsuite/cartpole."""
    task = registry.get_task("bsuite/cartpole")
    out = []
    for seed in (0, 1):
        run_dir = tmp_path_factory.mktemp(f"run{seed}")
        training.train("bc", random_transitions(task, 64), task, steps=2, log_every=2,
                       seeds=(seed,), probe_every=None, checkpoint_every=2, out_dir=run_dir,
                       config=agents.make_config("bc", hidden=(8,), batch_size=8),
                       dataset=DATASET, make_plots=False)
        out.append({"run_dir": str(run_dir), "member": 0, "checkpoint": None})
    return out


def test_seed_blocks_cover_the_seeds_in_order():
    assert beam_evaluation.seed_blocks([5, 6, 7, 8, 9], 2) == [[5, 6], [7, 8], [9]]


def test_blocks_on_two_workers_give_the_in_process_records(runs):
    protocol = protocols.get_protocol("bsuite/cartpole")
    seeds = list(protocol.episode_seeds)
    elements = [{"candidate": c, "index": i, "task": protocol.task_id, "seeds": b,
                 "epsilon": protocol.epsilon, "num_envs": 3}
                for i, c in enumerate(runs) for b in beam_evaluation.seed_blocks(seeds, 7)]
    with concurrent.futures.ThreadPoolExecutor(2) as workers:  # What 2 Beam workers run.
        blocks = list(workers.map(beam_evaluation.evaluate_block, reversed(elements)))
    for i, candidate in enumerate(runs):
        fanned = beam_evaluation.records_for(
            candidate, [b for b in blocks if b["index"] == i], protocol, num_envs=3,
            datasets=[DATASET])
        policy = evaluator.load_run_policy(candidate["run_dir"])
        direct = evaluator.evaluate(policy, protocol, datasets=[DATASET], num_envs=16)
        assert {k: fanned[k] for k in SAME} == {k: direct[k] for k in SAME}
    with pytest.raises(ValueError, match="do not cover"):
        beam_evaluation.merge_blocks(blocks[:1], seeds)
    with pytest.raises(ValueError, match="twice"):
        beam_evaluation.merge_blocks([blocks[0], blocks[0]], seeds)


@pytest.mark.skipif(not HAS_BEAM, reason="apache-beam is not installed")
def test_direct_runner_gives_the_in_process_records(runs):
    protocol = protocols.get_protocol("bsuite/cartpole")
    fanned = beam_evaluation.evaluate(runs, protocol, block=7, datasets=[DATASET],
                                      options="--direct_num_workers=2 "
                                              "--direct_running_mode=multi_processing")
    for candidate, record in zip(runs, fanned, strict=True):
        direct = evaluator.evaluate(evaluator.load_run_policy(candidate["run_dir"]), protocol,
                                    datasets=[DATASET])
        assert {k: record[k] for k in SAME} == {k: direct[k] for k in SAME}


@pytest.mark.skipif(not HAS_BEAM, reason="apache-beam is not installed")
def test_cli_fan_out_with_a_scratch_directory_gives_the_in_process_record(runs, tmp_path):
    import json

    from rl_unplugged.cli import main as cli_main

    out, scratch = tmp_path / "beam.json", tmp_path / "shared"
    code = cli_main(["evaluate", "--task", "bsuite/cartpole", "--run-dir", runs[0]["run_dir"],
                     "--out", str(out), "--beam", "--seed-block", "25", "--scratch",
                     str(scratch), "--beam-options",
                     "--direct_num_workers=2 --direct_running_mode=multi_processing"])
    assert code == 0 and list(scratch.iterdir()) == []  # Its own results, then removed.
    record = json.loads(out.read_text())
    direct = evaluator.evaluate(evaluator.load_run_policy(runs[0]["run_dir"]),
                                protocols.get_protocol("bsuite/cartpole"))
    assert record["returns"] == direct["returns"] and record["steps"] == direct["steps"]


@pytest.mark.skipif(not HAS_BEAM, reason="apache-beam is not installed")
def test_rlu_curve_fanned_out_gives_the_in_process_curve(tmp_path):
    import json

    from rl_unplugged.cli import main as cli_main

    task = registry.get_task("bsuite/cartpole")
    run_dir = tmp_path / "run"
    training.train("bc", random_transitions(task, 64), task, steps=4, log_every=2,
                   seeds=(0, 1), probe_every=None, checkpoint_every=2, out_dir=run_dir,
                   config=agents.make_config("bc", hidden=(8,), batch_size=8),
                   dataset=DATASET, make_plots=False)
    curves = {}
    for how, extra in (("beam", ["--beam", "--seed-block", "30", "--beam-options",
                                 "--direct_num_workers=2 --direct_running_mode=multi_processing"]),
                       ("direct", [])):
        out = tmp_path / how
        assert cli_main(["curve", "--task", "bsuite/cartpole", "--run-dir", str(run_dir),
                         "--no-plot", "--out", str(out), *extra]) == 0
        curves[how] = json.loads((out / "curve.json").read_text())
        record = json.loads((out / "run" / "step2-member1.json").read_text())
        assert record["policy_source"] == f"run_dir:{run_dir} member=1 checkpoint=2"
    assert curves["beam"]["runs"]["run"]["checkpoints"] == curves["direct"]["runs"]["run"][
        "checkpoints"]
    assert len(curves["beam"]["runs"]["run"]["checkpoints"]["4"]["per_seed"]) == 2
