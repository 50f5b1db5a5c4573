"""Running the API under uvicorn: `stron-tui serve-api` (one process, or workers via the factory)."""

from __future__ import annotations

from fastapi import FastAPI


def app_from_settings() -> FastAPI:
    """The app over the configured database (uvicorn's factory: each worker process opens its own context).

    Its pool keeps at most `api_threads` connections: requests do database work on that many threads, so
    a worker never needs more, whatever the number of partners (docs/operations.md).
    """
    from stron_tui.api.app import create_app
    from stron_tui.services.context import open_context
    from stron_tui.settings import load_settings

    settings = load_settings()
    return create_app(open_context(settings, pool_size=settings.api_threads))


def parse_listen(text: str) -> tuple[str, int]:
    from stron_tui.errors import ConfigurationError

    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(f"Give --listen as HOST:PORT, for example 127.0.0.1:8080, not {text}.")
    return host, int(port)


def serve(listen: str, *, workers: int = 1, log_level: str = "info") -> None:
    import uvicorn

    from stron_tui.services.context import open_context

    host, port = parse_listen(listen)
    open_context().close()  # fail now with one clear sentence on a bad database or master key
    uvicorn.run("stron_tui.api.server:app_from_settings", factory=True, host=host, port=port,
                workers=max(1, workers), log_level=log_level, proxy_headers=True, server_header=False)
