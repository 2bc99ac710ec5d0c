import json
import shutil

import numpy as np
import pytest

from rl_unplugged import checkpointing, paths
from rl_unplugged.data import fields as F
from rl_unplugged.errors import CorruptDataError, IncompatibleError
from rl_unplugged.generation import (
    best_checkpoint,
    best_checkpoint_greedy,
    generate,
    greedy_policy,
    load_checkpoint,
)
from tests.generation.helpers import assert_same_data, columns, tiny_spec, tiny_task


@pytest.fixture(scope="module")
def replay_log(tmp_path_factory):
    return generate(tiny_spec(noise=0.3), tmp_path_factory.mktemp("a"), shard_transitions=150)


def test_same_spec_gives_identical_logs_whatever_the_sharding(replay_log, tmp_path):
    other = generate(tiny_spec(noise=0.3), tmp_path, shard_transitions=10_000)
    assert len(replay_log.manifest["shards"]) > 1 and len(other.manifest["shards"]) == 1
    assert_same_data(replay_log, other)


def test_episode_ids_are_contiguous_and_no_episode_is_cut(replay_log):
    eps = replay_log.episodes_table()
    n = len(eps[F.EPISODE_ID])
    np.testing.assert_array_equal(eps[F.EPISODE_ID], np.arange(n))
    total = int(eps[F.EPISODE_LENGTH].sum())
    assert total == replay_log.num_transitions >= 600
    assert total - eps[F.EPISODE_LENGTH][-1] < 600  # Stopped after the crossing episode.
    assert (eps[F.RUN] == 0).all() and (eps[F.NOISE] == 0.3).all()
    cols = columns(replay_log)
    # Catch episodes are 9 steps long and end in a terminal state.
    assert (eps[F.EPISODE_LENGTH] == 9).all() and cols[F.IS_TERMINAL].sum() == n
    np.testing.assert_array_equal(np.bincount(cols[F.EPISODE_ID]), eps[F.EPISODE_LENGTH] + 1)


def test_action_replaced_is_consistent(replay_log):
    cols = columns(replay_log)
    live = ~cols[F.IS_LAST]
    replaced = cols[F.ACTION_REPLACED][live]
    action, agent = cols[F.ACTION][live], cols[F.AGENT_ACTION][live]
    np.testing.assert_array_equal(action[~replaced], agent[~replaced])
    assert (action[replaced] != agent[replaced]).mean() == pytest.approx(2 / 3, abs=0.15)
    assert not cols[F.ACTION_REPLACED][~live].any()


def test_greedy_action_is_the_argmax_not_the_epsilon_greedy_choice(replay_log):
    # Issue 8 defect 6: `greedy_action` held the epsilon-greedy pick. Now that pick is
    # `agent_action`, and `greedy_action` is the argmax: they differ exactly on the
    # exploring steps (epsilon 1 early in the run: uniform picks, 2 of 3 differ) and
    # agree once epsilon has decayed to its floor.
    cols = columns(replay_log)
    live = ~cols[F.IS_LAST]
    agent, greedy = cols[F.AGENT_ACTION][live], cols[F.GREEDY_ACTION][live]
    cfg = replay_log.manifest["generation"]["behaviour"]
    early = slice(0, min(200, cfg["epsilon_decay_steps"] // 4))
    assert (agent[early] != greedy[early]).mean() > 0.4
    assert ((greedy >= 0) & (greedy < 3)).all()
    late = agent[cfg["epsilon_decay_steps"]:] != greedy[cfg["epsilon_decay_steps"]:]
    assert late.mean() <= cfg["epsilon_end"] + 0.05


def test_noise_rate_matches_p_on_a_large_sample(tmp_path):
    log = generate(tiny_spec(noise=0.2, num_steps=3000), tmp_path)
    cols = columns(log)
    replaced = cols[F.ACTION_REPLACED][~cols[F.IS_LAST]]
    # 4 standard errors of a Bernoulli(0.2) mean over >= 3000 draws: 0.029.
    assert abs(replaced.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / len(replaced))
    quiet = generate(tiny_spec(noise=0.0), tmp_path)
    assert not columns(quiet)[F.ACTION_REPLACED].any()


def test_checkpoints_are_registered_with_their_episode_ranges(replay_log):
    ckpts = replay_log.manifest["checkpoints"]
    eps = replay_log.episodes_table()
    n = len(eps[F.EPISODE_ID])
    assert [c["index"] for c in ckpts] == list(range(len(ckpts)))
    assert ckpts[0]["first_episode"] == 0 and ckpts[-1]["last_episode"] == n - 1
    lengths = np.cumsum(eps[F.EPISODE_LENGTH])
    for k, c in enumerate(ckpts):
        if k:
            assert c["first_episode"] == ckpts[k - 1]["last_episode"] + 1
        if k < len(ckpts) - 1:
            assert (c["last_episode"] + 1) % 15 == 0
        played = eps[F.CHECKPOINT][c["first_episode"]:c["last_episode"] + 1]
        assert (played == k - 1).all()
        assert c["env_steps"] == lengths[c["last_episode"]]
        # One SGD step at every 4th environment step t >= min_replay_size (50).
        assert c["sgd_steps"] == sum(t >= 50 and t % 4 == 0 for t in range(1, c["env_steps"] + 1))
    assert replay_log.manifest["summary"]["num_checkpoints"] == len(ckpts)


def test_load_checkpoint_and_greedy_policy(replay_log):
    module, params, info = load_checkpoint(replay_log.directory)
    assert info["index"] == len(replay_log.manifest["checkpoints"]) - 1
    first = load_checkpoint(replay_log.directory, 0)[2]
    assert first["index"] == 0
    task = tiny_task()
    obs = columns(replay_log)[F.OBSERVATION][:7]
    act = greedy_policy(task, params, task.behaviour.hidden)
    actions = act(obs)
    assert actions.shape == (7,) and actions.dtype == np.int32
    q = np.asarray(module.apply(params, obs).values)
    np.testing.assert_array_equal(actions, q.argmax(-1))
    with pytest.raises(IndexError, match="no checkpoint 99"):
        load_checkpoint(replay_log.directory, 99)


@pytest.mark.parametrize("damage, error, message", [
    ("flip", CorruptDataError, "checksum mismatch"),
    ("truncate", CorruptDataError, "checksum mismatch"),
    ("delete", CorruptDataError, "missing"),
    ("garbage", CorruptDataError, "not a readable checkpoint"),
    ("other_config", IncompatibleError, "another configuration"),
])
def test_damaged_behaviour_checkpoint_is_named(replay_log, tmp_path, damage, error, message):
    log = tmp_path / "log"
    shutil.copytree(replay_log.directory, log)
    info = replay_log.manifest["checkpoints"][0]
    path = log / info["file"]
    data = path.read_bytes()
    if damage == "flip":
        path.write_bytes(data[:-3] + bytes([data[-3] ^ 0x10]) + data[-2:])
    elif damage == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "delete":
        path.unlink()
    else:  # A file the manifest vouches for, that is not this network's params.
        if damage == "garbage":
            data = b"\x01\x02not msgpack params"
        else:
            data = checkpointing.to_bytes({"params": {"Dense_0": {"kernel": np.zeros((2, 2))}}})
        path.write_bytes(data)
        manifest = json.loads((log / "manifest.json").read_text())
        manifest["checkpoints"][0]["sha256"] = checkpointing.sha256(data)
        (log / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(error, match=f"{info['file']}: .*{message}"):
        load_checkpoint(log, 0)


def test_random_level(tmp_path):
    log = generate(tiny_spec("random", num_steps=3000), tmp_path)
    cols, eps = columns(log), log.episodes_table()
    live = ~cols[F.IS_LAST]
    counts = np.bincount(cols[F.ACTION][live], minlength=3) / live.sum()
    np.testing.assert_allclose(counts, 1 / 3, atol=0.04)
    np.testing.assert_array_equal(cols[F.AGENT_ACTION], cols[F.ACTION])
    assert (cols[F.GREEDY_ACTION][live] == -1).all()  # A random policy has no argmax.
    assert not cols[F.ACTION_REPLACED].any() and (eps[F.CHECKPOINT] == -1).all()
    assert log.manifest["checkpoints"] == []
    again = generate(tiny_spec("random", num_steps=3000), tmp_path / "again")
    assert_same_data(log, again)
    with pytest.raises(IndexError, match="no behaviour checkpoints"):
        load_checkpoint(log.directory)


def test_expert_level_plays_the_best_checkpoint_greedily(tmp_path):
    log = generate(tiny_spec("expert", num_steps=300), tmp_path)
    source = paths.raw_dir(tiny_spec("replay"), tmp_path)
    assert (source / "manifest.json").exists()  # Generated first, in the same data_dir.
    task = tiny_task()
    # Issue 8 defect 1: the expert is the checkpoint with the best greedy return on
    # held-out seeds, not the one whose logged (learning, exploring) episodes scored best.
    best, means = best_checkpoint_greedy(source, task)
    assert means[best] == max(means.values())
    _, params, info = load_checkpoint(source, sorted(means).index(best))
    cols, eps = columns(log), log.episodes_table()
    assert (eps[F.CHECKPOINT] == info["index"]).all() and info["index"] == best
    live = ~cols[F.IS_LAST]
    expected = greedy_policy(task, params, task.behaviour.hidden)(cols[F.OBSERVATION][live])
    np.testing.assert_array_equal(cols[F.ACTION][live], expected)
    np.testing.assert_array_equal(cols[F.GREEDY_ACTION][live], expected)
    np.testing.assert_array_equal(cols[F.AGENT_ACTION][live], expected)
    summary = log.manifest["summary"]
    assert summary["expert_mean_return"] == pytest.approx(eps[F.EPISODE_RETURN].mean())
    assert summary["checkpoint"] == info["index"]
    selection = log.manifest["generation"]["expert"]["selection"]
    assert selection["greedy_means"] == {str(k): v for k, v in means.items()}


def test_complete_log_returns_at_once(replay_log):
    calls = []
    again = generate(tiny_spec(noise=0.3), replay_log.directory.parents[2],
                     progress=calls.append)
    assert calls == [replay_log.num_transitions]
    assert again.manifest == replay_log.manifest


def test_best_checkpoint_by_logged_return_hand_computed(tmp_path):
    from rl_unplugged.data.episode import Episode
    from rl_unplugged.data.raw_log import RawLogWriter

    # (checkpoint acting, return): ckpt 0 mean 2, ckpt 1 mean 5 over 2 episodes, ckpt 2 mean
    # 9 but in one episode only (below the floor of 2), ckpt 3 mean 5 (ties with 1 -> later).
    plan = [(-1, 9.0), (0, 1.0), (0, 3.0), (1, 4.0), (1, 6.0), (2, 9.0), (3, 5.0), (3, 5.0)]
    w = RawLogWriter.open(tmp_path, dataset="x", observation_shape=(1,),
                          observation_dtype="float32", generation={})
    for i, (ckpt, ret) in enumerate(plan):
        w.add(Episode.from_rollout(observations=np.zeros((2, 1), np.float32),
                                   actions=np.zeros(1), rewards=np.array([ret]), terminated=True,
                                   metadata={F.EPISODE_ID: i, F.CHECKPOINT: ckpt}))
    w.finalize()
    assert best_checkpoint(tmp_path, min_episodes=2) == 3
    assert best_checkpoint(tmp_path, min_episodes=1) == 2


def test_best_checkpoint_falls_back_to_the_final_one(tmp_path):
    # Few long episodes: only the final checkpoint exists and it never acted.
    log = generate(tiny_spec(num_steps=60).replace(
        task=tiny_task(checkpoint_every_episodes=10_000)), tmp_path)
    (final,) = log.manifest["checkpoints"]
    assert (log.episodes_table()[F.CHECKPOINT] == -1).all()
    assert best_checkpoint(log.directory) == final["index"]
