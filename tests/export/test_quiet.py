"""export/quiet.py: native calls keep Ctrl-C and SIGTERM (issue 22 #11: the TFLite converter
swallowed a SIGINT in 5 of 7 tries, and the export went on to replace --out)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sentio.export.quiet import interrupts_kept, native_stderr_quiet


def _swallowing_native_call(signum=signal.SIGINT, fail=False):
    """What the converter does: a signal arrives while it calls back into Python; the
    exception raised there is caught and dropped, and the call returns (or fails its own way)."""
    try:
        os.kill(os.getpid(), signum)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the handler runs between bytecodes, here
            time.sleep(0.001)
    except BaseException:
        pass
    if fail:
        raise RuntimeError("converter: Check failed: status.ok()")
    return b"flatbuffer"


@pytest.mark.parametrize("guard", [interrupts_kept, native_stderr_quiet])
def test_a_swallowed_ctrl_c_is_raised_once_the_native_call_returns(guard):
    written = []
    with pytest.raises(KeyboardInterrupt):
        with guard():
            result = _swallowing_native_call()
        written.append(result)  # what the export did next: replace --out
    assert written == []


def test_a_swallowed_ctrl_c_that_failed_the_call_is_an_interrupt_not_its_error():
    with pytest.raises(KeyboardInterrupt) as info, interrupts_kept():
        _swallowing_native_call(fail=True)
    assert isinstance(info.value.__context__, RuntimeError)


def test_sigterm_raises_what_the_cli_handler_raises_and_handlers_are_restored():
    class Terminated(KeyboardInterrupt):
        pass

    def terminated(signum, frame):
        raise Terminated()

    before_int = signal.getsignal(signal.SIGINT)
    before_term = signal.signal(signal.SIGTERM, terminated)
    try:
        with pytest.raises(Terminated), interrupts_kept():
            _swallowing_native_call(signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is terminated
        assert signal.getsignal(signal.SIGINT) is before_int
        with interrupts_kept():  # no signal: nothing raised
            pass
    finally:
        signal.signal(signal.SIGTERM, before_term)


def test_convert_tflite_stops_on_a_ctrl_c_its_converter_swallowed(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    from sentio.export.conversion import tflite

    class Converter:
        def __init__(self):
            self.optimizations = []
            self.target_spec = type("Spec", (), {})()

        def convert(self):
            return _swallowing_native_call()

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", lambda model: Converter())
    monkeypatch.setattr(tflite, "remove_cell_clip", lambda flatbuffer: flatbuffer)
    with pytest.raises(KeyboardInterrupt):
        tflite.convert_tflite(object(), "float32")
