import json

import pytest

from rl_unplugged import cli, paths, registry
from rl_unplugged.data import reference_builds
from tests.helpers import tiny_spec, write_random_log


def test_record_and_verify(tmp_path, monkeypatch, capsys):
    name = "rlu_bsuite/catch_noise20_run1"
    spec = tiny_spec(name, num_steps=30)
    write_random_log(spec, tmp_path)
    monkeypatch.setattr(registry, "datasets", lambda builder=None: [spec])
    monkeypatch.setattr(reference_builds.registry, "get_dataset", lambda n: spec)
    ref = tmp_path / "refs.json"
    monkeypatch.setattr(reference_builds, "_package_file", lambda: ref)
    doc = reference_builds.record(tmp_path)
    assert doc["builds"][name]["num_transitions"] >= 30
    assert doc["builds"][name]["recorded_on"] == reference_builds.host()
    assert json.loads(ref.read_text())["builds"] == doc["builds"]
    assert cli.main(["datasets", "verify", name, "--data-dir", str(tmp_path)]) == 0
    assert "identical" in capsys.readouterr().out
    other = tmp_path / "other"
    write_random_log(spec, other, seed=1)  # Different data under the same name.
    assert cli.main(["datasets", "verify", name, "--data-dir", str(other)]) == 1
    out = capsys.readouterr().out
    assert "differs" in out and "another kind of machine" in out  # Says what else can differ.
    assert "has the recording machine's CPU features and jaxlib" in out
    # Recorded on another machine: the message names what differs.
    here = reference_builds.host()
    there = dict(here, kernel_features=["sse2"], jaxlib="0.0.1", cpu="another CPU")
    recorded = json.loads(ref.read_text())
    recorded["builds"][name]["recorded_on"] = there
    ref.write_text(json.dumps(recorded))
    assert cli.main(["datasets", "verify", name, "--data-dir", str(other)]) == 1
    out = capsys.readouterr().out
    assert (f"differs from the recording machine: cpu another CPU there, {here['cpu']} here; "
            f"kernel_features ['sse2'] there, {here['kernel_features']} here; "
            f"jaxlib 0.0.1 there, {here['jaxlib']} here") in out
    del recorded["builds"][name]["recorded_on"]  # Recorded before machines were.
    ref.write_text(json.dumps(recorded))
    assert cli.main(["datasets", "verify", name, "--data-dir", str(other)]) == 1
    assert "the machine it was recorded on was not recorded" in capsys.readouterr().out
    # A build made under other numerics says so (`generation.numerics`).
    manifest_path = paths.raw_dir(spec, other) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["generation"]["numerics"] = {"canonical": False, "reason": "backend started early"}
    manifest_path.write_text(json.dumps(manifest))
    assert cli.main(["datasets", "verify", name, "--data-dir", str(other)]) == 1
    assert "canonical numerics (backend started early" in capsys.readouterr().out


def test_recording_again_keeps_the_competence_of_an_unchanged_build(tmp_path, monkeypatch):
    name = "rlu_bsuite/catch_noise0_run1"
    spec = tiny_spec(name, num_steps=30)
    write_random_log(spec, tmp_path)
    monkeypatch.setattr(registry, "datasets", lambda builder=None: [spec])
    monkeypatch.setattr(reference_builds, "_package_file", lambda: tmp_path / "refs.json")
    measured = {"greedy_return": 1.0, "target": 0.86, "reached": True, "how": "by hand"}
    reference_builds.record(tmp_path, competence={name: measured})
    elsewhere = dict(reference_builds.host(), cpu="another CPU")
    monkeypatch.setattr(reference_builds, "host", lambda: elsewhere)
    again = reference_builds.record(tmp_path)  # No references given this time.
    assert again["builds"][name]["competence"] == measured
    # The same bytes recorded again keep the machine they were first recorded on.
    assert again["builds"][name]["recorded_on"]["cpu"] != "another CPU"
    write_random_log(spec, tmp_path / "other", seed=1)  # Another build: not its measurement.
    rebuilt = reference_builds.record(tmp_path / "other")
    assert "competence" not in rebuilt["builds"][name]
    assert rebuilt["builds"][name]["recorded_on"] == elsewhere


def test_competence_measured_on_another_build_is_refused(tmp_path, monkeypatch):
    name = "rlu_bsuite/catch_noise0_run1"
    spec = tiny_spec(name, num_steps=30)
    write_random_log(spec, tmp_path)
    monkeypatch.setattr(registry, "datasets", lambda builder=None: [spec])
    monkeypatch.setattr(reference_builds.registry, "get_dataset", lambda n: spec)
    monkeypatch.setattr(reference_builds, "_package_file", lambda: tmp_path / "refs.json")
    digest = reference_builds.local_digest(name, tmp_path)
    assert digest == reference_builds.describe(paths.raw_dir(spec, tmp_path))["manifest_sha256"]
    assert reference_builds.local_digest(name, tmp_path / "nothing") is None
    how = "best checkpoint of the behaviour run (raw-log manifest sha256 {})"
    with pytest.raises(ValueError, match=f"measured on build 0123456789abcdef, not on the "
                                         f"build being recorded \\({digest[:16]}\\)"):
        reference_builds.record(tmp_path, competence={
            name: {"greedy_return": 1.0, "how": how.format("0123456789abcdef")}})
    assert not (tmp_path / "refs.json").exists()  # Nothing recorded.
    doc = reference_builds.record(tmp_path, competence={
        name: {"greedy_return": 1.0, "how": how.format(digest[:16])}})
    assert doc["builds"][name]["competence"]["greedy_return"] == 1.0


def test_record_command_takes_the_competence_of_the_builds_under_its_data_dir(
        tmp_path, monkeypatch, capsys):
    name = "rlu_bsuite/catch_noise0_run0"
    spec = tiny_spec(name, num_steps=30)
    write_random_log(spec, tmp_path)
    monkeypatch.setattr(registry, "datasets", lambda builder=None: [spec])
    monkeypatch.setattr(reference_builds, "_package_file", lambda: tmp_path / "refs.json")
    digest = reference_builds.describe(paths.raw_dir(spec, tmp_path))["manifest_sha256"]
    candidate = {"value": 1.0, "how": f"best checkpoint (raw-log manifest sha256 {digest[:16]})"}
    references = {"tasks": {task: {"expert": {"candidates": [candidate]}}
                            for task in ("bsuite/catch", "bsuite/cartpole")}}
    (tmp_path / "references.json").write_text(json.dumps(references))
    # cartpole's run is not built here: its competence is left out, catch's recorded.
    assert cli.main(["datasets", "record", "--data-dir", str(tmp_path),
                     "--references", str(tmp_path / "references.json")]) == 0
    assert "competence=reached" in capsys.readouterr().out
    recorded = json.loads((tmp_path / "refs.json").read_text())["builds"][name]
    assert recorded["competence"]["greedy_return"] == 1.0
    # Measured on another build of the run: said, and not recorded with this one.
    candidate["how"] = "best checkpoint (raw-log manifest sha256 0123456789abcdef)"
    (tmp_path / "references.json").write_text(json.dumps(references))
    write_random_log(spec, tmp_path / "other", seed=1)
    assert cli.main(["datasets", "record", "--data-dir", str(tmp_path / "other"),
                     "--references", str(tmp_path / "references.json")]) == 0
    out = capsys.readouterr().out
    assert f"{name}: competence not recorded: measured on build 0123456789abcdef" in out
    assert "competence" not in json.loads((tmp_path / "refs.json").read_text())["builds"][name]


def test_host_names_the_features_ynnpack_dispatches_on(monkeypatch):
    here = reference_builds.host()
    assert set(here) == {"machine", "cpu", "kernel_features", "jaxlib"}
    if here["kernel_features"] is not None:  # Linux: listed in KERNEL_FEATURES' order.
        assert here["kernel_features"] == [f for f in reference_builds.KERNEL_FEATURES
                                           if f in here["kernel_features"]]
    monkeypatch.setattr(reference_builds, "CPUINFO", "/nonexistent/cpuinfo")
    assert reference_builds.host()["kernel_features"] is None  # No /proc/cpuinfo.


@pytest.mark.slow
def test_rebuild_matches_the_recorded_reference(tmp_path):
    """Cross-machine determinism: regenerate a recorded dataset and compare digests."""
    from rl_unplugged import generation

    name = "rlu_bsuite/catch_noise0_run0"
    if name not in reference_builds.load():
        pytest.fail(f"{name} has no recorded reference build")
    generation.generate(registry.get_dataset(name), tmp_path)
    ok, message = reference_builds.verify(name, tmp_path)
    assert ok, message
    assert paths.raw_dir(registry.get_dataset(name), tmp_path).exists()


def test_build_note_compares_a_log_with_the_recorded_build(monkeypatch):
    monkeypatch.setattr(reference_builds, "load",
                        lambda: {"rlu_x/a_noise0_run0": {"manifest_sha256": "ab" * 32}})
    assert reference_builds.build_note("rlu_x/a_noise0_run0", "ab" * 32) == (
        "; the dataset's recorded build")
    assert reference_builds.build_note("rlu_x/a_noise0_run0", "cd" * 32) == (
        "; a rebuild, not the dataset's recorded build (sha256 " + "ab" * 8 + ")")
    assert "no recorded build" in reference_builds.build_note("rlu_x/b_noise0_run0", "ab" * 32)
