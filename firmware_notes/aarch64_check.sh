#!/usr/bin/env bash
# aarch64 check: does Sentio's light runtime install and run on 64-bit ARM (the Raspberry Pi
# software stack) without the board?
#
# Builds a Debian bookworm arm64 root (Python 3.11, like 64-bit Raspberry Pi OS Bookworm) with
# debootstrap, runs it under qemu-user emulation, installs the runtime's aarch64 wheels from PyPI
# into a venv there (no compiler in the root: compiled packages must come as wheels), installs
# this repository's wheel, runs the runtime test subset, and runs `sentio-listen --input` on a
# generated song with every model of a bundle (default: the shipped one; SENTIO_BUNDLE for
# another, e.g. one exported with `sentio-export --int8 --onnx-int8 hybrid`, which holds the
# int8_hybrid TFLite and the hybrid int8 ONNX), comparing the predictions with the same command
# on this (x86_64) machine.
#
# Needs: root, network (Debian's archive, PyPI), and on the host
#   apt-get install debootstrap qemu-user-static binfmt-support
# Slow (emulation): ~13 min from nothing, ~8 min reusing the root, on 2 shared x86 cores (see
# firmware_notes/aarch64_check.md). Not part of the default test run. The root is kept
# (SENTIO_ARM64_ROOT) and reused by later runs.
#
# Usage: firmware_notes/aarch64_check.sh            (from the repository root)
# Env:   SENTIO_ARM64_ROOT  the arm64 root      (default /var/tmp/sentio-arm64-bookworm)
#        PYTHON             host python that can import sentio (default python3)
#        TOLERANCE          max |x86 - aarch64| per output (default 0.02)
#        QEMU_CPU           the emulated CPU (default cortex-a72)
#        SENTIO_BUNDLE      bundle whose models are run (default: the installed default model)
#        SENTIO_ARTIFACTS   its model files to run, space-separated (default: every runnable one)
#        DEBIAN_MIRROR      for debootstrap (default: debootstrap's own)
set -euo pipefail

ROOT=${SENTIO_ARM64_ROOT:-/var/tmp/sentio-arm64-bookworm}
PYTHON=${PYTHON:-python3}
TOLERANCE=${TOLERANCE:-0.02}
QEMU_CPU=${QEMU_CPU:-cortex-a72}  # the Raspberry Pi 4's core (Pi 5: cortex-a76)
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/sentio-aarch64-check.XXXXXX)
# Runtime test files that need neither TensorFlow nor a sound server (tests that need an
# exported bundle skip themselves there: training it needs the TensorFlow export half).
TESTS=(tests/runtime/test_audio.py tests/runtime/test_bundle.py tests/runtime/test_capture.py
  tests/runtime/test_manifest.py tests/runtime/test_features.py tests/runtime/test_windows.py
  tests/runtime/test_streaming.py tests/runtime/test_model.py tests/runtime/test_engine.py
  tests/runtime/test_listener.py tests/runtime/test_cli.py tests/runtime/test_color.py
  tests/runtime/test_replay.py tests/runtime/test_feature_specs.py
  tests/runtime/outputs/test_sinks.py tests/runtime/outputs/test_live_view.py
  tests/runtime/outputs/test_osc.py)
BUNDLE=${SENTIO_BUNDLE:-}

step() { printf '\n== %s  [%s, +%ds]\n' "$1" "$(date -u +%H:%M:%S)" "$SECONDS"; }
die() { echo "aarch64 check FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
for tool in debootstrap qemu-aarch64-static update-binfmts; do
  command -v "$tool" >/dev/null ||
    die "$tool missing: apt-get install debootstrap qemu-user-static binfmt-support"
done

step "binfmt_misc: let the kernel hand aarch64 programs to qemu"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "cannot mount binfmt_misc (the container lacks CAP_SYS_ADMIN?)"
fi
update-binfmts --enable qemu-aarch64 || true
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
  die "qemu-aarch64 is not registered in binfmt_misc"
# Without the F flag the kernel looks the interpreter up inside the chroot: put it there.
INTERP=$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
bind() { mkdir -p "$ROOT$1" && mount --bind "$1" "$ROOT$1" && mounted+=("$ROOT$1"); }
# the host's CA bundle, so that whatever TLS setup lets the host reach PyPI works in the root
HOST_CA=/etc/ssl/certs/ca-certificates.crt
in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/opt/sentio/bin:/usr/bin:/bin \
  LANG=C.UTF-8 QEMU_CPU="$QEMU_CPU" PIP_CERT=/etc/ssl/host-ca.crt SSL_CERT_FILE=/etc/ssl/host-ca.crt \
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"; }

if [ ! -e "$ROOT/.sentio-root-done" ]; then
  step "debootstrap bookworm arm64 (first stage: download + unpack) into $ROOT"
  rm -rf "$ROOT"
  debootstrap --arch=arm64 --variant=minbase --foreign \
    --include=python3,python3-venv,libportaudio2,ca-certificates \
    bookworm "$ROOT" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
  mkdir -p "$ROOT$(dirname "$INTERP")"
  cp "$(readlink -f "$INTERP")" "$ROOT$INTERP"
  step "debootstrap second stage (aarch64 dpkg under qemu)"
  chroot "$ROOT" /debootstrap/debootstrap --second-stage
  touch "$ROOT/.sentio-root-done"
fi
mkdir -p "$ROOT$(dirname "$INTERP")"
[ -e "$ROOT$INTERP" ] || cp "$(readlink -f "$INTERP")" "$ROOT$INTERP"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$HOST_CA" "$ROOT/etc/ssl/host-ca.crt"
bind /proc
bind /dev
bind /dev/pts  # a separate mount: the --ui test opens a pseudo-terminal
# Not /sys: qemu-user shows the host's (x86) /proc/cpuinfo, and with the host's
# /sys/devices/system/cpu beside it LiteRT's CPU detection (cpuinfo) segfaults in
# Interpreter(); without /sys it falls back cleanly. A real Pi has a consistent view of both.

step "the arm64 root"
in_root uname -m
in_root python3 --version
echo "  emulated CPU: $QEMU_CPU ($(qemu-aarch64-static --version | head -n1))"
# libsndfile1 is left out on purpose: the soundfile wheel must bring its own
# shellcheck disable=SC2016  # ${Package} is dpkg-query's, not the shell's
{ in_root dpkg-query -W -f '${Package} ${Version}\n' libportaudio2 libsndfile1 2>&1 || true; } |
  sed 's/^/  /'

step "host: the repository's wheel (pure Python), a test song, the x86_64 predictions"
# from a copy of the working tree (tracked + new files), so the build leaves nothing in the repo
mkdir -p "$WORK/src"
git -C "$REPO" ls-files -co --exclude-standard -z | (cd "$REPO" && tar --null -T - -cf -) |
  tar -xf - -C "$WORK/src"
"$PYTHON" -m pip wheel -q --no-deps -w "$WORK/wheel" "$WORK/src" >/dev/null
WHEEL=$(ls "$WORK"/wheel/sentio*.whl)  # sentio_mer-*.whl (the distribution is sentio-mer)
"$PYTHON" - "$WORK/song.wav" <<'EOF'
import sys, numpy as np, soundfile
from sentio.export.data.synthetic import synth_song
# 20 s at 44.1 kHz: exercises decoding + resampling; two moods so the outputs move
song = np.concatenate([synth_song(0.7, 0.7, 10.0, 44100, seed=5), synth_song(-0.7, -0.5, 10.0, 44100, seed=6)])
soundfile.write(sys.argv[1], song, 44100)
EOF
if [ -n "$BUNDLE" ]; then
  BUNDLE=$(cd "$BUNDLE" && pwd)
  MODEL_ARGS=(--model "$BUNDLE")
  ARM_MODEL_ARGS=(--model /tmp/check/bundle)
else
  MODEL_ARGS=()
  ARM_MODEL_ARGS=()
fi
if [ -n "${SENTIO_ARTIFACTS:-}" ]; then
  read -r -a ARTIFACTS <<<"$SENTIO_ARTIFACTS"
else
  read -r -a ARTIFACTS <<<"$("$PYTHON" - "${BUNDLE:-}" <<'EOF'
import sys
from pathlib import Path
from sentio.runtime.manifest import load
from sentio.runtime.model import default_bundle
print(" ".join(load(Path(sys.argv[1]) if sys.argv[1] else default_bundle()).runnable))
EOF
)"
fi
echo "  bundle: ${BUNDLE:-the installed default model}; models: ${ARTIFACTS[*]}"
for a in "${ARTIFACTS[@]}"; do
  "$PYTHON" -m sentio.runtime.cli "${MODEL_ARGS[@]}" --input "$WORK/song.wav" --artifact "$a" \
    >"$WORK/x86_$a.jsonl" 2>"$WORK/x86_$a.err" || { cat "$WORK/x86_$a.err"; die "x86 run $a"; }
done

step "arm64: venv + aarch64 wheels from PyPI + the repository's wheel"
rm -rf "$ROOT/tmp/check" && mkdir -p "$ROOT/tmp/check"
cp "$WHEEL" "$WORK/song.wav" "$ROOT/tmp/check/"
[ -z "$BUNDLE" ] || cp -r "$BUNDLE" "$ROOT/tmp/check/bundle"
# tests/helpers.py takes python-speech-features' reference MFCC from benchmarks/features.py;
# test_cli checks that the notes `sentio-listen --help` cites exist (experiments/, firmware_notes/)
cp -r "$REPO/tests" "$REPO/benchmarks" "$REPO/experiments" "$REPO/firmware_notes" \
  "$REPO/pyproject.toml" "$ROOT/tmp/check/"
find "$ROOT/tmp/check/tests" -name __pycache__ -prune -exec rm -rf {} +
[ -x "$ROOT/opt/sentio/bin/python" ] || in_root python3 -m venv /opt/sentio
# compiled dependencies must be wheels (a Pi has no build tools by default); the rest may be
# pure-Python sdists (python_speech_features is one)
in_root pip install -q --upgrade pip
in_root pip install -q --only-binary=numpy,scipy,soxr,soundfile,cffi,ai-edge-litert,onnxruntime \
  "/tmp/check/$(basename "$WHEEL")[onnx,osc,mqtt]" pytest
in_root pip install -q --force-reinstall --no-deps "/tmp/check/$(basename "$WHEEL")"
in_root pip list 2>/dev/null | grep -iE \
  '^(sentio|sentio-mer|numpy|scipy|python.speech|soundfile|soxr|sounddevice|ai-edge-litert|onnxruntime|python-osc|paho-mqtt|pytest) '
in_root python -c "import soundfile; print('libsndfile (bundled in the wheel):', soundfile.__libsndfile_version__)"

step "arm64: runtime test subset"
in_root sh -c 'cd /tmp/check && exec python -m pytest -q -p no:cacheprovider "$@"' sh "${TESTS[@]}" ||
  die "runtime tests failed on aarch64"

step "arm64: sentio-listen --input, every model of the bundle"
for a in "${ARTIFACTS[@]}"; do
  start=$SECONDS
  in_root sentio-listen "${ARM_MODEL_ARGS[@]}" --input /tmp/check/song.wav --artifact "$a" \
    >"$WORK/arm_$a.jsonl" 2>"$WORK/arm_$a.err" || { cat "$WORK/arm_$a.err"; die "arm64 run $a"; }
  echo "  $a: $((SECONDS - start)) s under emulation; $(tail -n1 "$WORK/arm_$a.err")"
done

step "compare aarch64 with x86_64 (tolerance $TOLERANCE)"
"$PYTHON" - "$WORK" "$TOLERANCE" "${ARTIFACTS[@]}" <<'EOF'
import json, sys
work, tol, artifacts = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
def rows(path):
    return [json.loads(line) for line in open(path)]
worst = 0.0
for a in artifacts:
    x86, arm = rows(f"{work}/x86_{a}.jsonl"), rows(f"{work}/arm_{a}.jsonl")
    assert len(x86) == len(arm) > 0, (a, len(x86), len(arm))
    assert [r["t"] for r in x86] == [r["t"] for r in arm], a
    diff = max(abs(r[k] - s[k]) for r, s in zip(x86, arm) for k in ("valence", "arousal"))
    same_quadrant = sum(r["quadrant"] == s["quadrant"] for r, s in zip(x86, arm))
    print(f"  {a:22s} {len(arm)} predictions, max |x86 - aarch64| {diff:.2e}, "
          f"same quadrant {same_quadrant}/{len(arm)}")
    worst = max(worst, diff)
print(f"  worst {worst:.2e}: {'PASS' if worst <= tol else 'FAIL'}")
sys.exit(0 if worst <= tol else 1)
EOF
step "aarch64 check passed"
