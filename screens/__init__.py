"""One Textual screen module per product module."""
