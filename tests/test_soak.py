"""The 2-minute soak (``benchmarks/soak.py``; the 1-hour one is in BENCHMARKS.md): the real
``sentio-listen`` on a virtual microphone (a PulseAudio server of the harness's own, fed with
generated music), ``--mqtt`` to a mosquitto broker restarted every 35 s and ``--osc`` to a
port nobody listens on. RSS stays flat after a 30 s warm-up, nothing overflows, every window
comes out, and the listener stops cleanly on SIGTERM. ~2 min wall; CI installs pulseaudio,
pulseaudio-utils, libasound2-plugins and mosquitto (``.ci/run``)."""

import shutil

import pytest

from benchmarks.soak import MOSQUITTO, SoakConfig, SoakResult, run_soak


def test_two_minute_soak_with_broker_restarts(tmp_path):
    missing = [b for b in ("pulseaudio", "paplay") if shutil.which(b) is None]
    if missing or not shutil.which(MOSQUITTO):
        pytest.fail(
            f"{missing or MOSQUITTO} not installed: apt-get install pulseaudio "
            "pulseaudio-utils libasound2-plugins mosquitto (.ci/run does)"
        )
    config = SoakConfig(
        minutes=2.0,
        restart_every_s=35.0,
        down_s=3.0,
        sample_every_s=5.0,
        warmup_s=30.0,
        max_growth_mb=5.0,
        music_s=20.0,
        workdir=tmp_path,
    )
    result = run_soak(config, log=lambda message: None)
    summary = result.summary(config)
    context = f"{summary}\n{result.stderr_tail}"

    assert result.returncode == 0, context  # SIGTERM: a clean exit with the stats lines
    assert result.restarts >= 2, context
    # after each restart the listener reconnected and the broker received states again
    assert len(result.states_per_life) == result.restarts + 1, context
    assert min(result.states_per_life) > 0, context
    assert result.mqtt is not None and result.mqtt[0] > 0, context
    assert result.mqtt_connects >= result.restarts + 1, context
    assert result.osc is not None and result.osc[0] == result.windows, context

    rss = result.rss_summary(config.warmup_s)
    assert rss["samples"] >= 8, context
    assert rss["growth_mb"] < 5.0, context

    assert result.overflows == 0 and result.dropped == 0, context
    expected = result.expected_windows()
    assert expected is not None and expected > 150, context  # ~100 s of windows at 0.5 s
    assert abs(result.windows - expected) <= 1, context
    assert result.stats_windows == result.windows, context
    assert result.max_gap_s == pytest.approx(result.hop_s, abs=0.01), context  # none lost
    assert result.bad_lines == 0, context
    assert result.failures(config) == [], context


def test_the_soak_judges_leaks_overflows_and_lost_windows():
    """The harness's verdicts on made-up results (no processes): each fault is named."""
    config = SoakConfig(warmup_s=30.0, max_growth_mb=5.0)

    def result(**changes) -> SoakResult:
        good = SoakResult(
            command=["sentio-listen"],
            returncode=0,
            rss=[(t, 110.0 + (3.0 if t < 30 else 0.0)) for t in range(0, 120, 10)],
            windows=177,
            stats_windows=177,
            audio_s=100.0,
            window_s=12.0,
            hop_s=0.5,
            max_gap_s=0.5,
            states_per_life=[20, 30, 25],
        )
        for key, value in changes.items():
            setattr(good, key, value)
        return good

    assert result().expected_windows() == 177
    assert result().failures(config) == []  # growth inside the warm-up is not judged
    leak = [(t, 110.0 + t / 10) for t in range(0, 120, 10)]
    assert "RSS grew" in " ".join(result(rss=leak).failures(config))
    assert "overflows" in " ".join(result(overflows=1).failures(config))
    assert "expected" in " ".join(result(windows=170, stats_windows=170).failures(config))
    assert "a gap of" in " ".join(result(max_gap_s=1.0).failures(config))
    assert "exited" in " ".join(result(returncode=1).failures(config))
    assert "no state" in " ".join(result(states_per_life=[20, 0, 25]).failures(config))
