"""`rlu datasets build/inspect` on tiny data."""

import errno
import json
import shutil

import numpy as np

from rl_unplugged import cli, paths
from rl_unplugged.data import fields as F
from tests.helpers import tiny_spec, write_random_log


def test_inspect_prints_statistics_conformance_and_plot(tiny_built, tmp_path, capsys):
    name, root, log = tiny_built
    out = tmp_path / "returns.png"
    assert cli.main(["datasets", "inspect", name, "--data-dir", str(root), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    meta = log.episodes_table()
    returns = meta[F.EPISODE_RETURN]
    assert f"{log.num_episodes:,} episodes" in text
    assert f"{log.manifest['num_rows']:,} steps" in text
    assert f"mean {returns.mean():.3f}" in text and f"max {returns.max():.3f}" in text
    # The helper logs checkpoint = episode_id // 10.
    last = int(meta[F.CHECKPOINT].max())
    sel = returns[meta[F.CHECKPOINT] == last]
    assert f"{last:5d} {len(sel):9d} {sel.mean():9.3f}" in text
    assert "conforms" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_build_from_an_existing_raw_log(tmp_path, capsys):
    name = "rlu_classic/acrobot_random_run0"
    spec = tiny_spec(name, num_steps=50)
    write_random_log(spec, tmp_path)
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "50"]) == 0
    text = capsys.readouterr().out
    assert f"prepared {name}: {tmp_path}" in text
    assert list((tmp_path / "rlu_classic" / "acrobot_random_run0").rglob("*.tfrecord*"))


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    assert cli.main(["datasets", "inspect", "rlu_bsuite/catch_noise1_run0"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert cli.main(["datasets", "inspect", "rlu_bsuite/catch_noise0_run0",
                     "--data-dir", str(tmp_path)]) == 2
    assert "rlu datasets build" in capsys.readouterr().err
    name = "rlu_bsuite/catch_random_run1"
    spec = tiny_spec(name, num_steps=100)
    write_random_log(spec, tmp_path)
    shard = paths.raw_dir(spec, tmp_path) / "shard-00000.episodes.parquet"
    shard.write_bytes(np.zeros(10, np.uint8).tobytes())
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlu: error:") and len(err.strip().splitlines()) == 1
    assert "shard-00000.episodes.parquet: checksum mismatch" in err


def test_build_calls_the_generator_with_progress_and_refuses_short_logs(tmp_path, capsys,
                                                                      monkeypatch):
    calls = []

    def generate(spec, data_dir=None, *, progress=None):  # Stands in for the generator.
        calls.append((spec.num_steps, str(data_dir)))
        log = write_random_log(spec, data_dir)
        progress(log.num_transitions)
        return log

    monkeypatch.setattr("rl_unplugged.generation.generate", generate)
    name = "rlu_bsuite/catch_noise20_run2"
    spec = tiny_spec(name, num_steps=40)
    write_random_log(spec, tmp_path, finalize=False)  # An interrupted generation.
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "40"]) == 0
    captured = capsys.readouterr()
    assert calls == [(40, str(tmp_path))]
    assert "logging rlu_bsuite/catch_noise20_run2" in captured.err  # The tqdm bar.
    assert "prepared" in captured.out

    def lazy(spec, data_dir=None, *, progress=None):  # A generator that stops short.
        return None

    monkeypatch.setattr("rl_unplugged.generation.generate", lazy)
    other = tmp_path / "other"
    write_random_log(spec, other, finalize=False)
    assert cli.main(["datasets", "build", name, "--data-dir", str(other),
                     "--num-steps", "40"]) == 2
    assert "generation did not finish" in capsys.readouterr().err
    assert not list((other / "rlu_bsuite").rglob("*.tfrecord*"))


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("rlu: error: ") and len(err.splitlines()) == 1, err
    return err


def _record_num_steps(log_dir, num_steps):
    """Marks a helper-written log as made by `rlu datasets build --num-steps num_steps`
    (the generator records the num_steps it was asked for in the manifest)."""
    manifest = json.loads((log_dir / "manifest.json").read_text())
    manifest["generation"]["num_steps"] = num_steps
    (log_dir / "manifest.json").write_text(json.dumps(manifest))


def test_a_tiny_build_is_refused_where_the_full_dataset_is_expected(tmp_path, capsys):
    name = "rlu_classic/acrobot_random_run0"
    spec = tiny_spec(name, num_steps=50)
    log = write_random_log(spec, tmp_path)
    _record_num_steps(log.directory, 50)
    for command in ("build", "inspect"):
        assert cli.main(["datasets", command, name, "--data-dir", str(tmp_path)]) == 2
        err = _one_line_error(capsys)
        assert f"holds a tiny build of {name} (50 transitions" in err
        assert "pass --num-steps 50" in err
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "50"]) == 0
    capsys.readouterr()
    assert cli.main(["datasets", "inspect", name, "--data-dir", str(tmp_path),
                     "--num-steps", "50"]) == 0


def test_a_dataset_prepared_from_another_log_is_refused(tmp_path, capsys):
    name = "rlu_bsuite/catch_noise30_run1"
    write_random_log(tiny_spec(name, num_steps=50), tmp_path)
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "50"]) == 0
    shutil.rmtree(paths.raw_dir(tiny_spec(name), tmp_path))  # Logged again, differently.
    write_random_log(tiny_spec(name, num_steps=120), tmp_path)
    capsys.readouterr()
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "120"]) == 2
    assert "was prepared from another raw log" in _one_line_error(capsys)


def test_disk_full_during_prepare_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    name = "rlu_classic/acrobot_random_run2"
    write_random_log(tiny_spec(name, num_steps=50), tmp_path)
    target = tmp_path / "rlu_classic" / "acrobot_random_run2" / "2.0.0" / "x.tfrecord-00000"

    def full(self, log):  # The writer's first write finds the disk full.
        raise OSError(errno.ENOSPC, "No space left on device", str(target))
        yield

    monkeypatch.setattr("rl_unplugged.builders.base.RluBuilder._generate_examples", full)
    assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                     "--num-steps", "50"]) == 2
    err = capsys.readouterr().err  # After tfds's progress bars: one line, no traceback.
    assert "Traceback" not in err and err.count("rlu: error:") == 1
    assert err.endswith(f"rlu: error: {target}: cannot write (No space left on device)\n")


def test_a_concurrent_build_is_one_line_naming_the_log(tmp_path, capsys, monkeypatch):
    from rl_unplugged.data.raw_log import RawLogWriter

    name = "rlu_bsuite/catch_noise20_run1"
    spec = tiny_spec(name, num_steps=40)
    raw = paths.raw_dir(spec, tmp_path)

    def open_writer(directory):
        return RawLogWriter.open(directory, dataset=name, observation_shape=(50,),
                                 observation_dtype="float32", generation={})

    def generate(spec, data_dir=None, *, progress=None):  # Opens the log as the generator.
        open_writer(paths.raw_dir(spec, data_dir))

    monkeypatch.setattr("rl_unplugged.generation.generate", generate)
    holder = open_writer(raw)  # Another build is writing this log.
    try:
        assert cli.main(["datasets", "build", name, "--data-dir", str(tmp_path),
                         "--num-steps", "40"]) == 2
    finally:
        holder.close()
    err = _one_line_error(capsys)
    assert f"{raw} is being written by another writer" in err


def test_a_corrupt_tfrecord_is_one_line_naming_the_file(tiny_built, tmp_path, capsys):
    name, root, _ = tiny_built
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    record = sorted((copy / "rlu_bsuite").rglob("*.tfrecord*"))[0]
    data = bytearray(record.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])  # Bit rot.
    record.write_bytes(bytes(data))
    assert cli.main(["datasets", "inspect", name, "--data-dir", str(copy)]) == 2
    err = _one_line_error(capsys)
    assert f"{record}: corrupted or truncated record" in err


def test_list_and_build_of_a_task_whose_datasets_are_not_built_here(capsys):
    assert cli.main(["datasets", "list", "--domain", "atari"]) == 0
    out = capsys.readouterr().out
    assert "rlu_atari" in out and "ALE/Pong-v5" in out and "not built here" in out
    assert cli.main(["datasets", "build", "rlu_atari/Pong_run_1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "rlu_atari/Pong_run_1 is not built here" in err


def test_inspect_reports_continuous_actions_out_of_bounds(tmp_path, monkeypatch, capsys):
    # `inspect` checks a continuous dataset against the task's action bounds (it passed
    # only `num_actions`, None for continuous tasks, so bounds went unchecked).
    from rl_unplugged import registry
    from rl_unplugged.cli import datasets as datasets_cli
    from rl_unplugged.data import tfds_loader

    name = "rlu_control/cartpole_swingup_medium_run0"
    task = registry.get_dataset(name).task
    t, dim = 4, task.action.shape[0]
    actions = np.zeros((t + 1, dim), np.float32)
    actions[2, 0] = task.action.maximum[0] + 0.5
    obs = np.zeros((t + 1, *task.observation.shape), np.float32)
    obs[1, 0] = np.nan
    steps = {F.OBSERVATION: obs, F.ACTION: actions, F.REWARD: np.zeros(t + 1, np.float32),
             F.DISCOUNT: np.r_[np.ones(t), 0.0].astype(np.float32),
             F.IS_FIRST: np.eye(1, t + 1, 0, dtype=bool)[0],
             F.IS_LAST: np.eye(1, t + 1, t, dtype=bool)[0],
             F.IS_TERMINAL: np.zeros(t + 1, bool)}
    meta = {F.EPISODE_ID: 0, F.EPISODE_RETURN: 0.0, F.EPISODE_LENGTH: t}
    monkeypatch.setattr(datasets_cli, "check_log_size", lambda *a, **k: None)
    monkeypatch.setattr(tfds_loader, "load_episodes_tfds",
                        lambda *a, **k: iter([(steps, meta)]))
    assert cli.main(["datasets", "inspect", name, "--data-dir", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "actions outside the action space" in text and "on steps [2]" in text
    assert "observation holds NaN on steps [1]" in text
