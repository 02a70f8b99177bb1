"""Sentio export: datasets -> features -> windows -> CRNN -> train -> evaluate (-> convert).

Heavy (TensorFlow); imports the feature pipeline from ``sentio.runtime`` so that a model is
trained on exactly the features the device computes.
"""
