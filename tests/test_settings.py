"""Settings: environment over TOML over defaults, and one clear sentence for bad values."""

from __future__ import annotations

import pytest

from stron_tui.errors import ConfigurationError
from stron_tui.settings import load_settings


def test_defaults_put_everything_in_the_data_directory(tmp_path):
    settings = load_settings({"STRON_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'stron.sqlite3'}"
    assert settings.export_dir == tmp_path / "exports"
    assert settings.master_key_file == tmp_path / "master.key"
    assert settings.lockout_attempts == 5 and settings.lockout_minutes == 15
    assert settings.currency == "USD" and settings.timezone == "UTC"


def test_config_file_is_read_and_environment_wins(tmp_path):
    (tmp_path / "stron.toml").write_text(
        'timezone = "Africa/Nairobi"\ncurrency = "kes"\nlockout_attempts = 3\nexport_dir = "/srv/exports"\n'
    )
    settings = load_settings({"STRON_DATA_DIR": str(tmp_path), "STRON_LOCKOUT_ATTEMPTS": "7"})
    assert settings.timezone == "Africa/Nairobi"
    assert settings.currency == "KES"
    assert settings.lockout_attempts == 7
    assert str(settings.export_dir) == "/srv/exports"
    assert settings.config_file == tmp_path / "stron.toml"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"STRON_TIMEZONE": "Mars/Olympus"}, "Unknown station time zone 'Mars/Olympus'"),
        ({"STRON_CURRENCY": "DOLLARS"}, "3-letter ISO code"),
        ({"STRON_LOCKOUT_ATTEMPTS": "many"}, "must be a whole number"),
        ({"STRON_LOW_BANDWIDTH": "perhaps"}, "must be true or false"),
        ({"STRON_API_THREADS": "0"}, "api_threads must be at least 1"),
        ({"STRON_CONFIG": "/nonexistent/stron.toml"}, "does not exist"),
    ],
)
def test_bad_settings_are_one_clear_sentence(tmp_path, environment, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings({"STRON_DATA_DIR": str(tmp_path), **environment})


def test_unknown_key_in_config_file_is_named(tmp_path):
    (tmp_path / "stron.toml").write_text('databse_url = "sqlite://"\n')
    with pytest.raises(ConfigurationError, match="Unknown setting 'databse_url'"):
        load_settings({"STRON_DATA_DIR": str(tmp_path)})


def test_keymap_table_is_read_from_the_config_file(tmp_path):
    (tmp_path / "stron.toml").write_text('utility_name = "X"\n[keymap]\n"topup.reprint" = "f6, ctrl+r"\nback = "escape"\n')
    settings = load_settings({"STRON_DATA_DIR": str(tmp_path)})
    assert settings.keymap == {"topup.reprint": "f6,ctrl+r", "back": "escape"}
    assert settings.utility_name == "X"


@pytest.mark.parametrize("table", ['keymap = "f6"\n', '[keymap]\nback = 3\n', '[keymap]\nback = ""\n',
                                   '[keymap]\nback = "f1,,f2"\n'])
def test_a_bad_keymap_is_one_clear_sentence(tmp_path, table):
    (tmp_path / "stron.toml").write_text(table)
    with pytest.raises(ConfigurationError, match="keymap"):
        load_settings({"STRON_DATA_DIR": str(tmp_path)})
