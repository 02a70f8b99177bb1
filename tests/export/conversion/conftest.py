"""The full-size CRNN (600 x 40) with random weights, its tf-keras inference rebuild, and
realistic-scale windows: shared by the TFLite and ONNX conversion tests."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def full_size():
    """The reference CRNN with random weights, its tf-keras rebuild, and realistic-scale windows."""
    keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    from sentio.export.conversion.tflite import tf_keras_inference_model
    from sentio.export.model.crnn import CRNNConfig, build_crnn

    keras.utils.set_random_seed(3)
    model = build_crnn(CRNNConfig())
    rng = np.random.default_rng(0)
    # Normalized features: unit variance, with slow drifts like real music.
    drift = np.cumsum(rng.normal(0, 0.05, (40, 600, 40)), axis=1)
    windows = (rng.normal(0, 1, (40, 600, 40)) + drift).astype(np.float32)
    calibration, test = windows[:30], windows[30:]
    reference = keras.ops.convert_to_numpy(model(test, training=False))
    return model, tf_keras_inference_model(model, CRNNConfig()), calibration, test, reference
