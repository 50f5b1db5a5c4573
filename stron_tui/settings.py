"""Settings: one typed model, read from the environment, an optional TOML file and defaults.

Precedence, highest first: `STRON_<NAME>` environment variables, the config
file (`STRON_CONFIG`, else `<data dir>/stron.toml`, keys are the setting
names plus a `[keymap]` table), built-in defaults. Every `STRON_*` variable
the program reads is read here; `load_settings` remembers where each value
came from so `stron-tui config` can say so, with secrets masked.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict,
                               SettingsError)

from stron_tui.errors import ConfigurationError

APP_NAME = "stron-tui"
ENV_PREFIX = "STRON_"
CONFIG_VARIABLE = "STRON_CONFIG"
# Secrets that belong in the environment (or a key file), never in a config file others may read.
ENVIRONMENT_ONLY = frozenset({"master_key", "admin_password", "source"})
MASK = "***"

AtLeastOne = Annotated[int, Field(ge=1)]
ZeroOrMore = Annotated[int, Field(ge=0)]


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def environment_variable(name: str) -> str:
    """The environment variable of a setting: `lockout_attempts` -> `STRON_LOCKOUT_ATTEMPTS`."""
    return ENV_PREFIX + name.upper()


class Settings(BaseSettings):
    """The effective settings. Built directly (tests, benches) it takes only what it is given."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True,
                                      coerce_numbers_to_str=True, validate_default=True)

    # Not given (or empty): the platform's user data directory, and below it stron.sqlite3, exports/ and
    # master.key (filled in by _paths_under_the_data_dir). The URL may hold a password: masked when shown.
    data_dir: Path
    database_url: str
    export_dir: Path
    master_key_file: Path
    master_key: SecretStr = SecretStr("")  # 64 hex digits instead of the key file (environment only)
    admin_password: SecretStr = SecretStr("")  # for `stron-tui init` (environment only)
    timezone: str = "UTC"
    currency: str = "USD"
    lockout_attempts: AtLeastOne = 5
    lockout_minutes: AtLeastOne = 15
    idle_lock_minutes: AtLeastOne = 15
    low_bandwidth: bool = False
    ascii: bool = False  # ASCII borders (also chosen when the locale is not UTF-8; see app.ascii_wanted)
    source: str = "tui"  # how the app was started, for the audit trail: set to "ssh" by the SSH server
    utility_name: str = "Stron Utility"
    api_threads: AtLeastOne = 4  # requests each API process works on at once (see stron_tui/api/app.py)
    # Limits checked before a request is authenticated or parsed (api/gate.py, docs/security.md).
    api_max_body_bytes: AtLeastOne = 1_048_576  # the largest real request (a sale) is under 1 KB
    api_max_json_depth: AtLeastOne = 32  # our bodies nest 2 deep
    api_failed_keys_per_minute: AtLeastOne = 30  # per client address, before it is refused for a while
    # The embedded SSH server's limits (see docs/security.md, "The SSH server").
    ssh_max_sessions: AtLeastOne = 50  # sessions at once, all users
    ssh_sessions_per_user: AtLeastOne = 3  # sessions one user may hold (the app, an SFTP window, one to spare)
    ssh_sessions_per_address: AtLeastOne = 20  # sessions from one address (a site's stations behind one NAT)
    ssh_max_startups: AtLeastOne = 100  # connections not logged in yet, in total ...
    ssh_startups_per_address: AtLeastOne = 10  # ... and from one address
    ssh_login_grace_seconds: AtLeastOne = 30  # time a connection has to log in
    ssh_resume_minutes: ZeroOrMore = 10  # a session whose link dropped is kept this long for its user (0: not kept; ssh/resume.py)
    # Binding id -> keys ("f2" or "f2,ctrl+t"), from the TOML file's [keymap] table; F1 lists the ids.
    keymap: dict[str, str] = Field(default_factory=dict)
    # Tokens to the customer (services/messages.py, docs/messages.md). No host / URL: that channel is off.
    smtp_host: str = ""
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True  # refuse to send (and retry later) when the server offers no STARTTLS
    smtp_from: str = ""
    smtp_ca_file: str = ""  # a CA bundle to trust for the server's certificate (else the system's)
    sms_gateway_url: str = ""
    sms_gateway_authorization: SecretStr = SecretStr("")  # the Authorization header, "Basic ..." / "Bearer ..."
    # The gateway's request body; {phone} and {text} are filled in (escaped for JSON or a form as the
    # content type says). Africa's Talking: username=...&to={phone}&message={text} as a form.
    sms_gateway_body: str = '{"to": "{phone}", "message": "{text}"}'
    sms_gateway_content_type: str = "application/json"
    message_template: str = ("{utility}: token {token} for meter {meter}, {units} {unit}, {amount} {currency}, "
                             "receipt {receipt}.")
    message_management_template: str = "{utility}: {kind} token {token} for meter {meter}, receipt {receipt}."
    message_subject: str = "Your token from {utility}"
    message_timeout_seconds: AtLeastOne = 10  # a gateway or mail server that hangs longer is retried later
    message_max_attempts: AtLeastOne = 6
    message_retry_seconds: AtLeastOne = 30  # the first retry; each later one waits twice as long (at most an hour)
    # Cash control (services/shifts.py, services/reversals.py).
    shift_required: bool = True  # an operator assigned to a station sells only in an open shift
    shift_long_open_hours: AtLeastOne = 12  # an open shift older than this is flagged
    reversal_window_days: ZeroOrMore = 0  # 0: a sale is reversed on its own business day; n: up to n days later
    reversal_any_station: bool = False  # False: only at the station that sold it
    # The file read (None when there is none); not a setting itself.
    config_file: Path | None = Field(default=None, exclude=True)

    # Setting name -> "default", "file PATH", "env STRON_X" or "override"; filled by load_settings.
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings layers the environment and the file itself, to know each value's source and to
        # read a given environment in tests; building the model directly takes only its arguments.
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _paths_under_the_data_dir(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        data_dir = Path(str(values.get("data_dir") or default_data_dir())).expanduser()
        values["data_dir"] = data_dir
        if not values.get("database_url"):
            values["database_url"] = f"sqlite:///{data_dir / 'stron.sqlite3'}"
        for name, default in (("export_dir", data_dir / "exports"), ("master_key_file", data_dir / "master.key")):
            values[name] = Path(str(values[name])).expanduser() if values.get(name) else default
        return values

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"Unknown station time zone {timezone!r}; use an IANA name such as Africa/Lagos") \
                from None
        return timezone

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, currency: str) -> str:
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"Default currency must be a 3-letter ISO code, not {currency!r}")
        return currency.upper()

    @field_validator("keymap", mode="before")
    @classmethod
    def _keymap_table(cls, table: Any) -> dict[str, str]:
        """Each binding id names its keys as text, e.g. `"topup.reprint" = "f8,ctrl+r"`."""
        if not isinstance(table, dict):
            raise ValueError('keymap must be a table of binding id = "keys"')
        keymap: dict[str, str] = {}
        for binding_id, keys in table.items():
            if not isinstance(keys, str) or not keys.strip() or any(not key.strip() for key in keys.split(",")):
                raise ValueError(f'keymap entry {binding_id!r} must name keys such as "f8" or "f8,ctrl+r"')
            keymap[str(binding_id)] = ",".join(key.strip() for key in keys.split(","))
        return keymap

    def __repr_args__(self):
        for name, value in super().__repr_args__():
            yield name, (mask_database_url(value) if name == "database_url" else value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **changes) -> "Settings":
        """A copy with some values replaced (and checked), e.g. a command-line flag; their source is "override"."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        changed = type(self)(**{**values, **changes})
        changed._sources.update(self._sources)
        changed._sources.update({name: "override" for name in changes})
        return changed

    def source_of(self, name: str) -> str:
        return self._sources.get(name, "default")

    def as_environment(self, names: list[str] | tuple[str, ...]) -> dict[str, str]:
        """These settings as STRON_* variables, for a child process that loads its settings again."""
        return {environment_variable(name): str(getattr(self, name)) for name in names}

    def effective(self) -> list[dict[str, str]]:
        """Each setting with its shown value (secrets masked) and source, for `stron-tui config`."""
        rows = []
        for name in type(self).model_fields:
            if name == "config_file":
                continue
            value = getattr(self, name)
            source = self.source_of(name)
            if name == "keymap" and value:
                for binding_id, keys in value.items():
                    rows.append({"name": f"keymap.{binding_id}", "value": keys, "source": source,
                                 "variable": environment_variable(name)})
                continue
            rows.append({"name": name, "value": "" if name == "keymap" else shown_value(name, value),
                         "source": source, "variable": environment_variable(name)})
        return rows


def shown_value(name: str, value: object) -> str:
    """A setting's value as `stron-tui config` shows it: secrets as *** (empty stays empty)."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if name == "database_url":
        return mask_database_url(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mask_database_url(url: str) -> str:
    """`postgresql+psycopg://user:secret@host/db` -> `postgresql+psycopg://user:***@host/db`."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    credentials, _, host = authority.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':' + MASK if colon else ''}@{host}{slash}{path}"


class _GivenEnvironment(EnvSettingsSource):
    """The STRON_* variables of a given environment (os.environ unless a test passes its own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self._given = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._given.items()
                if name.startswith(ENV_PREFIX) and value != ""}


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"Cannot read the config file {path}: {error}.") from None
    known = set(Settings.model_fields) - ENVIRONMENT_ONLY - {"config_file"}
    for name in document:
        if name in ENVIRONMENT_ONLY:
            raise ConfigurationError(f"Setting {name} in {path} may only come from the environment "
                                     f"({environment_variable(name)}); remove it from the file.")
        if name not in known:
            raise ConfigurationError(f"Unknown setting {name!r} in {path}; known settings are "
                                     f"{', '.join(sorted(known))}.")
    return document


_PHRASES = {
    "int_parsing": "must be a whole number, not {input!r}",
    "int_from_float": "must be a whole number, not {input!r}",
    "int_type": "must be a whole number, not {input!r}",
    "bool_parsing": "must be true or false, not {input!r}",
    "bool_type": "must be true or false, not {input!r}",
    "greater_than_equal": "must be at least {ge}, not {input}",
    "less_than_equal": "must be at most {le}, not {input}",
    "string_type": "must be text, not {input!r}",
}


def _sentence(error: ValidationError, sources: Mapping[str, str]) -> str:
    """The first problem as one sentence naming the setting and where its value came from."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    where = sources.get(name, "default")
    if first["type"] == "value_error":
        text = str(first.get("ctx", {}).get("error", first["msg"]))
    elif first["type"] in _PHRASES:
        text = f"Setting {name} " + _PHRASES[first["type"]].format(input=first.get("input"),
                                                                    **first.get("ctx", {}))
    else:
        text = f"Setting {name}: {first['msg']}"
    return f"{text} ({where})."


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; raises ConfigurationError with one clear sentence naming the setting and its source."""
    env = os.environ if environ is None else environ
    try:
        from_env = _GivenEnvironment(Settings, env)()
    except SettingsError:
        # The one table-valued setting: given in the environment it must be JSON.
        raise ConfigurationError(f'Setting keymap must be a JSON object such as {{"back": "escape"}} '
                                 f'(env {environment_variable("keymap")}).') from None
    data_dir_text = env.get(environment_variable("data_dir"))
    data_dir = Path(data_dir_text).expanduser() if data_dir_text else default_data_dir()

    config_path_text = env.get(CONFIG_VARIABLE)
    config_file = Path(config_path_text).expanduser() if config_path_text else data_dir / "stron.toml"
    from_file: dict[str, Any] = {}
    if config_file.exists():
        from_file = _read_config_file(config_file)
    elif config_path_text:
        raise ConfigurationError(f"The config file {config_file} given in {CONFIG_VARIABLE} does not exist.")
    else:
        config_file = None

    sources = {name: f"file {config_file}" for name in from_file}
    sources.update({name: f"env {environment_variable(name)}" for name in from_env})
    values = {**from_file, **from_env, "config_file": config_file}
    if "data_dir" not in values:
        values["data_dir"] = data_dir
    try:
        settings = Settings(**values)
    except ValidationError as error:
        raise ConfigurationError(_sentence(error, sources)) from None
    settings._sources.update(sources)
    return settings


def parse_bool(name: str, value: object) -> bool:
    """A yes/no value someone typed (e.g. a variable an SSH client sends), as the settings read it."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"Setting {name} must be true or false, not {value!r}.")


def ensure_directory(path: Path, purpose: str) -> Path:
    """Create a directory the app must write to, or say plainly why it can't."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)  # private when new (stron_tui/private_files.py)
    except OSError as error:
        raise ConfigurationError(f"Cannot create the {purpose} {path}: {error.strerror}.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(f"The {purpose} {path} is not writable by this user.")
    return path
