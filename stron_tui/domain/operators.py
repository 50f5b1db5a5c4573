"""Who sold a token, as receipts, token records, reports and the API name them."""

from __future__ import annotations

API_SALE = "(API)"  # a sale by an API account whose name is not at hand (reports group these together)


def operator_label(user_code: str | None, api_account_name: str | None = None) -> str:
    """The operator's user code; for a sale through the API, "API <account name>"."""
    if user_code:
        return user_code
    return f"API {api_account_name}" if api_account_name else API_SALE
