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


def test_each_value_knows_its_source_environment_over_file_over_default(tmp_path):
    config = tmp_path / "stron.toml"
    config.write_text('lockout_attempts = 3\nutility_name = "Lagos Power"\nreversal_window_days = 2\n')
    settings = load_settings({"STRON_DATA_DIR": str(tmp_path), "STRON_LOCKOUT_ATTEMPTS": "7",
                              "STRON_SHIFT_REQUIRED": "no"})
    assert (settings.lockout_attempts, settings.utility_name, settings.reversal_window_days) == (7, "Lagos Power", 2)
    assert settings.shift_required is False
    assert settings.source_of("lockout_attempts") == "env STRON_LOCKOUT_ATTEMPTS"
    assert settings.source_of("utility_name") == f"file {config}"
    assert settings.source_of("shift_required") == "env STRON_SHIFT_REQUIRED"
    assert settings.source_of("lockout_minutes") == "default"
    assert settings.source_of("data_dir") == "env STRON_DATA_DIR"
    # An empty variable counts as unset: the file's value stays.
    assert load_settings({"STRON_DATA_DIR": str(tmp_path), "STRON_LOCKOUT_ATTEMPTS": ""}).lockout_attempts == 3


def test_stron_config_names_another_file_and_data_dir_in_it_moves_the_derived_paths(tmp_path):
    config = tmp_path / "elsewhere.toml"
    config.write_text(f'data_dir = "{tmp_path / "station"}"\n')
    settings = load_settings({"STRON_CONFIG": str(config)})
    assert settings.config_file == config
    assert settings.database_url == f"sqlite:///{tmp_path / 'station' / 'stron.sqlite3'}"
    assert settings.master_key_file == tmp_path / "station" / "master.key"


def test_secrets_are_secret_strings_that_never_show_in_repr(tmp_path):
    settings = load_settings({"STRON_DATA_DIR": str(tmp_path), "STRON_SMTP_PASSWORD": "mail-secret",
                              "STRON_SMS_GATEWAY_AUTHORIZATION": "Bearer gw-secret",
                              "STRON_MASTER_KEY": "ab" * 32, "STRON_ADMIN_PASSWORD": "Correct-Horse-9",
                              "STRON_DATABASE_URL": "postgresql+psycopg://vend:db-secret@db.example/stron"})
    assert settings.smtp_password.get_secret_value() == "mail-secret"
    assert settings.sms_gateway_authorization.get_secret_value() == "Bearer gw-secret"
    assert settings.master_key.get_secret_value() == "ab" * 32
    assert settings.admin_password.get_secret_value() == "Correct-Horse-9"
    assert settings.database_url == "postgresql+psycopg://vend:db-secret@db.example/stron"
    shown = repr(settings)
    for secret in ("mail-secret", "gw-secret", "ab" * 32, "Correct-Horse-9", "db-secret"):
        assert secret not in shown
    assert "postgresql+psycopg://vend:***@db.example/stron" in shown


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://user:pw@host/db", "postgresql+psycopg://user:***@host/db"),
        ("postgresql+psycopg://user@host:5432/db", "postgresql+psycopg://user@host:5432/db"),
        ("mssql+pyodbc://sa:p@ss@sql.example/stron?driver=ODBC", "mssql+pyodbc://sa:***@sql.example/stron?driver=ODBC"),
        ("sqlite:////srv/stron.sqlite3", "sqlite:////srv/stron.sqlite3"),
    ],
)
def test_database_url_password_is_masked(url, masked):
    from stron_tui.settings import mask_database_url

    assert mask_database_url(url) == masked


@pytest.mark.parametrize(
    ("file_text", "environment", "message"),
    [
        ("", {"STRON_REVERSAL_WINDOW_DAYS": "-1"},
         r"reversal_window_days must be at least 0, not -1 \(env STRON_REVERSAL_WINDOW_DAYS\)"),
        ("lockout_minutes = 0\n", {}, r"lockout_minutes must be at least 1, not 0 \(file .*stron.toml\)"),
        ("smtp_port = 70000\n", {}, r"smtp_port must be at most 65535, not 70000 \(file .*stron.toml\)"),
        ("shift_required = \"maybe\"\n", {}, r"shift_required must be true or false, not 'maybe' \(file "),
        ("message_max_attempts = 2.5\n", {}, r"message_max_attempts must be a whole number, not 2.5 \(file "),
        ('timezone = "Africa/Nairobi"\n', {"STRON_TIMEZONE": "Mars/Olympus"},
         r"Unknown station time zone 'Mars/Olympus'.* \(env STRON_TIMEZONE\)"),
        ('[keymap]\nback = ""\n', {}, r"keymap entry 'back' must name keys .* \(file .*stron.toml\)"),
        ('master_key = "00"\n', {}, r"master_key in .*stron.toml may only come from the environment"),
        ("lockout_attempts = \n", {}, r"Cannot read the config file .*stron.toml"),
        ("", {"STRON_KEYMAP": "f1"}, r"keymap must be a JSON object .* \(env STRON_KEYMAP\)"),
    ],
)
def test_a_bad_value_names_the_setting_and_its_source(tmp_path, file_text, environment, message):
    (tmp_path / "stron.toml").write_text(file_text)
    with pytest.raises(ConfigurationError, match=message):
        load_settings({"STRON_DATA_DIR": str(tmp_path), **environment})


def test_overrides_are_checked_and_reported(tmp_path):
    settings = load_settings({"STRON_DATA_DIR": str(tmp_path)}).with_overrides(low_bandwidth=True)
    assert settings.low_bandwidth and settings.source_of("low_bandwidth") == "override"
    with pytest.raises(Exception, match="lockout_attempts"):
        settings.with_overrides(lockout_attempts=0)
