"""runtime/replay.py: a file as a stream of blocks."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from sentio.runtime.errors import AudioError
from sentio.runtime.replay import READ_BLOCKS, FileSource


def write(path, samples, rate=22050):
    soundfile.write(str(path), samples, rate, subtype="FLOAT")
    return path


def test_blocks_are_the_file_in_order_each_one_block_long_but_the_last(tmp_path):
    rate = 22050
    rng = np.random.default_rng(0)
    # several reads of READ_BLOCKS blocks, and a partial block at the end
    stereo = rng.uniform(-0.5, 0.5, (int(rate * 0.1) * (2 * READ_BLOCKS + 3) + 77, 2))
    path = write(tmp_path / "song.wav", stereo.astype(np.float32), rate)
    source = FileSource(path, block_s=0.1)
    blocks = list(source.chunks())
    sizes = {len(b) for b in blocks[:-1]}
    assert sizes == {source.block} and len(blocks[-1]) == 77
    expected = soundfile.read(str(path), dtype="float32")[0].mean(axis=1, dtype=np.float32)
    np.testing.assert_array_equal(np.concatenate(blocks), expected)


def test_the_blocks_before_a_bad_sample_are_delivered_then_it_stops(tmp_path):
    rate = 22050
    samples = np.zeros(rate * 3, dtype=np.float32)
    bad_block = 13  # inside the second read
    source_block = int(rate * 0.1)
    samples[bad_block * source_block + 5] = np.nan
    source = FileSource(write(tmp_path / "bad.wav", samples, rate), block_s=0.1)
    delivered = []
    with pytest.raises(AudioError, match="NaN/inf"):
        for block in source.chunks():
            delivered.append(block)
    assert len(delivered) == bad_block
