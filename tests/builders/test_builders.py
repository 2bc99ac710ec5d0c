"""The real builders on tiny raw logs written by the test helper."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

import rl_unplugged
from rl_unplugged import builders, errors, paths, registry
from rl_unplugged.builders import base
from rl_unplugged.data import fields as F
from rl_unplugged.data import tfds_loader
from rl_unplugged.data.raw_log import CorruptLogError, RawLog
from tests.helpers import tiny_spec, write_random_log

REPO = Path(rl_unplugged.__file__).parents[1]


def test_configs_come_from_the_registry():
    for name, cls in builders.BUILDERS.items():
        specs = registry.datasets(name)
        assert [c.name for c in cls.BUILDER_CONFIGS] == [s.config_name for s in specs]
        assert all(c.spec == s for c, s in zip(cls.BUILDER_CONFIGS, specs, strict=True))
    assert "catch_noise10_run0" in [c.name for c in builders.RluBsuite.BUILDER_CONFIGS]
    registered = set(tfds.list_builders(with_community_datasets=False))
    assert {"rlu_bsuite", "rlu_minatar", "rlu_classic", "rlu_control", "rlu_mujoco"} <= registered
    assert "rlu_builder" not in registered and "continuous_rlu_builder" not in registered


@pytest.mark.parametrize("name", ["rlu_bsuite/catch_noise10_run0",
                                  "rlu_classic/cartpole_random_run1",
                                  "rlu_minatar/breakout_noise50_run2"])
def test_tiny_build_matches_the_raw_log(tmp_path, name):
    spec = tiny_spec(name, num_steps=60)
    log = write_random_log(spec, tmp_path)
    b = builders.builder(name, tmp_path, num_steps=60)
    b.download_and_prepare()
    assert Path(b.data_dir).is_relative_to(tmp_path / spec.builder_name / spec.config_name)
    built = list(tfds_loader.load_episodes_tfds(name, tmp_path, batch_size=50))
    raw = list(log.iter_episodes())
    assert len(built) == len(raw) == log.num_episodes
    obs = spec.task.observation
    for (steps, meta), want in zip(built, raw, strict=True):
        assert steps[F.OBSERVATION].shape[1:] == obs.shape
        assert steps[F.OBSERVATION].dtype == np.dtype(obs.dtype)
        for key in (*F.STEP_FIELDS, *F.STEP_EXTRAS):
            np.testing.assert_array_equal(steps[key], want.steps[key], err_msg=key)
        for key in F.EPISODE_METADATA:
            np.testing.assert_allclose(meta[key], want.metadata[key], rtol=1e-7, err_msg=key)
    assert steps[F.ACTION].dtype == np.int64
    assert steps[F.REWARD].dtype == np.float32
    assert b.info.splits["train"].num_examples == log.num_episodes
    assert "Gulcehre" in b.info.citation


def test_load_by_name_in_a_fresh_process_honours_tfds_data_dir(tmp_path):
    name = "rlu_bsuite/catch_noise10_run0"
    write_random_log(tiny_spec(name), tmp_path)
    builders.builder(name, tmp_path, num_steps=200).download_and_prepare()
    code = ("import rl_unplugged, tensorflow_datasets as tfds;"
            f"ds = tfds.load('{name}', split='train');"
            "print('episodes', sum(1 for _ in ds))")
    env = dict(os.environ, PYTHONPATH=str(REPO), TFDS_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"episodes {RawLog(paths.raw_dir(tiny_spec(name), tmp_path)).num_episodes}\n" \
        in out.stdout


def test_incomplete_short_or_corrupted_logs_are_refused(tmp_path):
    name = "rlu_bsuite/catch_random_run0"
    spec = tiny_spec(name)
    write_random_log(spec, tmp_path, finalize=False)
    with pytest.raises(CorruptLogError, match="did not finish"):
        RawLog(paths.raw_dir(spec, tmp_path))
    other = tmp_path / "short"
    write_random_log(spec, other)
    with pytest.raises(CorruptLogError, match="needs 100000"):
        builders.builder(name, other, num_steps=100_000).download_and_prepare()
    corrupt = tmp_path / "corrupt"
    write_random_log(spec, corrupt)
    shard = paths.raw_dir(spec, corrupt) / "shard-00001.steps.parquet"
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(CorruptLogError, match="shard-00001.steps.parquet"):
        builders.builder(name, corrupt, num_steps=200).download_and_prepare()
    assert not list((corrupt / spec.builder_name).rglob("*.tfrecord*"))


def test_unknown_names_list_close_ones():
    with pytest.raises(KeyError, match="catch_noise10_run0"):
        builders.builder("rlu_bsuite/catch_noise1_run0")


def test_nonconforming_raw_log_fails_the_build(tmp_path):
    from rl_unplugged.data.episode import Episode
    from rl_unplugged.data.raw_log import RawLogWriter

    name = "rlu_bsuite/catch_noise0_run1"
    spec = tiny_spec(name, num_steps=10)
    good = next(write_random_log(spec, tmp_path / "good").iter_episodes())
    steps = {k: v.copy() for k, v in good.steps.items()}
    steps[F.IS_TERMINAL][0] = True  # A terminal flag in mid-episode.
    w = RawLogWriter.open(paths.raw_dir(spec, tmp_path), dataset=name,
                          observation_shape=(10, 5), observation_dtype="float32",
                          generation={"test": "bad"})
    for i in range(2):
        w.add(Episode(steps=steps, metadata=dict(good.metadata, episode_id=i)))
    w.finalize()
    with pytest.raises(CorruptLogError, match="episode 0 does not conform: is_terminal"):
        builders.builder(name, tmp_path, num_steps=10).download_and_prepare()


def test_homepage_and_citation_come_from_the_registry(tmp_path, monkeypatch):
    import dataclasses

    domain = registry.get_domain("classic")
    info = builders.builder("rlu_classic/cartpole_random_run0", tmp_path).info
    assert info.homepage == domain.homepage and domain.bibtex in info.citation
    assert "gulcehre2020rl" in info.citation
    changed = dataclasses.replace(domain, homepage="https://example.org/classic",
                                  bibtex="@misc{x2099, title={X}}")
    monkeypatch.setitem(registry.DOMAINS, "classic", changed)
    info = builders.builder("rlu_classic/cartpole_random_run0", tmp_path).info
    assert info.homepage == "https://example.org/classic"
    assert info.citation.endswith("@misc{x2099, title={X}}")


def test_builder_generates_a_missing_log_through_the_gate(tmp_path, monkeypatch):
    """The builders wire `generation.generate` into `ensure_raw_log` (data never imports it)."""
    calls = []

    def generate(spec, data_dir=None, *, progress=None):  # Stands in for the generator.
        calls.append((spec.name, spec.num_steps))
        return write_random_log(spec, data_dir)

    monkeypatch.setattr("rl_unplugged.generation.generate", generate)
    name = "rlu_bsuite/catch_random_run2"
    b = builders.builder(name, tmp_path, num_steps=30)
    b.download_and_prepare()
    assert calls == [(name, 30)]
    assert b.info.splits["train"].num_examples == RawLog(
        paths.raw_dir(tiny_spec(name, 30), tmp_path)).num_episodes


@pytest.mark.parametrize("name,num_steps", [("rlu_mujoco/hopper_noise10_run0", 300),
                                            ("rlu_control/cartpole_swingup_random_run1", 1000)])
def test_continuous_builds_hold_action_vectors_and_the_noise_record(tmp_path, name, num_steps):
    # The builder generates the raw log itself (the hopper replay level plays the D4PG
    # agent's policy with noise; 300 steps stay inside its warm-up, so it does not learn).
    from rl_unplugged.data import loader

    b = builders.builder(name, tmp_path, num_steps=num_steps)
    b.download_and_prepare()
    spec = tiny_spec(name, num_steps)
    action = spec.task.action
    steps_info = b.info.features[F.STEPS].feature
    assert steps_info[F.ACTION].shape == action.shape == steps_info[F.MEAN_ACTION].shape
    assert F.GREEDY_ACTION not in steps_info and F.ACTION_REPLACED not in steps_info
    built = list(tfds_loader.load_episodes_tfds(name, tmp_path, batch_size=4096))
    raw = list(RawLog(paths.raw_dir(spec, tmp_path)).iter_episodes())
    assert len(built) == len(raw) > 0
    for (steps, meta), want in zip(built, raw, strict=True):
        for key in (*F.STEP_FIELDS, *F.CONTINUOUS_STEP_EXTRAS):
            np.testing.assert_array_equal(steps[key], want.steps[key], err_msg=key)
        assert steps[F.ACTION].dtype == np.float32 and steps[F.ACTION].shape[1:] == action.shape
        for key in F.EPISODE_METADATA:
            np.testing.assert_allclose(meta[key], want.metadata[key], rtol=1e-7, err_msg=key)
    last = raw[-1].steps
    executed, mean = last[F.ACTION][:-1], last[F.MEAN_ACTION][:-1]
    if spec.level == "random":
        np.testing.assert_array_equal(executed, mean)
        assert not last[F.ACTION_NOISE_STD].any()
    else:  # Noise on the executed action, inside the bounds.
        assert not np.array_equal(executed, mean) and (last[F.ACTION_NOISE_STD][:-1] > 0).all()
        assert (executed >= np.array(action.minimum)).all()
        assert (executed <= np.array(action.maximum)).all()
    via_tfds = tfds_loader.load_transitions_tfds(name, tmp_path)
    direct = loader.load_transitions(name, tmp_path)
    for key in ("observation", "action", "reward", "discount", "next_observation"):
        np.testing.assert_array_equal(getattr(via_tfds, key), getattr(direct, key), err_msg=key)
    assert name.split("/")[1] in [c.name for c in type(b).BUILDER_CONFIGS]
    assert "D4PG" in b.builder_config.description or spec.level == "random"


def test_shard_elements_give_the_in_process_examples(tmp_path):
    # The Beam prepare step's elements (one per raw-log shard) yield exactly the examples
    # of the in-process generator, in the same order; a corrupted shard fails its element.
    name = "rlu_bsuite/catch_noise10_run0"
    log = write_random_log(tiny_spec(name, num_steps=100), tmp_path, episodes_per_shard=3)
    shards = len(log.manifest["shards"])
    assert shards >= 3
    b = builders.builder(name, tmp_path, num_steps=100)
    whole = list(b._generate_examples(log))
    task = registry.get_dataset(name).task
    parts = [kv for i in range(shards)
             for kv in base.shard_examples(i, str(log.directory), task)]
    assert [k for k, _ in parts] == [k for k, _ in whole] == sorted(k for k, _ in whole)
    for (_, got), (_, want) in zip(parts, whole, strict=True):
        assert got.keys() == want.keys()
        for k in want[F.STEPS]:
            np.testing.assert_array_equal(got[F.STEPS][k], want[F.STEPS][k])
        assert all(got[k] == want[k] for k in want if k != F.STEPS)
    victim = log.directory / log.manifest["shards"][1]["files"][0]
    victim.write_bytes(victim.read_bytes()[:-9])
    list(base.shard_examples(0, str(log.directory), task))  # Other shards still read.
    with pytest.raises(CorruptLogError, match="checksum mismatch"):
        list(base.shard_examples(1, str(log.directory), task))


@pytest.mark.skipif(importlib.util.find_spec("apache_beam") is None,
                    reason="apache-beam is not installed")
def test_beam_prepare_gives_the_in_process_dataset(tmp_path):
    name = "rlu_classic/cartpole_random_run1"
    spec = tiny_spec(name, num_steps=300)
    for root in ("single", "beam"):
        write_random_log(spec, tmp_path / root, episodes_per_shard=4)
    builders.prepare(name, tmp_path / "single", num_steps=300)
    from apache_beam.options import pipeline_options

    config = tfds.download.DownloadConfig(
        beam_runner="DirectRunner",
        beam_options=pipeline_options.PipelineOptions(
            ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]))
    builders.prepare(name, tmp_path / "beam", num_steps=300, beam=True,
                     download_config=config)
    single, beam = (tfds_loader.load_steps_tfds(name, tmp_path / r) for r in ("single", "beam"))
    assert single.keys() == beam.keys() and len(single[F.OBSERVATION]) > 300
    for k in single:
        np.testing.assert_array_equal(single[k], beam[k])
    records = {r: sorted(p.name for p in Path(builders.builder(name, tmp_path / r,
                                                               num_steps=300).data_dir)
                         .glob("*.tfrecord*")) for r in ("single", "beam")}
    import tensorflow as tf

    # The same examples in the same order across the files (whose boundaries TFDS's two
    # writers may draw differently), compared as protos: a map's serialized order may
    # differ between processes.
    a, b = ([tf.train.Example.FromString(x.numpy())
             for f in records[r] for x in tf.data.TFRecordDataset(
                 str(Path(builders.builder(name, tmp_path / r, num_steps=300).data_dir) / f))]
            for r in ("single", "beam"))
    assert len(a) == len(b) > 4 and a == b


def test_prepare_refuses_a_dataset_prepared_from_another_log(tmp_path):
    name = "rlu_bsuite/catch_noise10_run0"
    spec = tiny_spec(name, num_steps=60)
    write_random_log(spec, tmp_path)
    builders.prepare(name, tmp_path, num_steps=60)
    raw = paths.raw_dir(spec, tmp_path)
    moved = raw.with_name("moved")
    raw.rename(moved)
    builders.prepare(name, tmp_path, num_steps=60)  # No log to compare with: it stands.
    write_random_log(spec.replace(num_steps=90), tmp_path, seed=1)  # Another log.
    with pytest.raises(errors.IncompatibleError, match="prepared from another raw log"):
        builders.prepare(name, tmp_path, num_steps=60)
