import math

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.errors import UnknownNameError
from rl_unplugged.specs import DOMAINS as DOMAIN_NAMES
from rl_unplugged.specs import DatasetSpec, DomainSpec, RewardBounds


def test_every_domain_has_tasks_and_unique_names():
    assert set(registry.domains()) == {"bsuite", "minatar", "classic", "atari", "control",
                                       "mujoco"}
    assert len(registry.TASKS) == 11 + 46 + 9
    names = [d.name for d in registry.datasets()]
    assert len(names) == len(set(names))


def test_dataset_names_round_trip():
    spec = registry.get_dataset("rlu_bsuite/catch_noise10_run2")
    assert (spec.task.name, spec.level, spec.noise, spec.run) == ("catch", "replay", 0.1, 2)
    assert registry.get_dataset("rlu_bsuite/catch_noise10_run2:1.0.0") is spec
    assert registry.expert_source(registry.get_dataset("rlu_minatar/breakout_expert_run1")).name \
        == "rlu_minatar/breakout_noise0_run1"


def test_unknown_names_list_close_ones():
    with pytest.raises(KeyError, match="rlu_bsuite/catch_noise10_run0"):
        registry.get_dataset("rlu_bsuite/cach_noise10_run0")
    with pytest.raises(KeyError, match="bsuite/catch"):
        registry.get_task("bsuite/catc")


def test_invalid_noise_or_run_fails_before_any_work():
    task = registry.get_task("bsuite/catch")
    with pytest.raises(ValueError, match="invalid noise"):
        DatasetSpec(task=task, level="replay", noise=0.15, run=0, num_steps=10)
    with pytest.raises(ValueError, match="invalid run"):
        DatasetSpec(task=task, level="replay", noise=0.1, run=99, num_steps=10)


def test_seed_is_a_pure_function_of_the_config():
    a = registry.get_dataset("rlu_bsuite/catch_noise0_run0")
    b = registry.get_dataset("rlu_bsuite/catch_noise0_run1")
    assert a.seed == a.replace(num_steps=5).seed != b.seed


# Feasible returns by hand from the environments' sources (per-step reward bounds x the
# episode cap): catch pays -1 or +1 once; CartPole +1 a step for <= 500 steps; Acrobot
# -1 a step, 0 on the goal step, <= 500 steps; MountainCar -1 a step, <= 200 steps...
HAND_RANGES = {
    "bsuite/catch": (-1, 1), "bsuite/cartpole": (0, 1000), "bsuite/mountain_car": (-1000, -1),
    "minatar/breakout": (0, 10_000), "minatar/asterix": (0, 20_000),
    "minatar/freeway": (0, 10_000), "minatar/seaquest": (0, 130_000),
    "minatar/space_invaders": (0, 30_000), "classic/cartpole": (1, 500),
    "classic/acrobot": (-500, 0), "classic/mountaincar": (-200, -1),
    # dm_control's suite rewards are tolerances in [0, 1] per step, 1000 steps.
    **{f"control/{name}": (0, 1000) for name in (
        "cartpole_swingup", "cheetah_run", "walker_walk", "walker_stand", "finger_turn_hard",
        "fish_swim")},
    # gymnasium MuJoCo v5: the forward reward (a velocity) has no bound in the source.
    **{f"mujoco/{name}": (-math.inf, math.inf) for name in ("halfcheetah", "hopper",
                                                            "walker2d")},
}


def test_every_task_declares_reward_bounds_and_its_feasible_returns():
    # Atari's per-game reward bounds are not recorded: its feasible range is unbounded.
    built = [t for t in registry.tasks() if t.domain != "atari"]
    assert set(HAND_RANGES) == {t.id for t in built}
    assert all(t.return_range == (-math.inf, math.inf) for t in registry.tasks("atari"))
    for task in built:
        assert (task.rewards is None) == (task.domain == "mujoco"), task.id
        assert task.return_range == HAND_RANGES[task.id], task.id


def test_random_play_stays_inside_the_reward_bounds():
    from rl_unplugged import envs

    for task in registry.tasks():
        if task.rewards is None:  # Atari, MuJoCo: no bounds (tests/envs/test_atari.py).
            continue
        env, rng = envs.make(task.id), np.random.default_rng(0)
        env.reset(0)
        rewards, episode, rewarded = [], 0.0, 0
        for step in range(300):
            ts = env.step(int(rng.integers(task.num_actions)) if task.is_discrete else
                          rng.uniform(task.action.minimum, task.action.maximum).astype(
                              np.float32))
            rewards.append(ts.reward)
            episode += ts.reward
            rewarded += ts.reward != 0
            if ts.last:
                lo, hi = task.return_range
                assert lo <= episode <= hi, (task.id, episode)
                if task.rewards.rewarded_steps is not None:
                    assert rewarded <= task.rewards.rewarded_steps
                env.reset(step + 1)
                episode, rewarded = 0.0, 0
        assert task.rewards.minimum <= min(rewards) and max(rewards) <= task.rewards.maximum


def test_reward_bounds_validate_and_cap_rewarded_steps():
    assert RewardBounds(minimum=-1, maximum=1, rewarded_steps=1).return_range(9) == (-1, 1)
    assert RewardBounds(minimum=-1, maximum=0).return_range(500) == (-500, 0)
    assert RewardBounds(minimum=1, maximum=1).return_range(500) == (1, 500)
    with pytest.raises(ValueError, match="minimum <= maximum"):
        RewardBounds(minimum=1, maximum=0)
    with pytest.raises(ValueError, match="finite"):
        RewardBounds(minimum=0, maximum=math.inf)
    with pytest.raises(ValueError, match="rewarded_steps"):
        RewardBounds(minimum=0, maximum=1, rewarded_steps=0)


def test_domains_live_in_the_registry():
    # specs.DOMAINS names every domain a TaskSpec may have (backends for control and
    # mujoco, 'imported' for ad-hoc tasks of imported data); the registry holds those
    # with registered tasks.
    assert set(registry.DOMAINS) <= set(DOMAIN_NAMES)
    assert set(registry.DOMAINS) == {t.domain for t in registry.tasks()}
    for name in registry.DOMAINS:
        domain = registry.get_domain(name)
        assert domain.name == name and registry.get_domain(domain.builder_name) is domain
        assert domain.homepage.startswith("https://") and domain.bibtex.startswith("@")
        assert registry.track_title(name) == domain.title
    assert registry.get_domain("minatar").title == "MinAtar"
    assert registry.tracks() == ("all", *registry.DOMAINS, *registry.TASKS)
    assert registry.track_tasks("classic") == ["classic/cartpole", "classic/acrobot",
                                               "classic/mountaincar"]
    assert registry.track_tasks("bsuite/catch") == ["bsuite/catch"]
    assert len(registry.track_tasks("all")) == 20  # Atari has a track of its own only.
    with pytest.raises(ValueError, match="empty"):
        DomainSpec(name="bsuite", title="", summary="s", citation="c", bibtex="b",
                   homepage="h")


@pytest.mark.parametrize("lookup, name, close", [
    (registry.get_task, "bsuite/catc", "bsuite/catch"),
    (registry.get_dataset, "rlu_bsuite/cach_noise0_run0", "rlu_bsuite/catch_noise0_run0"),
    (registry.get_domain, "minatr", "minatar"),
    (registry.tasks, "clasic", "classic"),
    (registry.datasets, "rlu_bsuit", "rlu_bsuite"),
    (registry.track_tasks, "bsuite/cartpol", "bsuite/cartpole"),
])
def test_unknown_names_raise_unknown_name_error(lookup, name, close):
    with pytest.raises(UnknownNameError) as info:
        lookup(name)
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("unknown ") and close in str(info.value)


def test_atari_tasks_follow_rl_unplugged_split_and_build_no_datasets():
    tuning, testing = registry.RLU_ATARI_TUNING_GAMES, registry.RLU_ATARI_TESTING_GAMES
    assert len(tuning) == 9 and len(testing) == 37 and not set(tuning) & set(testing)
    atari = registry.tasks("atari")
    assert sorted(registry.atari_game(t) for t in atari) == sorted(tuning + testing)
    pong = registry.get_task("atari/pong")
    assert (pong.env_id, pong.num_actions, pong.max_episode_steps) == ("ALE/Pong-v5", 6, 27_000)
    assert pong.observation.shape == (84, 84, 4) and pong.network == "nature_cnn"
    assert pong.sticky_action_prob == 0.25 and not pong.builds_datasets
    assert pong.external_datasets[0] == "rlu_atari/Pong_run_1"
    assert registry.get_task("atari/up_n_down").env_id == "ALE/UpNDown-v5"
    assert registry.get_task("atari/ms_pacman").env_id == "ALE/MsPacman-v5"
    # No dataset, builder or config of the suite: the data are RL Unplugged's own.
    assert not [d for d in registry.datasets() if d.task.domain == "atari"]
    assert "rlu_atari" not in registry.builder_names()
    with pytest.raises(UnknownNameError, match="rlu_atari/Pong_run_1 is not built here: it "
                       "is an original dataset of atari/pong"):
        registry.get_dataset("rlu_atari/Pong_run_1:1.0.0")
    # The atari track: testing games with published references (all but Carnival).
    track = registry.track_tasks("atari")
    assert len(track) == 36 and "atari/carnival" not in track
    assert all(registry.get_task(t).domain == "atari" for t in track)
    assert not set(track) & {f"atari/{registry.atari_task_name(g)}" for g in tuning}
    assert "atari" in registry.tracks() and "atari/carnival" in registry.tracks()
    assert registry.track_title("atari") == "Atari (RL Unplugged)"


def test_a_task_without_behaviour_needs_external_datasets():
    import dataclasses

    pong = registry.get_task("atari/pong")
    with pytest.raises(ValueError, match="external_datasets"):
        dataclasses.replace(pong, external_datasets=())
    with pytest.raises(ValueError, match="network must be one of"):
        dataclasses.replace(pong, network="resnet")


def test_continuous_tasks_record_dm_controls_observation_order_and_bounds():
    # dm_control's own observation dicts (OrderedDicts of each task's get_observation).
    walker = registry.get_task("control/walker_walk")
    assert walker.observation_keys == (("orientations", (14,)), ("height", ()),
                                       ("velocity", (9,)))
    assert registry.get_task("control/fish_swim").observation_keys == (
        ("joint_angles", (7,)), ("upright", ()), ("target", (3,)), ("velocity", (13,)))
    for task in registry.tasks("control") + registry.tasks("mujoco"):
        assert not task.is_discrete and task.max_episode_steps == 1000
        assert task.action.minimum == (-1.0,) * task.action.shape[0]
        assert task.action.maximum == (1.0,) * task.action.shape[0]
    assert registry.get_task("mujoco/hopper").action.shape == (3,)
    assert registry.get_dataset("rlu_control/cheetah_run_noise20_run1").task.id == \
        "control/cheetah_run"


def test_registered_observation_orders_are_dm_controls_own():
    # The backend checks keys and shapes only (flattening follows the registered order,
    # tests/envs/helpers.py registers a reversed one); this pins the order to dm_control's.
    from dm_control import suite

    for task in registry.tasks("control"):
        domain, name = task.env_id.split("/")
        spec = suite.load(domain, name).observation_spec()
        assert [(k, tuple(v.shape)) for k, v in spec.items()] == \
            [(k, tuple(s)) for k, s in task.observation_keys], task.id


def test_continuous_observations_flatten_in_the_registered_order():
    from rl_unplugged import envs

    task = registry.get_task("control/walker_stand")
    env = envs.make(task)
    obs = env.reset(3)
    backend = env.env
    backend._random.seed(3)  # What DMControlEnv.reset(3) does, then dm_control's own dict.
    raw = backend._env.reset().observation
    assert obs.shape == (24,) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs[:14], raw["orientations"].astype(np.float32))
    assert obs[14] == np.float32(raw["height"]) and obs[15:].shape == (9,)


def test_every_built_task_has_a_sourced_competence_target_or_says_why_not():
    """Targets are 75% of the published value their source names (issue 8's rule); the
    one continuous task without a trustworthy published same-budget return has none."""
    import re

    without = {t.id for t in registry.tasks() if t.behaviour is not None and t.competence is None}
    assert without == {"control/fish_swim"}
    checked = 0
    for task in registry.tasks():
        c = task.competence
        if c is None or not c.source.startswith("75% of "):
            continue
        checked += 1
        m = (re.match(r"75% of ([-\d.]+),", c.source)
             or re.match(r"75% of MinAtar's DQN at 5M frames, ([-\d.]+) ", c.source))
        published = float(m.group(1))
        assert c.value == pytest.approx(0.75 * published, abs=0.01), task.id
    assert checked == 13  # 5 MinAtar, 5 DM Control, 3 MuJoCo.
    assert registry.get_task("mujoco/hopper").competence.value == pytest.approx(2200.0, abs=0.1)
