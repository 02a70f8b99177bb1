"""Sentio export, the training half: datasets -> features -> windows -> CRNN -> train ->
evaluate -> convert to TFLite/ONNX -> verified bundle.

Subpackages follow the pipeline: ``data`` (datasets, labels, extraction, splits, windows),
``model`` (config, CRNN, losses, batches, augmentation, training, search), ``evaluation``
(metrics, prediction, baseline, comparison), ``conversion`` (TFLite, ONNX, calibration, the
accuracy-drop gate, reports, the bundle writer), ``recipes`` (committed settings files, e.g.
how the default model was trained) and ``cli`` (``sentio-train``, ``sentio-export``: parse,
call, print). Heavy (TensorFlow); imports the feature pipeline and the bundle contract
(``sentio.runtime.manifest``) from ``sentio.runtime`` so that a model is trained on exactly
the features the device computes. ARCHITECTURE.md has the map.
"""
