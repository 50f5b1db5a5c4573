"""The integration HTTP API (FastAPI): the services' data and rules for partners with API accounts.

`create_app(ctx)` builds the app; `stron-tui serve-api` runs it on uvicorn;
`stron_tui.api.client.StronClient` is the partners' typed client.
"""
