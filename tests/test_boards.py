"""Board data, board names and the flash/RAM fit check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.boards import all_boards, resolve_board
from edgegen.build import build
from edgegen.cli import main
from edgegen.fit import ModelTooLargeError

REQUIRED = {"nucleo-l4r5zi", "nucleo-f401re", "nucleo-f446re", "nucleo-f746zg", "nucleo-h743zi",
            "disco-l475vg-iot01a", "qemu-m4", "qemu-m7", "qemu-m55"}


def test_required_boards_exist_with_consistent_data() -> None:
    boards = all_boards()
    assert REQUIRED <= set(boards)
    for b in boards.values():
        if b.kind == "stm32":
            assert b.platformio is not None and b.emulator in boards and boards[b.emulator].kind == "qemu"
            assert b.flash_bytes > 0 and b.ram_bytes > 0 and b.clock_hz > 0
            # the twin runs the same instruction set: same -mcpu
            assert f"-mcpu={b.cpu}" in b.cflags and f"-mcpu={b.cpu}" in boards[b.emulator].cflags
        if b.kind == "qemu":
            assert b.qemu is not None
    assert boards["qemu-m55"].scratch_target == "mve" and boards["qemu-m4"].scratch_target == "dsp"


def test_nucleo_alias_resolves_to_the_mlperf_board() -> None:
    r = resolve_board("nucleo")
    assert r.board.name == "nucleo-l4r5zi"
    assert r.note is not None and "nucleo-l4r5zi" in r.note


def test_unknown_board_lists_close_matches(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(b"")
    code = main(["build", str(model), "--board", "nucleo-f44re", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "unknown board 'nucleo-f44re'" in err and "nucleo-f446re" in err
    assert not (tmp_path / "out").exists()


def test_boards_command_lists_every_board(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for name in REQUIRED:
        assert name in out
    assert "2048 KiB" in out and "640 KiB" in out  # nucleo-l4r5zi flash and RAM


def _big_dense_model() -> bytes:
    """A single 2048 -> 300 dense layer: 614,400 bytes of int8 weights (over the F401RE's 512 KiB
    of flash, well under the L4R5ZI's 2 MiB)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(1)
    inp = keras.Input((2048,), batch_size=1)
    model = keras.Model(inp, keras.layers.Dense(300)(inp))
    rng = np.random.default_rng(0)

    def rep():  # type: ignore[no-untyped-def]
        for _ in range(8):
            yield [rng.standard_normal((1, 2048)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def test_too_large_for_f401re_fits_l4r5zi(tmp_path: Path) -> None:
    data = _big_dense_model()
    with pytest.raises(ModelTooLargeError) as e:
        build(data, tmp_path / "f401", source="big.tflite", name="big", board="nucleo-f401re", vectors=1)
    msg = str(e.value)
    assert "does not fit nucleo-f401re" in msg and "flash" in msg and "FULLY_CONNECTED" in msg
    assert "nucleo-l4r5zi" in msg  # suggests a board it fits
    assert not (tmp_path / "f401").exists()
    assert not list(tmp_path.iterdir())  # no temporary directory left behind
    ok = build(data, tmp_path / "l4r5", source="big.tflite", name="big", board="nucleo-l4r5zi", vectors=1)
    fp = ok.footprint
    assert fp is not None and fp.exact
    assert 614_400 < fp.flash_bytes <= ok.board.flash_bytes and fp.ram_bytes <= ok.board.ram_bytes
    assert (ok.out / "platformio.ini").is_file()
