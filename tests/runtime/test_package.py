"""``sentio.runtime``'s face: the names an embedder uses, each importable from the root."""

import sentio.runtime as runtime


def test_the_public_api_is_at_most_20_names_all_importable():
    assert len(runtime.__all__) <= 20 and len(set(runtime.__all__)) == len(runtime.__all__)
    for name in runtime.__all__:
        assert getattr(runtime, name) is not None, name
    for name in ("Listener", "Engine", "Prediction", "load_manifest", "SentioError"):
        assert name in runtime.__all__


def test_the_rest_stays_importable_from_its_module():
    from sentio.runtime.emotion import Smoother  # noqa: F401
    from sentio.runtime.errors import AudioError, ConfigError, SentioError
    from sentio.runtime.outputs.sinks import JsonLinesSink, Sinks  # noqa: F401

    assert issubclass(ConfigError, SentioError) and issubclass(AudioError, SentioError)
