"""Settings: environment over TOML over defaults; secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgraph.settings import load_settings


def test_toml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "mlgraph.toml"
    config.write_text(
        'port = 9000\ncors_origins = ["https://a.example"]\n'
        '[zenml]\nurl = "http://zenml.local:8237"\napi_key = "ZENKEY_from_file"\ntimeout = 3\n'
    )
    monkeypatch.setenv("MLGRAPH_ZENML__TIMEOUT", "7.5")
    settings = load_settings(config)
    assert settings.port == 9000 and settings.cors_origins == ["https://a.example"]
    assert settings.zenml is not None
    assert settings.zenml.url == "http://zenml.local:8237"
    assert settings.zenml.timeout == 7.5  # the environment wins over the file
    assert settings.zenml.api_key is not None
    assert settings.zenml.api_key.get_secret_value() == "ZENKEY_from_file"
    assert "ZENKEY_from_file" not in repr(settings)


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRAPH_CONFIG", raising=False)
    monkeypatch.setenv("MLGRAPH_ZENML__URL", "http://z:1")
    monkeypatch.setenv("MLGRAPH_ZENML__TOKEN", "tok")
    settings = load_settings()
    assert settings.zenml is not None and settings.zenml.token is not None
    assert settings.zenml.token.get_secret_value() == "tok"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "absent.toml")


def test_unconfigured_platform_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGRAPH_CONFIG", raising=False)
    monkeypatch.delenv("MLGRAPH_ZENML__URL", raising=False)
    assert load_settings().zenml is None
