"""The export report's plot of quadrant-labelled test songs."""

import numpy as np
from matplotlib.image import imread
from sentio.export.conversion.report import write_quadrant_png


def test_quadrant_plot_draws_every_song_with_a_prediction(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [1, 1]], dtype=float)
    predictions = [rng.uniform(-1, 1, (n, 2)) for n in (3, 1, 2, 4, 0)]  # the last: no window
    path = tmp_path / "quadrants.png"
    assert write_quadrant_png(path, labels, predictions) == 4
    image = imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 300
    colors = len(np.unique(image[..., :3].reshape(-1, 3), axis=0))
    assert colors > 20  # points in four colours, axes, legend: not a blank canvas
