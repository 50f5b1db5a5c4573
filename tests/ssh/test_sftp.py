"""SFTP at the station: the user's own exports, read-only, and nothing else."""

from __future__ import annotations

import os

import asyncssh
import pytest

from stron_tui.exports.files import export_directory
from stron_tui.services import users


async def test_sftp_lists_only_the_users_own_exports_and_refuses_writes_and_escapes(station, ctx, admin):
    cashier2 = users.create_user(ctx, admin, user_code="cashier2", role="OnlyVending")
    mine = export_directory(ctx.settings, admin.user_id)
    theirs = export_directory(ctx.settings, cashier2.id)
    (mine / "receipt-R1-40col.txt").write_text("TOKEN 1234\n")
    (mine / "monthly.xlsx").write_bytes(b"PK-excel")
    (theirs / "secret.txt").write_text("not yours")
    os.symlink(theirs / "secret.txt", mine / "sneaky.txt")
    async with await station.connect() as conn:
        async with conn.start_sftp_client() as sftp:
            assert sorted(await sftp.listdir("/")) == [".", "..", "monthly.xlsx", "receipt-R1-40col.txt",
                                                       "sneaky.txt", "upload"]
            async with sftp.open("/receipt-R1-40col.txt", "rb") as handle:
                assert await handle.read() == b"TOKEN 1234\n"
            for escape in (f"/../u{cashier2.id}/secret.txt", f"../../u{cashier2.id}/secret.txt", "/sneaky.txt"):
                with pytest.raises(asyncssh.SFTPError):
                    async with sftp.open(escape, "rb") as handle:
                        await handle.read()
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.open("/new.txt", "wb")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.open("/monthly.xlsx", "ab")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.remove("/monthly.xlsx")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.rename("/monthly.xlsx", "/renamed.xlsx")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.mkdir("/folder")
            assert await sftp.listdir("/..") == await sftp.listdir("/")  # nothing above the user's root
    assert sorted(path.name for path in mine.iterdir()) == ["monthly.xlsx", "receipt-R1-40col.txt", "sneaky.txt",
                                                            "upload"]
    assert (theirs / "secret.txt").read_text() == "not yours"


async def _sftp_names(station, username: str, *, password: str | None = None, client_keys=()) -> list[str]:
    async with await station.connect(username, password, client_keys=client_keys) as conn:
        async with conn.start_sftp_client() as sftp:
            return sorted(name for name in await sftp.listdir("/") if name not in (".", "..", "upload"))


async def test_users_whose_names_fold_alike_get_their_own_folders(station, ctx, admin):
    from stron_tui.exports.files import export_path

    andre_acute = users.create_user(ctx, admin, user_code="andr\u00e9", role="OnlyVending")
    andre_grave = users.create_user(ctx, admin, user_code="andr\u00e8", role="OnlyVending")
    acute_file = export_path(ctx.settings, "acute-report", "csv", user_id=andre_acute.id)
    acute_file.write_text("acute only")
    grave_file = export_path(ctx.settings, "grave-report", "csv", user_id=andre_grave.id)
    grave_file.write_text("grave only")
    assert acute_file.parent != grave_file.parent
    assert acute_file.parent.name == f"u{andre_acute.id}" and grave_file.parent.name == f"u{andre_grave.id}"
    # Over SFTP (temporary password 123456) each sees their own file only.
    assert await _sftp_names(station, "andr\u00e9", password="123456") == [acute_file.name]
    assert await _sftp_names(station, "andr\u00e8", password="123456") == [grave_file.name]


async def test_a_key_login_typed_in_another_case_reaches_the_password_logins_folder(station, ctx, admin):
    from stron_tui.exports.files import export_path
    from stron_tui.services import public_keys

    clerk = users.create_user(ctx, admin, user_code="clerk1", role="OnlyVending")
    key = asyncssh.generate_private_key("ssh-ed25519")
    public_keys.add_key(ctx, admin, "clerk1", key.export_public_key().decode())
    saved = export_path(ctx.settings, "cash-up", "pdf", user_id=clerk.id)
    saved.write_bytes(b"%PDF clerk1")
    by_password = await _sftp_names(station, "clerk1", password="123456")
    by_key = await _sftp_names(station, "CLERK1", client_keys=[key])
    assert by_key == by_password == [saved.name]
    assert sorted(p.name for p in ctx.settings.export_dir.iterdir()) == [f"u{clerk.id}"]


async def test_uploads_go_only_into_the_upload_folder_as_plain_files_within_the_limits(station, ctx, monkeypatch):
    import stron_tui.ssh.sftp as sftp_module

    monkeypatch.setattr(sftp_module, "UPLOAD_FILE_LIMIT", 1000)
    monkeypatch.setattr(sftp_module, "UPLOAD_FOLDER_LIMIT", 1500)
    upload = export_directory(ctx.settings, 1) / "upload"
    async with await station.connect() as conn:
        async with conn.start_sftp_client() as sftp:
            async with sftp.open("/upload/meters.xlsx.filepart", "wb",
                                 asyncssh.SFTPAttrs(permissions=0o777)) as handle:
                await handle.write(b"x" * 900)
            await sftp.rename("/upload/meters.xlsx.filepart", "/upload/meters.xlsx")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.chmod("/upload/meters.xlsx", 0o755)
            assert sorted(await sftp.listdir("/upload")) == [".", "..", "meters.xlsx"]
            with pytest.raises(asyncssh.SFTPFailure) as too_big:  # past one file's limit
                async with sftp.open("/upload/big.xlsx", "wb") as handle:
                    await handle.write(b"x" * 1001)
            assert "at most" in str(too_big.value)
            with pytest.raises(asyncssh.SFTPFailure):  # past the folder's limit (900 bytes are there)
                async with sftp.open("/upload/second.xlsx", "wb") as handle:
                    await handle.write(b"x" * 700)
            with pytest.raises(asyncssh.SFTPFailure):  # appending cannot sneak past it either
                async with sftp.open("/upload/meters.xlsx", "ab") as handle:
                    await handle.write(b"x" * 700)
            for outside in ("/elsewhere.xlsx", "/upload/../elsewhere.xlsx", "/upload", "/upload/sub/x.xlsx"):
                with pytest.raises(asyncssh.SFTPError):
                    async with sftp.open(outside, "wb") as handle:
                        await handle.write(b"x")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.mkdir("/upload/sub")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.rename("/upload/meters.xlsx", "/meters.xlsx")
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await sftp.symlink("/upload/meters.xlsx", "/upload/link.xlsx")
            await sftp.remove("/upload/second.xlsx")
    kept = upload / "meters.xlsx"
    assert kept.read_bytes() == b"x" * 900
    assert kept.stat().st_mode & 0o777 == 0o600  # never executable, whatever the client asked
    assert not (export_directory(ctx.settings, 1) / "elsewhere.xlsx").exists()
