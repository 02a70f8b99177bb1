"""MQTT credentials and TLS, against real mosquitto brokers started on loopback by the tests:
credentials from the environment or a password file (never only the URL), a refused login
(counted, a clear message, no traceback), ``mqtts://`` with a CA made here, and the password
never printed (stats line, errors, log). The shipped systemd unit loads the credentials file.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sentio.runtime.cli import main
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.mqtt import (
    PASSWORD_ENV,
    USERNAME_ENV,
    MqttSink,
    MqttTarget,
    mqtt_targets,
    parse_mqtt_url,
    redact_url,
)

from tests.helpers import (
    WHOLE_WINDOWS,
    Mosquitto,
    Subscriber,
    free_port,
    sink_counts,
    wait_until,
    write_song,
)

REPO = Path(__file__).resolve().parents[3]
USER, PASSWORD, WRONG = "sentio", "s3cret-Pa55", "not-the-password"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


class SecureBroker(Mosquitto):
    """mosquitto with an anonymous plain listener (for the test's subscriber, ``port``) and a
    second listener that wants ``USER``/``PASSWORD`` and/or TLS (``secure_port``)."""

    def __init__(self, workdir: Path, password: bool = False, tls: dict | None = None) -> None:
        super().__init__(workdir)
        self.secure_port = free_port()
        lines = [
            # started as root, mosquitto would drop to its own user, which cannot read pytest's
            # private temporary folders (the password file and keys are read after the drop)
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings true",
            "persistence false",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"listener {self.secure_port} 127.0.0.1",
        ]
        if password:
            passwords = workdir / "passwords"
            subprocess.run(
                [MOSQUITTO_PASSWD, "-c", "-b", str(passwords), USER, PASSWORD],
                check=True,
                capture_output=True,
            )
            passwords.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"{key} {value}" for key, value in tls.items()]
        self.config.write_text("\n".join(lines) + "\n")


def make_ca_and_server(folder: Path) -> dict[str, Path]:
    """A self-made CA and a server certificate for 127.0.0.1/localhost signed by it (PEM), made
    with the openssl command-line tool; keys as mosquitto's ``cafile``/``certfile``/``keyfile``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is missing: apt-get install openssl")
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, request = folder / "server.pem", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "authorityKeyIdentifier=keyid,issuer\n"
        "subjectKeyIdentifier=hash\n"
    )
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        ["req", "-x509", *new_key, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=Sentio test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-new", *new_key, "-keyout", key, "-out", request, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-out", cert,
         "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
         "-extfile", extensions],
    ):  # fmt: skip
        subprocess.run([openssl, *map(str, command)], check=True, capture_output=True)
    key.chmod(0o600)
    return {"cafile": ca, "certfile": cert, "keyfile": key}


@pytest.fixture
def brokers(tmp_path):
    started = []

    def start(**kwargs) -> SecureBroker:
        folder = tmp_path / f"broker{len(started)}"
        folder.mkdir()
        started.append(SecureBroker(folder, **kwargs).start())
        return started[-1]

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write_song(tmp_path_factory.mktemp("mqtt_security") / "song.wav")


@pytest.fixture(autouse=True)
def no_credentials_in_the_environment(monkeypatch):
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def run_cli(song, *options) -> int:
    return main(
        [
            "--input",
            str(song),
            *WHOLE_WINDOWS,
            "--hop",
            "1",
            "--format",
            "none",
            *options,
        ]
    )


def assert_published(broker: SecureBroker, prefix: str = "sentio") -> None:
    """The run's last state reached the broker (retained: a subscriber after the run sees it)."""
    late = Subscriber(broker.port, [f"{prefix}/state"])
    try:
        wait_until(lambda: late.last(f"{prefix}/state"), 5, "the retained state")
        assert json.loads(late.last(f"{prefix}/state"))["t"] == 16.0
    finally:
        late.close()


def test_credentials_from_the_environment(brokers, song, monkeypatch, capsys):
    broker = brokers(password=True)
    monkeypatch.setenv(USERNAME_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert run_cli(song, "--mqtt", f"mqtt://127.0.0.1:{broker.secure_port}") == 0
    err = capsys.readouterr().err
    assert_published(broker)
    assert PASSWORD not in err and "refused" not in err


def test_password_from_a_file_and_the_user_in_the_url(brokers, song, tmp_path, caplog, capsys):
    broker = brokers(password=True)
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    url = f"mqtt://{USER}@127.0.0.1:{broker.secure_port}"
    assert run_cli(song, "--mqtt", url, "--mqtt-password-file", str(secret)) == 0
    assert_published(broker)
    assert PASSWORD not in capsys.readouterr().err + caplog.text
    assert "can be read by other users" not in caplog.text


def test_a_refused_login_is_counted_with_a_clear_message(brokers, song, caplog, capsys):
    broker = brokers(password=True)
    url = f"mqtt://{USER}:{WRONG}@127.0.0.1:{broker.secure_port}/sentio"
    assert run_cli(song, "--mqtt", url) == 0  # listening went on
    err = capsys.readouterr().err
    everything = err + caplog.text
    assert "Traceback" not in everything
    assert WRONG not in everything  # not in the stats line, the warnings or the log
    sent, failed, dropped = sink_counts(err, f"mqtt://127.0.0.1:{broker.secure_port}/sentio")
    assert sent == 0 and failed >= 1 and sent + failed + dropped == 5
    assert "refused the login (Not authorized)" in err
    assert "broker refused the connection: Not authorized" in caplog.text
    assert "visible in the process list" in caplog.text  # the password was in the URL


def test_mqtts_with_a_self_made_ca(brokers, song, tmp_path, capsys):
    tls = make_ca_and_server(tmp_path)
    broker = brokers(tls=tls)
    url = f"mqtts://127.0.0.1:{broker.secure_port}"
    assert run_cli(song, "--mqtt", url, "--mqtt-ca", str(tls["cafile"])) == 0
    err = capsys.readouterr().err
    sent, failed, dropped = sink_counts(err, f"mqtts://127.0.0.1:{broker.secure_port}/sentio")
    assert sent + failed + dropped == 5
    assert_published(broker)


def test_mqtts_with_a_password_and_a_private_ca(brokers, tmp_path):
    tls = make_ca_and_server(tmp_path)
    broker = brokers(password=True, tls=tls)
    environ = {USERNAME_ENV: USER, PASSWORD_ENV: PASSWORD}
    (target,) = mqtt_targets(
        [f"mqtts://localhost:{broker.secure_port}"], ca_file=tls["cafile"], environ=environ
    )
    sink = MqttSink(target, reconnect_delay=(0.1, 0.5))
    try:
        assert sink.connected.wait(10), sink._why_not_connected()
    finally:
        sink.close()


def test_mqtts_with_an_unknown_ca_fails_verification_and_is_counted(brokers, tmp_path, caplog):
    broker = brokers(tls=make_ca_and_server(tmp_path))
    sink = MqttSink(MqttTarget("127.0.0.1", broker.secure_port, tls=True), (0.1, 0.5))
    try:
        wait_until(lambda: sink._connect_error, 10, "a failed TLS handshake")
        assert not sink.connected.is_set()
    finally:
        sink.close()
    assert "certificate verify failed" in sink._connect_error
    assert "cannot connect: SSLCertVerificationError" in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"mqtt://me:{PASSWORD}@broker:99999/x", "mqtt://***@broker:99999/x"),
        (f"mqtt://me:{PASSWORD}/with-slash@broker:bad", "mqtt://***@broker:bad"),
        (f"mqtt://me:{PASSWORD}#x@broker", "mqtt://***@broker"),
        (f"me:{PASSWORD}@broker", "***@broker"),  # no scheme: still hidden
    ],
)
def test_a_bad_url_with_a_password_is_reported_without_it(url, shown, song, capsys):
    assert redact_url(url) == shown
    assert run_cli(song, "--mqtt", url) == 2
    err = capsys.readouterr().err
    assert shown in err and PASSWORD not in err and "Traceback" not in err


def test_a_password_with_a_slash_is_refused_as_ambiguous_and_never_printed(song, capsys, caplog):
    url = "mqtt://alice:1234/Hunter2@host/topic"  # by urlsplit: host alice, port 1234
    with pytest.raises(OutputError, match="an '@' after the host is ambiguous"):
        parse_mqtt_url(url)
    assert run_cli(song, "--mqtt", url) == 2
    err = capsys.readouterr().err
    assert "error: --mqtt 'mqtt://***@host/topic': an '@' after the host is ambiguous" in err
    assert "%2F" in err and "Traceback" not in err
    assert "Hunter2" not in err + caplog.text and "1234" not in err + caplog.text
    # written as the standard says (percent-encoded), the same password parses
    target = parse_mqtt_url("mqtt://alice:1234%2FHunter2@host/topic")
    assert (target.host, target.port, target.prefix) == ("host", 1883, "topic")
    assert (target.username, target.password) == ("alice", "1234/Hunter2")
    assert "Hunter2" not in target.describe() + repr(target)


def test_the_password_is_not_in_the_targets_repr():
    (target,) = mqtt_targets(["mqtt://broker"], environ={USERNAME_ENV: "u", PASSWORD_ENV: "pw9"})
    assert (target.username, target.password) == ("u", "pw9")
    assert "pw9" not in repr(target) and "pw9" not in target.describe()


def test_where_credentials_come_from(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\nsecond line ignored\n")
    secret.chmod(0o600)
    env = {USERNAME_ENV: "env-user", PASSWORD_ENV: "env-pw"}
    urls = ["mqtt://url-user:url-pw@a", "mqtt://b", "mqtt://url-user@c", "mqtts://d"]
    got = [(t.username, t.password) for t in mqtt_targets(urls, environ=env)]
    assert got == [
        ("url-user", "url-pw"),
        ("env-user", "env-pw"),
        ("url-user", "env-pw"),
        ("env-user", "env-pw"),
    ]
    got = [(t.username, t.password) for t in mqtt_targets(urls[1:2], secret, environ=env)]
    assert got == [("env-user", "from-file")]
    assert mqtt_targets(["mqtt://b"], environ={})[0].password is None  # anonymous
    assert parse_mqtt_url("mqtt://b").username is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--mqtt", "mqtt://b", "--mqtt-password-file", "/no/such/file"], "cannot read it"),
        (["--mqtt", "mqtt://b", "--mqtt-ca", "/no/such/ca.pem"], "not a readable PEM"),
        (["--mqtt", "mqtt://b", "--mqtt-ca", "{ca}"], "no --mqtt URL is mqtts://"),
        (["--mqtt", "mqtt://b", "--mqtt-password-file", "{pw}"], "a password but no user name"),
        (["--mqtt-password-file", "{pw}"], "need an --mqtt URL"),
    ],
)
def test_bad_credential_options_are_exit_2_before_the_model_loads(
    options, message, song, tmp_path, monkeypatch, capsys
):
    import sentio.runtime.model

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(sentio.runtime.model, "BundleModel", no_model)
    (tmp_path / "pw").write_text("x\n")
    ca = make_ca_and_server(tmp_path)["cafile"] if "{ca}" in options else ""
    options = [o.format(ca=ca, pw=tmp_path / "pw") for o in options]
    assert run_cli(song, *options) == 2
    err = capsys.readouterr().err
    assert message in err and "hint:" in err and "Traceback" not in err


def test_a_password_file_others_can_read_is_warned_about(tmp_path, caplog):
    secret = tmp_path / "pw"
    secret.write_text("pw\n")
    secret.chmod(0o644)
    mqtt_targets(["mqtt://u@b"], secret, environ={})
    assert "can be read by other users: chmod 600" in caplog.text


def test_the_shipped_unit_loads_credentials_from_a_root_only_file():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string(
        "\n".join(
            line
            for line in (REPO / "firmware_notes" / "sentio-listen.service").read_text().splitlines()
            if not line.startswith("EnvironmentFile=-/etc/default")  # keep the credentials one
        )
    )
    credentials = unit["Service"]["EnvironmentFile"]
    assert credentials.startswith("-/etc/sentio/")  # optional: MQTT is optional
    notes = (REPO / "firmware_notes" / "README.md").read_text()
    assert f"install -m 600 -o root -g root /dev/null {credentials[1:]}" in notes
    assert USERNAME_ENV in notes and PASSWORD_ENV in notes
    options = (REPO / "firmware_notes" / "sentio-listen.env").read_text()
    assert not [line for line in options.splitlines() if "@" in line and "=" in line]
