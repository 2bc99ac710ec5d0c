"""`rlu datasets build/inspect` on tiny data."""

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
