"""D4RL-format HDF5 files through the one door: terminals, timeouts, next observations."""

import h5py
import numpy as np
import pytest

from rl_unplugged.data import store as S
from rl_unplugged.data import uri
from rl_unplugged.data.sources_d4rl import D4RLSource
from rl_unplugged.errors import CorruptDataError, UnknownNameError

# 8 rows: episode A rows 0-2 terminates; B rows 3-5 times out; C rows 6-7 has both
# flags on row 7 (a termination); nothing trails.
TERMINALS = np.array([0, 0, 1, 0, 0, 0, 0, 1], bool)
TIMEOUTS = np.array([0, 0, 0, 0, 0, 1, 0, 1], bool)


def write_d4rl(path, *, next_observations=True, drop=(), timeouts=TIMEOUTS, discrete=False):
    obs = np.arange(8 * 3, dtype=np.float32).reshape(8, 3)
    next_obs = np.concatenate([obs[1:], obs[:1]])
    next_obs[[2, 5, 7]] += 100  # Final observations, not the next episode's first.
    columns = {
        "observations": obs, "actions": np.linspace(-0.9, 0.9, 16, dtype=np.float32).reshape(8, 2),
        "rewards": np.arange(8, dtype=np.float32) / 10, "terminals": TERMINALS,
        "timeouts": timeouts, "next_observations": next_obs,
        "infos/qpos": np.zeros((8, 1)),
    }
    if discrete:
        columns["actions"] = np.array([0, 2, 1, 1, 0, 2, 2, 0], np.int64)
    if not next_observations:
        del columns["next_observations"]
    with h5py.File(path, "w") as f:
        for key, value in columns.items():
            if key not in drop:
                f.create_dataset(key, data=value)
    return columns


def test_d4rl_with_next_observations_keeps_every_row(tmp_path):
    cols = write_d4rl(tmp_path / "hopper.hdf5")
    source = uri.open_source(f"d4rl:{tmp_path / 'hopper.hdf5'}")
    assert isinstance(source, D4RLSource)
    assert source.task.id == "imported/hopper" and not source.task.is_discrete
    assert source.task.action.minimum == (-1.0, -1.0) and source.task.max_episode_steps == 3
    data = S.materialize(source, tmp_path / "store").transitions()
    np.testing.assert_array_equal(data.observation, cols["observations"])
    np.testing.assert_array_equal(data.next_observation, cols["next_observations"])
    np.testing.assert_array_equal(data.action, cols["actions"])
    np.testing.assert_allclose(data.reward, cols["rewards"])
    # Terminal rows (2 and 7: terminal wins over the timeout) get discount 0.
    np.testing.assert_array_equal(data.discount, [1, 1, 0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(data.truncated, [0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(data.episode_id, [0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(data.step, [0, 1, 2, 0, 1, 2, 0, 1])
    index = S.open_store(tmp_path / "store").episodes()
    np.testing.assert_array_equal(index.terminated, [True, False, True])


def test_d4rl_integer_actions_are_discrete(tmp_path):
    write_d4rl(tmp_path / "f.hdf5", discrete=True)
    source = D4RLSource(tmp_path / "f.hdf5")
    assert source.task.action.num_values == 3 and source.task.network == "mlp"
    data = S.materialize(source, tmp_path / "store").transitions()
    np.testing.assert_array_equal(data.action, [0, 2, 1, 1, 0, 2, 2, 0])
    assert data.action.dtype == np.int32


def test_d4rl_without_next_observations_drops_the_cut_row(tmp_path):
    cols = write_d4rl(tmp_path / "f.hdf5", next_observations=False)
    data = S.materialize(D4RLSource(tmp_path / "f.hdf5"), tmp_path / "store").transitions()
    kept = [0, 1, 2, 3, 4, 6, 7]  # Row 5 ends a timeout: its next observation is unknown.
    np.testing.assert_array_equal(data.observation, cols["observations"][kept])
    # Inside episodes the next row is the next observation; terminal rows repeat theirs.
    np.testing.assert_array_equal(data.next_observation,
                                  cols["observations"][[1, 2, 2, 4, 5, 7, 7]])
    np.testing.assert_array_equal(data.discount, [1, 1, 0, 1, 1, 1, 0])
    np.testing.assert_array_equal(data.truncated, [0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(data.episode_id, [0, 0, 0, 1, 1, 2, 2])


def test_d4rl_without_timeouts_ends_only_on_terminals_and_the_last_row(tmp_path):
    path = tmp_path / "f.hdf5"
    write_d4rl(path, drop=("timeouts", "next_observations"))
    data = S.materialize(D4RLSource(path), tmp_path / "store").transitions()
    # Rows 3-7 are one episode ending at its terminal row 7.
    np.testing.assert_array_equal(data.episode_id, [0, 0, 0, 1, 1, 1, 1, 1])
    assert not data.truncated.any()
    # With next_observations the missed time limit shows: the chain breaks at row 5.
    write_d4rl(path, drop=("timeouts",))
    with pytest.raises(CorruptDataError, match="next_observation of row 5 differs"):
        S.materialize(D4RLSource(path), tmp_path / "store")


def test_d4rl_next_observations_must_chain_inside_episodes(tmp_path):
    path = tmp_path / "f.hdf5"
    cols = write_d4rl(path)
    with h5py.File(path, "a") as f:
        f["next_observations"][3] = cols["next_observations"][3] + 1
    with pytest.raises(CorruptDataError, match="next_observation of row 3 differs from the "
                                               "observation of row 4"):
        S.materialize(D4RLSource(path), tmp_path / "store")


def test_d4rl_missing_or_ragged_fields_are_named(tmp_path):
    path = tmp_path / "f.hdf5"
    write_d4rl(path, drop=("rewards",))
    with pytest.raises(CorruptDataError, match=r"f\.hdf5: missing D4RL field\(s\) \['rewards'\]"):
        D4RLSource(path)
    write_d4rl(path, timeouts=TIMEOUTS[:5])
    with pytest.raises(CorruptDataError, match="field 'timeouts' has 5 rows"):
        D4RLSource(path)
    path.write_bytes(b"not hdf5")
    with pytest.raises(CorruptDataError, match="unreadable HDF5"):
        D4RLSource(path)


def test_unknown_schemes_list_the_valid_ones(tmp_path):
    with pytest.raises(UnknownNameError, match="tfds:..., minari:..., d4rl:..."):
        uri.open_source("hf:some/dataset")
    with pytest.raises(UnknownNameError, match="unknown source"):
        uri.open_source(str(tmp_path))
    assert uri.split_uri("tfds://rlu_bsuite/catch:train") == ("tfds", "rlu_bsuite/catch:train")
