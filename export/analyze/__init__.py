"""Catalogue analysis: a bundle over a folder tree or a list of files -> one table, one row per
file (``sentio-analyze``). ``catalogue`` analyses one file through the runtime's streaming path
(the numbers ``sentio-listen --input`` prints), ``table`` writes the table, its journal and the
summary, ``run`` drives a whole catalogue in this process, a process pool or on Ray."""

from sentio.export.analyze.catalogue import AnalysisSettings, analyze_file, find_audio
from sentio.export.analyze.run import AnalyzeConfig, AnalyzeResult, analyze_catalogue

__all__ = [
    "AnalysisSettings",
    "AnalyzeConfig",
    "AnalyzeResult",
    "analyze_catalogue",
    "analyze_file",
    "find_audio",
]
