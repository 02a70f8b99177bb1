import argparse

import pytest
from sentio.runtime.option_values import (
    capture_rate,
    first_seconds,
    hop_seconds,
    silence_level,
    smooth_seconds,
    thread_count,
)


def test_values_in_range_parse():
    assert hop_seconds("0.5") == 0.5
    assert smooth_seconds("0") == 0.0
    assert first_seconds("full") is None and first_seconds("3") == 3.0 and first_seconds("1") == 1.0
    assert silence_level("-60") == -60.0
    assert capture_rate("48000") == 48000
    assert thread_count("2") == 2


@pytest.mark.parametrize(
    "parse, text",
    [
        (hop_seconds, "0"),
        (hop_seconds, "nan"),
        (smooth_seconds, "-1"),
        (silence_level, "5"),
        (capture_rate, "44.1"),
        (thread_count, "0"),
        (first_seconds, "1e-9"),  # issue 22: estimated on 0.5 s, where a 0.5 s file got none
        (first_seconds, "0.5"),
    ],
)
def test_values_out_of_range_are_refused_for_argparse(parse, text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)
