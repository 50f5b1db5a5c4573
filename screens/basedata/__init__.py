"""Base Data screens: the six libraries, batch meter input, supply groups, the account view."""
