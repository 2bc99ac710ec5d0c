"""Dataset builds as Beam elements: the single-process bytes, whatever ran them."""

import concurrent.futures
import hashlib
import importlib.util

import numpy as np
import pytest

from rl_unplugged import builders, errors, generation, paths
from rl_unplugged.beam import datasets as beam_datasets
from rl_unplugged.cli import main as cli_main
from rl_unplugged.data import fields as F
from rl_unplugged.data import tfds_loader
from rl_unplugged.data.prepare import ensure_raw_log
from rl_unplugged.data.raw_log import MANIFEST, CorruptLogError
from tests.helpers import tiny_spec, write_random_log

NAMES = ["rlu_bsuite/catch_noise10_run0", "rlu_bsuite/catch_noise10_run1"]
STEPS = 30
HAS_BEAM = importlib.util.find_spec("apache_beam") is not None
TWO_PROCESSES = "--direct_num_workers=2 --direct_running_mode=multi_processing"


def manifest_digest(spec, root) -> str:
    return hashlib.sha256((paths.raw_dir(spec, root) / MANIFEST).read_bytes()).hexdigest()


def test_expand_globs_in_registry_order():
    assert beam_datasets.expand(["rlu_bsuite/catch_noise10_run[01]", NAMES[0]]) == NAMES
    with pytest.raises(errors.UnknownNameError, match="no dataset matches 'nope/\\*'"):
        beam_datasets.expand(["nope/*"])


def test_elements_on_two_workers_give_the_single_process_build(tmp_path):
    single = tmp_path / "single"
    for name in NAMES:
        ensure_raw_log(tiny_spec(name, STEPS), single, generate=generation.generate)
    elements = [{"name": n, "data_dir": str(tmp_path / "beam"), "num_steps": STEPS}
                for n in reversed(NAMES)]  # Another order than the single-process build.
    with concurrent.futures.ThreadPoolExecutor(2) as workers:  # What 2 Beam workers run.
        prints = list(workers.map(beam_datasets.generate_element, elements))
    for element, fingerprint in zip(elements, prints, strict=True):
        spec = tiny_spec(element["name"], STEPS)
        assert fingerprint["name"] == element["name"]
        assert fingerprint["manifest_sha256"] == manifest_digest(spec, single)
        assert fingerprint["manifest_sha256"] == manifest_digest(spec, tmp_path / "beam")
        assert fingerprint["num_transitions"] >= STEPS


@pytest.mark.skipif(HAS_BEAM, reason="checks the error shown when apache-beam is missing")
def test_beam_build_without_apache_beam_is_one_line(tmp_path, capsys):
    code = cli_main(["datasets", "build", "--beam", NAMES[0], "--num-steps", str(STEPS),
                     "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "pip install apache-beam" in err
    assert not (tmp_path / "rlu_bsuite").exists()  # Nothing built.


@pytest.mark.skipif(not HAS_BEAM, reason="apache-beam is not installed")
def test_direct_runner_with_two_workers_gives_the_single_process_build(tmp_path):
    single = tmp_path / "single"
    for name in NAMES:
        ensure_raw_log(tiny_spec(name, STEPS), single, generate=generation.generate)
    prints = beam_datasets.build(
        NAMES, tmp_path / "beam", num_steps=STEPS, runner="DirectRunner",
        options="--direct_num_workers=2 --direct_running_mode=multi_processing")
    assert [p["name"] for p in prints] == NAMES
    for name, fingerprint in zip(NAMES, prints, strict=True):
        assert fingerprint["manifest_sha256"] == manifest_digest(tiny_spec(name, STEPS), single)
        # Prepared through TFDS's Beam support: every logged episode, in order.
        steps = tfds_loader.load_steps_tfds(name, tmp_path / "beam")
        episodes = np.unique(steps[F.EPISODE_ID])
        assert list(episodes) == list(range(fingerprint["num_episodes"]))


def test_logs_made_from_other_logs_are_built_after_them(tmp_path, monkeypatch):
    # Two workers must never build the same source run at once: the replay run first,
    # then what its checkpoints play, then medium_expert (made of medium and expert).
    names = ["rlu_control/cartpole_swingup_medium_expert_run0",
             "rlu_control/cartpole_swingup_expert_run0",
             "rlu_control/cartpole_swingup_noise0_run0",
             "rlu_control/cartpole_swingup_medium_replay_run0",
             "rlu_bsuite/catch_expert_run0", "rlu_bsuite/catch_random_run0"]
    assert beam_datasets.stages(names) == [
        [names[2], names[5]], [names[1], names[3], names[4]], [names[0]]]
    # Logs made from others that were not asked for are built first anyway: catch's
    # noise0 run (its expert's source) and cartpole_swingup's medium (medium_expert's).
    catch_source, medium = "rlu_bsuite/catch_noise0_run0", names[2].replace("noise0", "medium")
    assert beam_datasets.plan(names) == [
        [names[2], names[5], catch_source], [names[1], names[3], names[4], medium], [names[0]]]
    calls = []

    def fake_run_map(fn, elements, **kwargs):
        calls.append([e["name"] for e in elements])
        return [{"name": e["name"]} for e in elements]

    monkeypatch.setattr(beam_datasets.engine, "require_beam", lambda: None)
    monkeypatch.setattr(beam_datasets.engine, "run_map", fake_run_map)
    prints = beam_datasets.build(names, tmp_path, prepare=False)
    assert calls == beam_datasets.plan(names)
    assert [p["name"] for p in prints] == names  # Fingerprints in the order asked.


def test_sources_are_the_logs_a_dataset_is_made_from():
    run = "rlu_control/cartpole_swingup_{}_run1"
    assert beam_datasets.sources(run.format("medium_expert")) == [
        run.format("noise0"), run.format("medium"), run.format("expert")]
    assert beam_datasets.sources(run.format("medium_replay")) == [run.format("noise0")]
    assert beam_datasets.sources("rlu_bsuite/catch_expert_run2") == ["rlu_bsuite/catch_noise0_run2"]
    assert beam_datasets.sources(run.format("noise30")) == []
    assert beam_datasets.sources("rlu_bsuite/catch_random_run0") == []
    # Asking only for a made level still builds its source first, and only once.
    assert beam_datasets.plan([run.format("medium_expert"), run.format("expert")]) == [
        [run.format("noise0")], [run.format("expert"), run.format("medium")],
        [run.format("medium_expert")]]


def test_scratch_reaches_every_pipeline(tmp_path, monkeypatch):
    seen = []

    def fake_run_map(fn, elements, **kwargs):
        seen.append(kwargs["scratch"])
        return [{"name": e["name"]} for e in elements]

    prepared = []
    monkeypatch.setattr(beam_datasets.engine, "require_beam", lambda: None)
    monkeypatch.setattr(beam_datasets.engine, "run_map", fake_run_map)
    monkeypatch.setattr(beam_datasets, "_beam_options", lambda runner, options: None)
    monkeypatch.setattr(builders, "prepare", lambda name, root, **kw: prepared.append((name, kw)))
    code = cli_main(["datasets", "build", "--beam", "rlu_bsuite/catch_expert_run0",
                     "--data-dir", str(tmp_path), "--scratch", str(tmp_path / "shared"),
                     "--num-steps", str(STEPS)])
    assert code == 0 and seen == [str(tmp_path / "shared")] * 2  # Source stage, then expert.
    # Only what was asked for is prepared, through TFDS's Beam support.
    assert [(n, kw["beam"], kw["num_steps"]) for n, kw in prepared] == [
        ("rlu_bsuite/catch_expert_run0", True, STEPS)]


def test_num_steps_refuses_a_source_asked_for_beside_what_is_made_from_it(tmp_path, monkeypatch):
    # The expert is made from the noise0 run at its registered size: a small noise0 built
    # in the same call would make the expert's stage fail after the first stage's work.
    monkeypatch.setattr(beam_datasets.engine, "require_beam", lambda: None)
    with pytest.raises(errors.ConfigError, match="catch_noise0_run0 small"):
        beam_datasets.build(["rlu_bsuite/catch_noise0_run0", "rlu_bsuite/catch_expert_run0"],
                            tmp_path, num_steps=STEPS)
    assert not (tmp_path / "rlu_raw").exists()


@pytest.mark.skipif(not HAS_BEAM, reason="apache-beam is not installed")
def test_a_corrupt_shard_at_the_beam_prepare_step_is_one_line(tmp_path, capsys, monkeypatch):
    name = NAMES[0]
    log = write_random_log(tiny_spec(name, 60), tmp_path, episodes_per_shard=2)
    victim = log.directory / log.manifest["shards"][1]["files"][0]
    victim.write_bytes(victim.read_bytes()[:-9])
    code = cli_main(["datasets", "build", "--beam", name, "--num-steps", "60",
                     "--data-dir", str(tmp_path), "--beam-options", TWO_PROCESSES])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith("rlu: error: ") and "checksum mismatch" in err
    assert victim.name in err  # Found by the generation stage's full check.
    # The prepare step's elements check their shards too (the log changed in between).
    monkeypatch.setattr(beam_datasets.engine, "run_map",
                        lambda fn, elements, **kw: [{"name": e["name"]} for e in elements])
    with pytest.raises(CorruptLogError, match=f"{victim.name}: checksum mismatch"):
        beam_datasets.build([name], tmp_path, num_steps=60, options=TWO_PROCESSES)
