"""Shared fixtures: tiny data under tmp_path, never fixed paths."""

import os

os.environ.setdefault("MUJOCO_GL", "disable")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
