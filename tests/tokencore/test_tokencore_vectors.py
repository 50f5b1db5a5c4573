"""Every published vector: decoder keys, clear blocks, tokens, key changes, MISTY1, DES."""

import json
import random
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tokencore import (KeyData, TokenCipher, class1_token, credit_token, decode_token,
                       encode_power, generate_decoder_key, key_change_tokens, management_token,
                       tid_for_time)
from tokencore import crc, sta
from tokencore.dea import DES, des_encrypt
from tokencore.misty1 import MISTY1

HERE = Path(__file__).resolve().parent
DEV = json.loads((HERE / "vectors.json").read_text())
EXTRA = json.loads((HERE / "vectors_extra.json").read_text())


def _kd(v):
    return KeyData(v["sgc"], int(v["ti"]), v["krn"], v["kt"], v["ken"], v["base_date"], v["ea"], v["dkga"])


def _when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _issue(v, dk, kd):
    tid = tid_for_time(_when(v["issued_at"]), kd.base_date)
    if v["token_class"] == 0:
        return credit_token(dk, kd, v["subclass"], Decimal(v["amount"]), tid, v["rnd"])
    if "watts" in v:
        return management_token(dk, kd, v["subclass"], encode_power(v["watts"]), tid, v["rnd"])
    field = int(v["field_hex"], 16) if "field_hex" in v else v["field"]
    return management_token(dk, kd, v["subclass"], field, tid, v["rnd"])


@pytest.mark.parametrize("v", DEV["tokens"], ids=lambda v: v["name"])
def test_dev_vector(v):
    kd = _kd(v)
    dk = generate_decoder_key(bytes.fromhex(v["vending_key"]), kd, v["pan"])
    assert dk.hex() == v["decoder_key"]
    issued = _issue(v, dk, kd)
    assert f"{issued.clear_block:016x}" == v["clear_block"]
    assert issued.token == v["token"]
    back = decode_token(v["token"], dk, kd)
    assert (back.token_class, back.subclass, back.rnd) == (v["token_class"], v["subclass"], v["rnd"])
    assert back.field == int(v["field_hex"], 16)
    assert back.issued_at == _when(v["issued_at"])
    if "amount" in v:
        assert back.amount == Decimal(v["amount"])
        assert issued.units == Decimal(v["amount"])
    cipher = TokenCipher(dk, kd.ea)
    assert cipher.encrypt_block(int(v["clear_block"], 16)) != int(v["clear_block"], 16)
    assert cipher.decrypt_block(cipher.encrypt_block(int(v["clear_block"], 16))) == int(v["clear_block"], 16)


@pytest.mark.parametrize("v", EXTRA["tokens"], ids=lambda v: v["name"])
def test_extra_ea11_vector(v):
    kd = _kd(v)
    dk = generate_decoder_key(bytes.fromhex(v["vending_key"]), kd, v["pan"])
    assert len(dk) == 16
    assert _issue(v, dk, kd).token == v["token"]
    back = decode_token(v["token"], dk, kd)
    when = _when(v["issued_at"])
    if (when.hour, when.minute) == (0, 1):  # the reserved minute is issued as 00:02
        when = when.replace(minute=2)
    assert back.issued_at == when
    if "watts" in v:
        assert back.watts >= v["watts"]  # rounded up, never down


def test_class1_vector():
    for v in DEV["class1"]:
        assert class1_token(v["subclass"], v["control"], v["manufacturer_code"]) == v["token"]
        d = decode_token(v["token"], None, None)
        assert (d.token_class, d.subclass, d.control, d.manufacturer_code) == (1, 0, 1, 0)


def _kct(case):
    old, new = _kd(case["old"]), _kd(case["new"])
    vk_old = bytes.fromhex(case["old"]["vending_key"])
    vk_new = bytes.fromhex(case["new"]["vending_key"])
    odk = generate_decoder_key(vk_old, old, case["old"]["pan"])
    ndk = generate_decoder_key(vk_new, new, case["new"]["pan"])
    return key_change_tokens(odk, old, ndk, new, bool(case["rollover"])), odk, old, ndk


@pytest.mark.parametrize("case", DEV["key_change"] + EXTRA["key_change"], ids=lambda c: c["name"])
def test_key_change_vectors(case):
    tokens, odk, old, ndk = _kct(case)
    if "tokens" in case:
        assert tokens == case["tokens"]
    else:
        assert tokens[:2] == case["tokens_prefix"]
    parts = [decode_token(t, odk, old).key_change for t in tokens]
    assert parts[0].rollover == bool(case["rollover"])
    assert parts[1].ti == int(case["new"]["ti"])
    if len(ndk) == 8:
        assert (parts[0].key_part << 32 | parts[1].key_part).to_bytes(8, "big") == ndk
    else:
        assert len(tokens) == 4
        key = parts[0].key_part << 96 | parts[2].key_part << 64 | parts[3].key_part << 32 | parts[1].key_part
        assert key.to_bytes(16, "big") == ndk


def test_misty1_rfc2994():
    m = DEV["misty1_rfc2994"]
    cipher = MISTY1(bytes.fromhex(m["key"]))
    for plain, enc in m["pairs"]:
        assert cipher.encrypt_block(int(plain, 16)) == int(enc, 16)
        assert cipher.decrypt_block(int(enc, 16)) == int(plain, 16)


@pytest.mark.parametrize("key, plain, enc", [
    ("133457799BBCDFF1", "0123456789ABCDEF", "85E813540F0AB405"),   # the classic worked example
    ("0123456789ABCDEF", "4E6F772069732074", "3FA40E8A984D4815"),   # FIPS 81 "Now is t"
    ("0101010101010101", "95F8A5E5DD31D900", "8000000000000000"),   # NBS variable-plaintext KAT
    ("8001010101010101", "0000000000000000", "95A8D72813DAA94D"),   # NBS variable-key KAT
])
def test_des_known_answers(key, plain, enc):
    assert des_encrypt(bytes.fromhex(key), bytes.fromhex(plain)).hex() == enc.lower()
    assert DES(bytes.fromhex(key)).decrypt_block(int(enc, 16)) == int(plain, 16)


def test_sta_tables_match_definition():
    rng = random.Random(7)
    for _ in range(40):
        key, block = rng.getrandbits(64), rng.getrandbits(64)
        fast = sta.STA(key)
        enc = sta.encrypt_reference(block, key)
        assert fast.encrypt_block(block) == enc
        assert fast.decrypt_block(enc) == block == sta.decrypt_reference(enc, key)


def test_crc_fast_path_matches_bytewise():
    rng = random.Random(3)
    for _ in range(300):
        cls, body = rng.randrange(4), rng.getrandbits(48)
        assert crc.block_crc(cls, body) == crc.block_crc_reference(cls, body)
    assert crc.crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS check value
