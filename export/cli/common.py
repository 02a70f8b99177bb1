"""What every export command does around its work: parse, set up logging, turn expected
failures into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
import warnings
from collections.abc import Mapping

from sentio.runtime.errors import ClusterUnavailableError, SentioError

#: Exit code of a failed accuracy-drop gate.
GATE_FAILED = 1
#: Exit code when no Ray cluster answers at the ``--ray`` address (a state worth retrying).
CLUSTER_UNAVAILABLE = 3
#: Exit codes of a command stopped by Ctrl-C (SIGINT) and by SIGTERM (128 + the signal).
INTERRUPTED = 130
TERMINATED = 143


#: A setting named in a library error: ``section.field`` (a run's setting, which a recipe can
#: set too) or ``SomethingConfig.field`` (a pipeline config's own field).
_SETTING = re.compile(r"\b(?:[A-Z][A-Za-z]*Config|[a-z]+)(?:\.[a-z_]+)+")


def flag_names(text: str, flags: Mapping[str, str]) -> str:
    """``text`` (a library error) with the option of each setting it names: a run's setting
    keeps its name, which a recipe uses, and gains its option (``data.short`` ->
    ``data.short (--short)``); a pipeline config's field becomes its option
    (``ExportRunConfig.model`` -> ``--model``). Names with no option in ``flags``, and names
    already followed by a parenthesis (``train.learning_rate (--lr)``), stay as they are."""

    def named(match: re.Match[str]) -> str:
        found = match.group(0)
        parts = found.split(".")
        for n in range(len(parts), 1, -1):
            key = ".".join(parts[:n])
            if key not in flags:
                continue
            rest = found[len(key) :]
            if key[0].isupper():
                return flags[key] + rest
            if not rest and text.startswith(" (", match.end()):
                return found
            return f"{key} ({flags[key]}){rest}"
        return found

    return _SETTING.sub(named, text)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that everything a Ctrl-C unwinds (the bundle's
    staging folder, temporary data, a training checkpoint's handling) unwinds the same way."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` (main thread only; elsewhere a no-op)."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, _raise_terminated)


def quiet_toolchain(verbose: bool) -> None:
    """Logging for a command: ``sentio`` at INFO (DEBUG with -v); the converters' chatter
    (asset paths, optimizer passes, TensorFlow's start-up) only with -v."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
        logging.getLogger("sentio").setLevel(logging.INFO)
        for noisy in ("tensorflow", "tf2onnx", "absl", "h5py", ""):  # "": onnxruntime -> root
            logging.getLogger(noisy).setLevel(logging.WARNING)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 sent to a scratch file.

    TensorFlow 2.21 writes its C++ start-up lines ("Could not find cuda drivers", the oneDNN
    notice, absl's pre-init warning) before ``TF_CPP_MIN_LOG_LEVEL`` takes effect; a CPU-only
    user needs none of them. If the import fails, what it wrote is shown with the error.
    """
    if "tensorflow" in sys.modules:
        return
    with tempfile.TemporaryFile(mode="w+b") as scratch:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(scratch.fileno(), 2)
            try:
                import tensorflow

                tensorflow.config.list_physical_devices()  # the CUDA probe logs here too
            finally:
                os.dup2(saved, 2)
        except BaseException:
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            os.close(saved)


def run_command(
    parser: argparse.ArgumentParser,
    argv: list[str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> int:
    """Parse, set up logging, run ``args.func``; expected failures become exit codes, their
    messages naming the options of the settings they name (``flags``: setting -> option,
    :func:`flag_names`)."""
    args = parser.parse_args(argv)
    handle_sigterm()
    quiet_toolchain(args.verbose)
    if not args.verbose and getattr(args, "command", None) != "extract":
        with contextlib.suppress(ImportError):  # the entry point says what to install
            import_tensorflow_quietly()
    try:
        return args.func(args)
    except ClusterUnavailableError as err:
        print(f"error: {flag_names(str(err), flags or {})}", file=sys.stderr)
        return CLUSTER_UNAVAILABLE
    except SentioError as err:
        print(f"error: {flag_names(str(err), flags or {})}", file=sys.stderr)
        return 2
    except Terminated:
        print("terminated (SIGTERM): nothing half-written was left", file=sys.stderr)
        return TERMINATED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
