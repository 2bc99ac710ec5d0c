"""rl_unplugged: offline RL datasets, baselines, evaluation and leaderboard."""

__version__ = "0.1.0"
