"""The one checkpoint module: round trips, checksums, damaged and foreign files."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import serialization

from rl_unplugged import checkpointing
from rl_unplugged.errors import CorruptDataError, IncompatibleError, NotFoundError


def state(width=3):
    return {"params": {"w": jnp.arange(2 * width, dtype=jnp.float32).reshape(2, width),
                       "b": jnp.ones(width, jnp.float32)},
            "step": jnp.array(7, jnp.int32)}


def assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_save_restore_and_list(tmp_path):
    checkpointing.save(tmp_path, 4, state())
    path = checkpointing.save(tmp_path, 12, jax.tree.map(lambda x: x + 1, state()))
    assert path == tmp_path / "checkpoints" / "step_000000012.msgpack"
    assert checkpointing.list_checkpoints(tmp_path) == [4, 12]
    step, restored = checkpointing.restore(tmp_path, state())
    assert step == 12
    assert_same(restored, jax.tree.map(lambda x: x + 1, state()))
    step, raw = checkpointing.restore_raw(tmp_path, 4)
    assert step == 4 and set(raw) == {"params", "step"}
    np.testing.assert_array_equal(raw["params"]["w"], state()["params"]["w"])
    with pytest.raises(NotFoundError, match="no checkpoint at step 5"):
        checkpointing.restore(tmp_path, state(), 5)
    with pytest.raises(NotFoundError, match="holds no checkpoints"):
        checkpointing.restore_raw(tmp_path / "empty")


def test_file_carries_the_sha256_of_its_payload(tmp_path):
    path = checkpointing.save(tmp_path, 1, state())
    data = path.read_bytes()
    header, payload = data.split(b"\n", 1)
    assert header == checkpointing.HEADER + checkpointing.sha256(payload).encode()
    assert payload == serialization.to_bytes(state())


def test_checkpoint_digest_is_read_from_the_header(tmp_path):
    path = checkpointing.save(tmp_path, 1, state())
    payload = path.read_bytes().split(b"\n", 1)[1]
    assert checkpointing.checkpoint_digest(tmp_path, 1) == checkpointing.sha256(payload)
    checkpointing.save(tmp_path, 2, state(width=4))
    assert checkpointing.checkpoint_digest(tmp_path, 2) != checkpointing.sha256(payload)
    with pytest.raises(NotFoundError, match="step_000000003"):
        checkpointing.checkpoint_digest(tmp_path, 3)
    path.write_bytes(path.read_bytes()[:40])  # Cut inside the header.
    with pytest.raises(CorruptDataError, match="header"):
        checkpointing.checkpoint_digest(tmp_path, 1)
    path.write_bytes(serialization.to_bytes(state()))  # The format before checksums.
    assert checkpointing.checkpoint_digest(tmp_path, 1) is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "truncate_header"])
def test_damaged_checkpoint_is_named_not_loaded(tmp_path, damage):
    path = checkpointing.save(tmp_path, 1, state())
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-5] ^= 0x01  # One bit of the last array's bytes: still valid msgpack.
    elif damage == "truncate":
        data = data[:-7]
    else:
        data = data[:20]
    path.write_bytes(bytes(data))
    match = "checksum mismatch" if damage != "truncate_header" else "truncated"
    with pytest.raises(CorruptDataError, match=f"step_000000001.msgpack: .*{match}"):
        checkpointing.restore(tmp_path, state())
    with pytest.raises(CorruptDataError, match="step_000000001.msgpack"):
        checkpointing.restore_raw(tmp_path)


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01 not a checkpoint at all",
                                     b"\xc1\xc1\xc1", b"\x07"])
def test_garbage_file_is_named(tmp_path, garbage):
    path = checkpointing.checkpoint_path(tmp_path, 3)
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    with pytest.raises(CorruptDataError, match=f"{path}: .*(not a|truncated)"):
        checkpointing.restore(tmp_path, state())


def test_checkpoint_of_another_config_is_incompatible(tmp_path):
    checkpointing.save(tmp_path, 1, state(width=3))
    with pytest.raises(IncompatibleError, match=r"step_000000001.msgpack: .*another config.*"
                                                r"\['params'\]\['b'\] is \(3,\)"):
        checkpointing.restore(tmp_path, state(width=4))
    with pytest.raises(IncompatibleError, match="step_000000001.msgpack: .*another config"):
        checkpointing.restore(tmp_path, {"params": state()["params"], "other": jnp.zeros(())})
    fewer_layers = {"params": {"w": state()["params"]["w"]}, "step": state()["step"]}
    with pytest.raises(IncompatibleError, match=r"another config.*\(3 arrays, expected 2\)"):
        checkpointing.restore(tmp_path, fewer_layers)  # flax alone would drop 'b' silently.
    wrong_dtype = dict(state(), step=jnp.array(7, jnp.float32))
    with pytest.raises(IncompatibleError, match=r"\['step'\] is \(\) int32"):
        checkpointing.restore(tmp_path, wrong_dtype)


def test_legacy_checkpoint_without_checksum_loads_with_a_warning(tmp_path):
    path = checkpointing.checkpoint_path(tmp_path, 2)
    path.parent.mkdir(parents=True)
    path.write_bytes(serialization.to_bytes(state()))  # The format before checksums.
    with pytest.warns(checkpointing.UnverifiedCheckpointWarning, match="no checksum"):
        _, restored = checkpointing.restore(tmp_path, state())
    assert_same(restored, state())


def test_write_is_atomic_and_keeps_the_previous_file(tmp_path, monkeypatch):
    path = checkpointing.save(tmp_path, 1, state())
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(checkpointing.fileio, "write_bytes", fail)
    with pytest.raises(OSError, match="disk on fire"):
        checkpointing.save(tmp_path, 1, state(width=4))
    assert path.read_bytes() == before


def test_payload_checked_against_a_recorded_digest(tmp_path):
    data = checkpointing.to_bytes(state()["params"])
    path = tmp_path / "checkpoint-00000.msgpack"
    path.write_bytes(data)
    digest = checkpointing.sha256(data)
    assert_same(checkpointing.read_payload(path, digest, state()["params"]), state()["params"])
    with pytest.raises(CorruptDataError, match="checkpoint-00000.msgpack: checksum mismatch"):
        checkpointing.read_payload(path, "0" * 64, state()["params"])
    with pytest.raises(IncompatibleError, match="checkpoint-00000.msgpack"):
        checkpointing.read_payload(path, digest, state(width=5)["params"])
    path.write_bytes(b"garbage")
    with pytest.raises(CorruptDataError, match="checkpoint-00000.msgpack: not a readable"):
        checkpointing.read_payload(path, checkpointing.sha256(b"garbage"), state()["params"])
    with pytest.raises(CorruptDataError, match="missing"):
        checkpointing.read_payload(tmp_path / "nope.msgpack", digest, state()["params"])


def test_pytree_round_trip_and_mismatch():
    tree = {"a": np.arange(3, dtype=np.float32), "b": (np.int32(4), np.ones((2, 2)))}
    flat = checkpointing.to_flat_dict(tree, "x/")
    back = checkpointing.from_flat_dict(tree, flat, "x/")
    np.testing.assert_array_equal(back["b"][1], tree["b"][1])
    flat["x/0000"] = np.zeros(4, np.float32)
    with pytest.raises(IncompatibleError, match="resume-00003.npz: leaf x/0000"):
        checkpointing.from_flat_dict(tree, flat, "x/", "resume-00003.npz")
    del flat["x/0002"]
    with pytest.raises(IncompatibleError, match="2 'x/' leaves, expected 3"):
        checkpointing.from_flat_dict(tree, flat, "x/")
