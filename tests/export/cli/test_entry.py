from sentio.export.cli import entry


def test_without_the_export_extra_the_cli_says_what_to_install(monkeypatch, capsys):
    real = entry.find_spec
    monkeypatch.setattr(entry, "find_spec", lambda n: None if n == "tensorflow" else real(n))
    assert entry.train_main() == 2
    err = capsys.readouterr().err
    assert "tensorflow not installed" in err and 'pip install ".[export]"' in err
