"""The whole Atari path on a tiny logged dataset: ALE episodes, written in RL Unplugged's
Atari schema, read into the store, a Nature-CNN DQN trained a few updates, evaluated under
the game's protocol (2 episodes, a test-only 6-step cap) and submitted to its track."""

import dataclasses

import numpy as np
import pytest

from rl_unplugged import envs, registry, training
from rl_unplugged.data import imported, loader, uri
from rl_unplugged.data.rlu_atari import RegisteredAtariSource
from rl_unplugged.errors import IncompatibleError, UnknownNameError
from rl_unplugged.evaluation import atari_references, evaluator
from rl_unplugged.evaluation import protocols as P
from rl_unplugged.leaderboard import board, validation

tf = pytest.importorskip("tensorflow")
from tests.data.test_rlu_originals import _bytes, _floats, _ints, _pngs, _write  # noqa: E402

CAP = 6  # Test-only episode cap (the protocol's is 27,000 steps).
FIRST_ID = 2**63 + 11  # Episode ids are uint64, stored bit-cast to int64.


def log_episodes(task, num, seed=0):
    """Random play of `num` episodes: [(observations (T + 1, 84, 84, 4), actions (T,),
    rewards (T,), terminated)]."""
    env, rng = envs.make(task), np.random.default_rng(seed)
    episodes = []
    for i in range(num):
        obs, actions, rewards = [env.reset(1000 + i)], [], []
        while True:
            actions.append(int(rng.integers(task.num_actions)))
            ts = env.step(actions[-1])
            obs.append(ts.observation)
            rewards.append(ts.reward)
            if ts.last:
                break
        episodes.append((np.stack(obs), np.asarray(actions), np.asarray(rewards, np.float32),
                         ts.terminated))
    return episodes


def write_rlu_atari(prefix, episodes):
    """One shard `<prefix>-00000-of-00001` in RL Unplugged's Atari transition schema."""
    examples = []
    for i, (obs, actions, rewards, terminated) in enumerate(episodes):
        eid = np.uint64(FIRST_ID + i).view(np.int64)
        for k in range(len(actions)):
            last = k == len(actions) - 1
            examples.append({
                "o_t": _bytes(_pngs(obs[k])), "o_tp1": _bytes(_pngs(obs[k + 1])),
                "a_t": _ints([actions[k]]), "a_tp1": _ints([0 if last else actions[k + 1]]),
                "r_t": _floats([rewards[k]]),
                "d_t": _floats([0.0 if terminated and last else 1.0]),
                "episode_id": _ints([eid]), "episode_return": _floats([rewards.sum()])})
    prefix.parent.mkdir(parents=True, exist_ok=True)
    _write(f"{prefix}-00000-of-00001", examples)


def test_a_tiny_logged_atari_dataset_trains_evaluates_and_submits(tmp_path, monkeypatch):
    registered = registry.get_task("atari/pong")
    task = dataclasses.replace(registered, max_episode_steps=CAP)
    monkeypatch.setitem(registry.TASKS, task.id, task)  # The environment's cap only.

    episodes = log_episodes(task, 3)
    write_rlu_atari(tmp_path / "rlu" / "Pong" / "run_1", episodes)
    # As `rlu datasets import rlu-gcs:<root>/Pong/run_1 --task atari/pong --as ...` does.
    source = uri.open_source(f"rlu-gcs:{tmp_path / 'rlu' / 'Pong' / 'run_1'}", task=task)
    assert isinstance(source, RegisteredAtariSource)
    assert source.task == task and source.name == "rlu_atari/Pong_run_1"
    store = imported.import_source(source, source.name, tmp_path / "data")
    assert imported.store_task(store) == task  # Recorded by id: the registered task.
    data = loader.load_transitions(source.name, tmp_path / "data")
    assert data.size == 3 * CAP and data.observation.dtype == np.uint8
    np.testing.assert_array_equal(data.observation[:CAP], episodes[0][0][:-1])
    np.testing.assert_array_equal(data.next_observation[CAP - 1], episodes[0][0][-1])
    np.testing.assert_array_equal(data.action, np.concatenate([e[1] for e in episodes]))
    np.testing.assert_array_equal(data.reward, np.concatenate([e[2] for e in episodes]))
    assert data.truncated[CAP - 1] and data.discount.min() == 1.0  # Capped, not ended.
    np.testing.assert_array_equal(
        store.episodes().metadata["source_episode_id"].view(np.uint64),
        [FIRST_ID, FIRST_ID + 1, FIRST_ID + 2])

    run = tmp_path / "run"
    training.train("dqn", data, task, steps=2, config={"hidden": (8,), "batch_size": 4},
                   seeds=(0, 1, 2), out_dir=run, dataset=source.name, log_every=1,
                   probe_every=None, checkpoint_every=None, make_plots=False)

    # The game's protocol (settings of the registered task, references published), with
    # 2 evaluation episodes instead of 100.
    protocol = P.make_protocol(P.settings(registered, num_episodes=2),
                               atari_references.published_references(task.id))
    assert protocol.content["environment"]["max_episode_steps"] == 27_000
    results = []
    for member in range(3):
        policy = evaluator.load_run_policy(run, member=member, protocol=protocol)
        assert policy.dataset == "rlu_atari/Pong_run_1"
        result = evaluator.evaluate(policy, protocol, datasets=[source.name], num_envs=2)
        assert result["lengths"] == [CAP, CAP] and len(result["returns"]) == 2
        results.append(result)

    submission = board.submission_template(
        {task.id: protocol}, "atari/pong", "Tiny Nature-CNN DQN",
        {task.id: [r["returns"] for r in results]}, datasets={task.id: [source.name]})
    assert validation.validate(submission, protocols={task.id: protocol}) == submission
    with pytest.raises(validation.SubmissionError, match="not allowed"):
        bad = {**submission, "results": {task.id: {**submission["results"][task.id],
                                                   "datasets": ["rlu_atari/Breakout_run_1"]}}}
        validation.validate(bad, protocols={task.id: protocol})


def test_a_game_rl_unplugged_lacks_or_another_game_s_task_is_refused(tmp_path):
    with pytest.raises(UnknownNameError, match="Atari game 'Tetris'"):
        RegisteredAtariSource(str(tmp_path / "Tetris" / "run_1"))
    with pytest.raises(IncompatibleError, match="holds atari/pong, not atari/breakout"):
        uri.open_source(f"rlu-gcs:{tmp_path / 'Pong' / 'run_1'}",
                        task=registry.get_task("atari/breakout"))


def test_the_atari_track_validates_and_aggregates_human_normalised_scores(tmp_path):
    tasks = registry.track_tasks("atari")
    protocols = {t: P.make_protocol(P.settings(t, num_episodes=2),
                                    atari_references.published_references(t)) for t in tasks}
    human = {t: protocols[t].references["expert"]["value"] for t in tasks}
    runs = {t: [[human[t]] * 2] * 3 for t in tasks}  # Human play: normalised score 1.
    sub = board.submission_template(protocols, "atari", "Human-level", runs)
    validation.validate(sub, protocols=protocols)
    root = tmp_path / "board"
    (root / "submissions").mkdir(parents=True)
    (root / "submissions" / "human.json").write_text(board.dumps(sub))
    built = board.build_board(root, protocols=protocols, reps=20, plots=False)
    track = next(t for t in built["tracks"] if t["track"] == "atari")
    assert not track["pending"] and len(track["tasks"]) == 36
    assert track["estimates"]["Human-level"]["IQM"][0] == pytest.approx(1.0)
