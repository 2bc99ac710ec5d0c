"""RL Unplugged's DM Locomotion and bsuite sequence files, written here in their exact
schema with TensorFlow, read back through the door: every field, the chaining of
overlapping windows, the alignment, and errors naming the file and the field."""

import gzip

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.data import store as S
from rl_unplugged.data import uri
from rl_unplugged.data.rlu_originals_sequences import (
    BsuiteSource,
    LocomotionSource,
    episode_end,
    overlap,
)
from rl_unplugged.errors import ConfigError, CorruptDataError, UnknownNameError
from tests.data.test_rlu_originals import _bytes, _floats, _ints, _write

tf = pytest.importorskip("tensorflow")

SPEC = registry.get_original_task("rodent_mazes", "dm_locomotion")
CAMERA = "walker/egocentric_camera"


def _proprio(t):
    """Step t's proprio observation: key j, entry i holds t + j / 16 + i / 1024."""
    return {k: (t + j / 16 + np.arange(s[0]) / 1024).astype(np.float32)
            for j, (k, s) in enumerate(SPEC.observation_keys)}


def _camera(t):
    return ((t + np.arange(64 * 64 * 3)) % 256).astype(np.uint8).reshape(64, 64, 3)


def _action(t):
    return (np.arange(38) / 100 - 0.2 + (t % 5) / 10).astype(np.float32)


def _step(t, step_type, discount=1.0):
    """Step t: (observation, action, reward t / 4, discount, step_type); a LAST step
    has zero action, reward and discount (acme's final step)."""
    last = step_type == 2
    return {"obs": _proprio(t), "camera": _camera(t),
            "action": np.zeros(38, np.float32) if last else _action(t),
            "reward": 0.0 if last else t / 4, "discount": 0.0 if last else discount,
            "step_type": step_type}


PAD = {"obs": {k: np.zeros(s, np.float32) for k, s in SPEC.observation_keys},
       "camera": np.zeros((64, 64, 3), np.uint8), "action": np.zeros(38, np.float32),
       "reward": 0.0, "discount": 0.0, "step_type": 0}


def _episode(start, length, terminal):
    """Steps start..start+length (length transitions, the last step LAST)."""
    steps = [_step(start + k, 0 if k == 0 else 1,
                   0.0 if terminal and k == length - 1 else 1.0) for k in range(length)]
    return steps + [_step(start + length, 2)]


def _example(steps, drop=(), camera_bytes=None):
    features = {f"observation/{k}": _floats([s["obs"][k] for s in steps])
                for k, _ in SPEC.observation_keys}
    features[f"observation/{CAMERA}"] = _bytes(
        [camera_bytes or s["camera"].tobytes() for s in steps])
    features.update({"action": _floats([s["action"] for s in steps]),
                     "reward": _floats([s["reward"] for s in steps]),
                     "discount": _floats([s["discount"] for s in steps]),
                     "step_type": _floats([s["step_type"] for s in steps])})
    return {k: v for k, v in features.items() if k not in drop}


def _windows(steps, length=40, period=20):
    """acme's sequence adder: windows every `period` steps, padded after the end; the
    last window starts before the episode's last step."""
    out = []
    for start in range(0, len(steps) - 1, period):
        part = steps[start:start + length]
        out.append(part + [PAD] * (length - len(part)))
    return out


def write_locomotion(root, **kwargs):
    """Episode A: 69 transitions, time limit (windows at 0, 20, 40, 60: the last two
    padded, the last one only repeats A's end); B: 44 transitions, terminated; C: a
    window starting mid-episode at step 500 with no end in this file (a piece)."""
    d = root / "dm_locomotion" / "rodent_mazes" / "seq40"
    d.mkdir(parents=True, exist_ok=True)
    a, b = _episode(0, 69, False), _episode(100, 44, True)
    c = [_step(500 + k, 1) for k in range(40)]
    windows = _windows(a) + _windows(b) + [c]
    _write(d / "train-00000-of-00001", [_example(w, **kwargs) for w in windows])
    return d, (a, b, c)


def _flat(t, camera=False):
    parts = [_proprio(t)[k] for k, _ in SPEC.observation_keys]
    return np.concatenate(parts + ([_camera(t).reshape(-1).astype(np.float32)] if camera
                                   else []))


@pytest.mark.parametrize("camera", [False, True], ids=["proprio", "camera"])
def test_locomotion_overlapping_windows_chain_into_episodes(tmp_path, camera):
    d, _ = write_locomotion(tmp_path)
    source = uri.open_source(f"rlu-gcs:{d}") if not camera else LocomotionSource(
        str(d), camera=True)
    assert isinstance(source, LocomotionSource)
    assert source.name == "rlu_locomotion/rodent_mazes_seq40"
    keys = source.task.observation_keys
    assert keys[:len(SPEC.observation_keys)] == SPEC.observation_keys
    assert (keys[-1] == (CAMERA, (64, 64, 3))) == camera
    assert source.task.action.shape == (38,) and source.task.action.minimum == (-1.0,) * 38
    data = S.materialize(source, tmp_path / "store").transitions()
    times = [*range(69), *range(100, 144), *range(500, 539)]
    assert data.size == len(times) == 69 + 44 + 39
    np.testing.assert_array_equal(data.observation, np.stack([_flat(t, camera) for t in times]))
    np.testing.assert_array_equal(data.next_observation,
                                  np.stack([_flat(t + 1, camera) for t in times]))
    np.testing.assert_array_equal(data.action, np.stack([_action(t) for t in times]))
    np.testing.assert_array_equal(data.reward, np.asarray(times, np.float32) / 4)
    ends = np.zeros(len(times), bool)
    ends[[68, 68 + 44, len(times) - 1]] = True
    np.testing.assert_array_equal(data.discount, np.where(np.arange(len(times)) == 112, 0, 1))
    np.testing.assert_array_equal(data.truncated, ends & (np.arange(len(times)) != 112))
    np.testing.assert_array_equal(data.episode_id, [0] * 69 + [1] * 44 + [2] * 39)
    np.testing.assert_array_equal(data.step, [*range(69), *range(44), *range(39)])


def test_windows_overlap_and_end_by_step_type_or_zero_discount():
    def window(obs, step_type, discount=None):
        n = len(obs)
        return {"observation": {"x": np.asarray(obs, float)}, "action": np.zeros(n),
                "reward": np.zeros(n), "step_type": np.asarray(step_type),
                "discount": np.ones(n) if discount is None else np.asarray(discount, float)}

    before = window([1, 2, 3, 4], [0, 1, 1, 1])
    assert overlap(before, window([3, 4, 5, 6], [1, 1, 1, 1])) == 2
    assert overlap(before, window([4, 5], [1, 1])) == 1
    assert overlap(before, window([4, 5], [0, 1])) == 0  # FIRST: a new episode.
    assert overlap(before, window([5, 6], [1, 1])) == 0  # No shared step.
    assert overlap(before, window([3, 9], [1, 1])) == 0  # o=3 shared, o=4 not: no chain.
    assert episode_end(window([1, 2, 3], [0, 1, 2])) == 2
    assert episode_end(window([1, 2, 3, 0], [0, 1, 1, 0], [1, 0, 1, 0])) == 2
    assert episode_end(window([1, 2, 3], [0, 1, 1])) is None


def test_locomotion_errors_name_the_file_and_field(tmp_path):
    d, _ = write_locomotion(tmp_path, drop=("observation/walker/joints_vel",))
    with pytest.raises(CorruptDataError,
                       match=r"train-00000-of-00001: field 'observation/walker/joints_vel' "
                             r"missing"):
        list(LocomotionSource(str(d)).iter_episodes())
    d, _ = write_locomotion(tmp_path, camera_bytes=b"\0" * 100)
    list(LocomotionSource(str(d)).iter_episodes())  # The camera is not read by default.
    with pytest.raises(CorruptDataError, match=r"train-00000-of-00001: field "
                                               r"'observation/walker/egocentric_camera' holds "
                                               r"\[100\] bytes per step, expected 12288"):
        list(LocomotionSource(str(d), camera=True).iter_episodes())
    shard = d / "train-00000-of-00001"
    write_locomotion(tmp_path)
    shard.write_bytes(gzip.decompress(shard.read_bytes()))  # Not GZIP any more.
    with pytest.raises(CorruptDataError, match=r"train-00000-of-00001: corrupted or truncated"):
        list(LocomotionSource(str(d)).iter_episodes())
    write_locomotion(tmp_path)
    shard.write_bytes(shard.read_bytes()[:-50])
    with pytest.raises(CorruptDataError, match=r"train-00000-of-00001: corrupted or truncated"):
        list(LocomotionSource(str(d)).iter_episodes())
    with pytest.raises(UnknownNameError, match="did you mean rodent_mazes"):
        uri.open_source(f"rlu-gcs:{tmp_path / 'dm_locomotion' / 'rodent_maze' / 'seq40'}")
    with pytest.raises(ConfigError, match=r"seq<L>"):
        LocomotionSource(str(tmp_path / "dm_locomotion" / "rodent_mazes"))


# ------------------------------------------------------------------------------- bsuite


def _catch_obs(t):
    return (np.arange(50).reshape(10, 5) == t % 50).astype(np.float32)


def write_bsuite(root, env="catch", action_feature=None, compression="GZIP"):
    """Two catch episodes as SARS windows: A (9 transitions, terminated, reward 1 at its
    end; actions t % 3) and B (3 transitions, the file ends before its end: a piece)."""
    d = root / "bsuite" / env / "0_0.1"
    d.mkdir(parents=True, exist_ok=True)
    shape = registry.get_task(registry.RLU_BSUITE[env]).observation.shape

    def obs(t):
        return np.resize(_catch_obs(t), shape)

    def step(t, step_type, reward, discount):
        return (obs(t), 0 if step_type == 2 else t % 3, reward, discount, step_type)

    a = [step(t, 0 if t == 0 else 1, 1.0 if t == 8 else 0.0, 0.0 if t == 8 else 1.0)
         for t in range(9)] + [step(9, 2, 0.0, 0.0)]
    b = [step(20 + t, 0 if t == 0 else 1, 0.0, 1.0) for t in range(4)]
    examples = []
    for steps in (a, b):
        for pair in zip(steps[:-1], steps[1:], strict=True):
            examples.append({
                "observation": _floats([p[0] for p in pair]),
                "action": action_feature([p[1] for p in pair]) if action_feature else
                _ints([p[1] for p in pair]),
                "reward": _floats([p[2] for p in pair]), "discount": _floats([p[3] for p in pair]),
                "episodic_reward": _floats([0.0, 0.0]), "step_type": _ints([p[4] for p in pair])})
    _write(d / "0_full-00000-of-00001", examples, compression)
    return d / "0_full", obs


def test_bsuite_sars_windows_become_the_registered_task(tmp_path):
    prefix, obs = write_bsuite(tmp_path)
    source = uri.open_source(f"rlu-gcs:{prefix}")
    assert isinstance(source, BsuiteSource) and source.task.id == "bsuite/catch"
    assert source.name == "rlu_bsuite_original/catch_0_0.1"
    data = S.materialize(source, tmp_path / "store").transitions()
    times = [*range(9), *range(20, 23)]
    np.testing.assert_array_equal(data.observation, np.stack([obs(t) for t in times]))
    np.testing.assert_array_equal(data.next_observation, np.stack([obs(t + 1) for t in times]))
    np.testing.assert_array_equal(data.action, [t % 3 for t in times])
    np.testing.assert_array_equal(data.reward, [0] * 8 + [1] + [0] * 3)
    np.testing.assert_array_equal(data.discount, [1] * 8 + [0] + [1] * 3)
    np.testing.assert_array_equal(data.truncated, [0] * 11 + [1])
    np.testing.assert_array_equal(data.episode_id, [0] * 9 + [1] * 3)


def test_bsuite_time_limit_end_stays_truncated(tmp_path):
    """The colab zeroes the discount into every LAST step; a LAST with discount 1 (the
    time limit) stays a truncation here."""
    d = tmp_path / "bsuite" / "cartpole" / "0_0.0"
    d.mkdir(parents=True)
    o = [np.full((1, 6), t, np.float32) for t in range(3)]
    _write(d / "0_full-00000-of-00001", [
        {"observation": _floats(o[:2]), "action": _ints([1, 2]), "reward": _floats([1, 1]),
         "discount": _floats([1, 1]), "step_type": _ints([0, 1])},
        {"observation": _floats(o[1:]), "action": _ints([2, 0]), "reward": _floats([1, 0]),
         "discount": _floats([1, 0]), "step_type": _ints([1, 2])}])
    data = S.materialize(BsuiteSource(str(d / "0_full")), tmp_path / "store").transitions()
    np.testing.assert_array_equal(data.action, [1, 2])
    np.testing.assert_array_equal(data.discount, [1, 1])
    np.testing.assert_array_equal(data.truncated, [0, 1])


def test_bsuite_errors_name_the_file_and_field(tmp_path):
    prefix, _ = write_bsuite(tmp_path, action_feature=_floats)  # Floats where int64 belongs.
    with pytest.raises(CorruptDataError, match=r"0_full-00000-of-00001: field 'action'"):
        list(BsuiteSource(str(prefix)).iter_episodes())
    prefix, _ = write_bsuite(tmp_path, compression="")
    with pytest.raises(CorruptDataError, match=r"0_full-00000-of-00001: corrupted or truncated"):
        list(BsuiteSource(str(prefix)).iter_episodes())
    with pytest.raises(UnknownNameError, match="did you mean catch"):
        BsuiteSource(str(tmp_path / "bsuite" / "catc" / "0_0.0" / "0_full"))


def test_locomotion_and_dmlab_shapes_are_the_original_loaders():
    cmu = registry.get_original_task("humanoid_walls", "dm_locomotion")
    assert cmu.observation_size == 56 + 3 + 3 + 56 + 3 + 1 + 3 + 12 and cmu.action_shape == (56,)
    assert SPEC.observation_size == 30 + 30 + 8 + 8 + 15 + 3 + 3 + 3 + 3 + 4
    assert SPEC.action_shape == (38,) and dict(SPEC.pixel_keys) == {CAMERA: (64, 64, 3)}
    assert {t.sequence_length for t in registry.RLU_LOCOMOTION.values()} == {2, 40}
    lab = registry.get_original_task("seekavoid_arena_01", "dmlab")
    assert (lab.sequence_length, lab.num_actions) == (301, 15)
    with pytest.raises(UnknownNameError, match="did you mean rodent_bowl_escape"):
        registry.get_original_task("rodent_escape", "dm_locomotion")
