"""Saved files say their name and where they went: a folder here, or the path to fetch over SFTP."""

from __future__ import annotations

from stron_tui.exports.files import export_path, sftp_path, where_saved


def test_where_saved_names_the_file_and_its_place(test_settings):
    path = export_path(test_settings, "receipts-report", "pdf", user_id=7)
    path.write_bytes(b"%PDF")
    assert path.name.startswith("receipts-report-") and path.parent == test_settings.export_dir / "u7"
    assert where_saved(test_settings, [path], 7, remote=False) == str(path)
    remote = where_saved(test_settings, [path], 7, remote=True)
    assert remote == f"{path.name}; fetch over SFTP (same user and server as this session): get /{path.name}"
    assert sftp_path(test_settings, path, 7) == f"/{path.name}"
    # A file outside the user's own folder has no SFTP path: the message gives the folder instead.
    other = export_path(test_settings, "audit-log", "xlsx")
    assert sftp_path(test_settings, other, 7) is None
    assert where_saved(test_settings, [other], 7, remote=True) == str(other)
