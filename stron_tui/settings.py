"""Settings from environment variables and an optional TOML file.

Precedence, highest first: environment variables, the config file
(`STRON_CONFIG`, else `<data dir>/stron.toml`), built-in defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stron_tui.errors import ConfigurationError

APP_NAME = "stron-tui"

# Environment variable -> settings field. The TOML file uses the field names.
ENVIRONMENT = {
    "STRON_DATABASE_URL": "database_url",
    "STRON_DATA_DIR": "data_dir",
    "STRON_EXPORT_DIR": "export_dir",
    "STRON_MASTER_KEY_FILE": "master_key_file",
    "STRON_TIMEZONE": "timezone",
    "STRON_CURRENCY": "currency",
    "STRON_LOCKOUT_ATTEMPTS": "lockout_attempts",
    "STRON_LOCKOUT_MINUTES": "lockout_minutes",
    "STRON_IDLE_LOCK_MINUTES": "idle_lock_minutes",
    "STRON_LOW_BANDWIDTH": "low_bandwidth",
    "STRON_UTILITY_NAME": "utility_name",
    "STRON_API_THREADS": "api_threads",
    "STRON_API_MAX_BODY_BYTES": "api_max_body_bytes",
    "STRON_API_MAX_JSON_DEPTH": "api_max_json_depth",
    "STRON_API_FAILED_KEYS_PER_MINUTE": "api_failed_keys_per_minute",
    "STRON_SSH_MAX_SESSIONS": "ssh_max_sessions",
    "STRON_SSH_SESSIONS_PER_USER": "ssh_sessions_per_user",
    "STRON_SSH_SESSIONS_PER_ADDRESS": "ssh_sessions_per_address",
    "STRON_SSH_MAX_STARTUPS": "ssh_max_startups",
    "STRON_SSH_STARTUPS_PER_ADDRESS": "ssh_startups_per_address",
    "STRON_SSH_LOGIN_GRACE_SECONDS": "ssh_login_grace_seconds",
    "STRON_SMTP_HOST": "smtp_host",
    "STRON_SMTP_PORT": "smtp_port",
    "STRON_SMTP_USERNAME": "smtp_username",
    "STRON_SMTP_PASSWORD": "smtp_password",
    "STRON_SMTP_STARTTLS": "smtp_starttls",
    "STRON_SMTP_FROM": "smtp_from",
    "STRON_SMTP_CA_FILE": "smtp_ca_file",
    "STRON_SMS_GATEWAY_URL": "sms_gateway_url",
    "STRON_SMS_GATEWAY_AUTHORIZATION": "sms_gateway_authorization",
    "STRON_SMS_GATEWAY_BODY": "sms_gateway_body",
    "STRON_SMS_GATEWAY_CONTENT_TYPE": "sms_gateway_content_type",
    "STRON_MESSAGE_TEMPLATE": "message_template",
    "STRON_MESSAGE_SUBJECT": "message_subject",
    "STRON_MESSAGE_MANAGEMENT_TEMPLATE": "message_management_template",
    "STRON_MESSAGE_TIMEOUT_SECONDS": "message_timeout_seconds",
    "STRON_MESSAGE_MAX_ATTEMPTS": "message_max_attempts",
    "STRON_MESSAGE_RETRY_SECONDS": "message_retry_seconds",
    "STRON_SHIFT_REQUIRED": "shift_required",
    "STRON_SHIFT_LONG_OPEN_HOURS": "shift_long_open_hours",
    "STRON_REVERSAL_WINDOW_DAYS": "reversal_window_days",
    "STRON_REVERSAL_ANY_STATION": "reversal_any_station",
    "STRON_SSH_RESUME_MINUTES": "ssh_resume_minutes",
}

INTEGER_FIELDS = {"lockout_attempts", "lockout_minutes", "idle_lock_minutes", "api_threads", "api_max_body_bytes",
                  "api_max_json_depth", "api_failed_keys_per_minute", "ssh_max_sessions",
                  "ssh_sessions_per_user", "ssh_sessions_per_address", "ssh_max_startups",
                  "ssh_startups_per_address", "ssh_login_grace_seconds", "smtp_port", "message_timeout_seconds",
                  "message_max_attempts", "message_retry_seconds", "shift_long_open_hours",
                  "ssh_resume_minutes"}
BOOLEAN_FIELDS = {"low_bandwidth", "smtp_starttls", "shift_required", "reversal_any_station"}
# Whole numbers that may be 0.
ZERO_OR_MORE_FIELDS = {"reversal_window_days"}


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    export_dir: Path
    master_key_file: Path
    timezone: str = "UTC"
    currency: str = "USD"
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    idle_lock_minutes: int = 15
    low_bandwidth: bool = False
    utility_name: str = "Stron Utility"
    api_threads: int = 4  # requests each API process works on at once (see stron_tui/api/app.py)
    # Limits checked before a request is authenticated or parsed (api/gate.py, docs/security.md).
    api_max_body_bytes: int = 1_048_576  # the largest real request (a sale) is under 1 KB
    api_max_json_depth: int = 32  # our bodies nest 2 deep
    api_failed_keys_per_minute: int = 30  # per client address, before it is refused for a while
    # The embedded SSH server's limits (see docs/security.md, "The SSH server").
    ssh_max_sessions: int = 50  # sessions at once, all users
    ssh_sessions_per_user: int = 3  # sessions one user may hold (the app, an SFTP window, one to spare)
    ssh_sessions_per_address: int = 20  # sessions from one address (a site's stations behind one NAT)
    ssh_max_startups: int = 100  # connections not logged in yet, in total ...
    ssh_startups_per_address: int = 10  # ... and from one address
    ssh_login_grace_seconds: int = 30  # time a connection has to log in
    # Binding id -> keys ("f2" or "f2,ctrl+t"), from the TOML file's [keymap] table; F1 lists the ids.
    keymap: dict[str, str] = field(default_factory=dict, compare=False)
    # Tokens to the customer (services/messages.py, docs/messages.md). No host / URL: that channel is off.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True  # refuse to send (and retry later) when the server offers no STARTTLS
    smtp_from: str = ""
    smtp_ca_file: str = ""  # a CA bundle to trust for the server's certificate (else the system's)
    sms_gateway_url: str = ""
    sms_gateway_authorization: str = ""  # the Authorization header, e.g. "Basic ..." or "Bearer ..."
    # The gateway's request body; {phone} and {text} are filled in (escaped for JSON or a form as the
    # content type says). Africa's Talking: username=...&to={phone}&message={text} as a form.
    sms_gateway_body: str = '{"to": "{phone}", "message": "{text}"}'
    sms_gateway_content_type: str = "application/json"
    message_template: str = ("{utility}: token {token} for meter {meter}, {units} {unit}, {amount} {currency}, "
                             "receipt {receipt}.")
    message_management_template: str = "{utility}: {kind} token {token} for meter {meter}, receipt {receipt}."
    message_subject: str = "Your token from {utility}"
    message_timeout_seconds: int = 10  # a gateway or mail server that hangs longer is retried later
    message_max_attempts: int = 6
    message_retry_seconds: int = 30  # the first retry; each later one waits twice as long (at most an hour)
    # Cash control (services/shifts.py, services/reversals.py).
    shift_required: bool = True  # an operator assigned to a station sells only in an open shift
    shift_long_open_hours: int = 12  # an open shift older than this is flagged
    reversal_window_days: int = 0  # 0: a sale is reversed on its own business day; n: up to n days later
    reversal_any_station: bool = False  # False: only at the station that sold it
    ssh_resume_minutes: int = 10  # a session whose link dropped is kept this long for its user (ssh/resume.py)
    config_file: Path | None = field(default=None, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def parse_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"Setting {name} must be true or false, not {value!r}.")


def _parse_int(name: str, value: object, *, least: int = 1) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"Setting {name} must be a whole number, not {value!r}.") from None
    if number < least:
        raise ConfigurationError(f"Setting {name} must be at least {least}, not {number}.")
    return number


def _parse_keymap(table: object, config_file: Path) -> dict[str, str]:
    """The [keymap] table: each binding id names its keys as text, e.g. `"topup.reprint" = "f8,ctrl+r"`."""
    if not isinstance(table, dict):
        raise ConfigurationError(f"keymap in {config_file} must be a table of binding id = \"keys\".")
    keymap: dict[str, str] = {}
    for binding_id, keys in table.items():
        if not isinstance(keys, str) or not keys.strip() or any(not key.strip() for key in keys.split(",")):
            raise ConfigurationError(
                f"keymap entry {binding_id!r} in {config_file} must name keys such as \"f8\" or \"f8,ctrl+r\"."
            )
        keymap[str(binding_id)] = ",".join(key.strip() for key in keys.split(","))
    return keymap


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings; raises ConfigurationError with one clear sentence."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}

    data_dir_text = env.get("STRON_DATA_DIR")
    data_dir = Path(data_dir_text).expanduser() if data_dir_text else default_data_dir()

    config_path_text = env.get("STRON_CONFIG")
    config_file = Path(config_path_text).expanduser() if config_path_text else data_dir / "stron.toml"
    if config_file.exists():
        try:
            with config_file.open("rb") as handle:
                document = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigurationError(f"Cannot read the config file {config_file}: {error}.") from None
        keymap = _parse_keymap(document.pop("keymap", {}), config_file)
        known = set(ENVIRONMENT.values())
        unknown = sorted(set(document) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown setting {unknown[0]!r} in {config_file}; known settings are "
                f"{', '.join(sorted(known | {'keymap'}))}."
            )
        values.update(document)
        if "data_dir" in document and not data_dir_text:
            data_dir = Path(str(document["data_dir"])).expanduser()
    elif config_path_text:
        raise ConfigurationError(f"The config file {config_file} given in STRON_CONFIG does not exist.")

    for variable, name in ENVIRONMENT.items():
        if variable in env and env[variable] != "":
            values[name] = env[variable]
    values.pop("data_dir", None)

    for name in list(values):
        if name in INTEGER_FIELDS:
            values[name] = _parse_int(name, values[name])
        elif name in ZERO_OR_MORE_FIELDS:
            values[name] = _parse_int(name, values[name], least=0)
        elif name in BOOLEAN_FIELDS:
            values[name] = parse_bool(name, values[name])
        else:
            values[name] = str(values[name])

    if config_file.exists():
        values["keymap"] = keymap
    database_url = str(values.pop("database_url", "") or f"sqlite:///{data_dir / 'stron.sqlite3'}")
    export_dir = Path(str(values.pop("export_dir", data_dir / "exports"))).expanduser()
    master_key_file = Path(str(values.pop("master_key_file", data_dir / "master.key"))).expanduser()

    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        export_dir=export_dir,
        master_key_file=master_key_file,
        config_file=config_file if config_file.exists() else None,
        **values,  # type: ignore[arg-type]
    )
    try:
        settings.zone
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"Unknown station time zone {settings.timezone!r}; use an IANA name such as Africa/Lagos."
        ) from None
    if len(settings.currency) != 3 or not settings.currency.isalpha():
        raise ConfigurationError(f"Default currency must be a 3-letter ISO code, not {settings.currency!r}.")
    return replace(settings, currency=settings.currency.upper())


def ensure_directory(path: Path, purpose: str) -> Path:
    """Create a directory the app must write to, or say plainly why it can't."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)  # private when new (stron_tui/private_files.py)
    except OSError as error:
        raise ConfigurationError(f"Cannot create the {purpose} {path}: {error.strerror}.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(f"The {purpose} {path} is not writable by this user.")
    return path
