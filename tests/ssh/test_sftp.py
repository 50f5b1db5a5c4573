"""SFTP at the station: the user's own exports, read-only, and nothing else."""

from __future__ import annotations

import os

import asyncssh
import pytest

from stron_tui.exports.files import export_directory
from stron_tui.services import users


async def test_sftp_lists_only_the_users_own_exports_and_refuses_writes_and_escapes(station, ctx, admin):
    users.create_user(ctx, admin, user_code="cashier2", role="OnlyVending")
    mine = export_directory(ctx.settings, "Admin")
    theirs = export_directory(ctx.settings, "cashier2")
    (mine / "receipt-R1-40col.txt").write_text("TOKEN 1234\n")
    (mine / "monthly.xlsx").write_bytes(b"PK-excel")
    (theirs / "secret.txt").write_text("not yours")
    os.symlink(theirs / "secret.txt", mine / "sneaky.txt")
    async with await station.connect() as conn:
        async with conn.start_sftp_client() as sftp:
            assert sorted(await sftp.listdir("/")) == [".", "..", "monthly.xlsx", "receipt-R1-40col.txt",
                                                       "sneaky.txt"]
            async with sftp.open("/receipt-R1-40col.txt", "rb") as handle:
                assert await handle.read() == b"TOKEN 1234\n"
            for escape in ("/../cashier2/secret.txt", "../../cashier2/secret.txt", "/sneaky.txt"):
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
    assert sorted(path.name for path in mine.iterdir()) == ["monthly.xlsx", "receipt-R1-40col.txt", "sneaky.txt"]
    assert (theirs / "secret.txt").read_text() == "not yours"
