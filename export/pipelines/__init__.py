"""The pipelines a command runs, as functions a notebook can call: each takes a typed config
and returns a typed result; they log progress and never print.

- :mod:`.train`: labelled data -> a trained CRNN's run bundle (``train_run``);
- :mod:`.export`: a run (or the bundled default model, or a training run first) -> a converted,
  verified bundle (``export_run``);
- :mod:`.demo`: generated music -> a trained run -> an exported bundle (``demo_run``).

A catalogue's analysis is :func:`sentio.export.analyze.run.analyze_catalogue`. This layer sits
above ``conversion`` and below the CLIs.
"""
