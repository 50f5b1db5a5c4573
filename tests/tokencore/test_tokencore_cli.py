"""The command line, run as a real subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY02 = ["--dkga", "02", "--ea", "07", "--vending-key", "abababababababab", "--sgc", "123456",
         "--ti", "01", "--krn", "1", "--kt", "2", "--ken", "255", "--base-date", "1993"]
KEY04 = ["--dkga", "04", "--ea", "07", "--vending-key", "abababababababab949494949494949401234567",
         "--sgc", "201457", "--ti", "01", "--krn", "1", "--kt", "2", "--ken", "255", "--base-date", "2014",
         "--pan", "600727000000000009"]


def run(*args):
    p = subprocess.run([sys.executable, "-m", "tokencore", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ok(*args):
    code, out, err = run(*args)
    assert code == 0, err
    return json.loads(out)


def test_token():
    out = ok("token", *KEY02, "--pan", "600727000000000009", "--class", "0", "--subclass", "0",
             "--issued-at", "2004-03-01T13:55Z", "--rnd", "5", "--amount", "0.1")
    assert out == {"token": "23716100501183194197", "decoder_key": "e653341f9d5bf36f",
                   "clear_block": "05599863000119e6", "tid": 0x599863, "class": 0, "subclass": 0}


def test_management_token_with_field_and_drn():
    out = ok("token", *KEY02, "--drn", "00000000000", "--class", "2", "--subclass", "1",
             "--issued-at", "2004-03-28T09:15:00+00:00", "--rnd", "5", "--field", "0xFFFF")
    assert out["token"] == "29511990995826640868"
    watts = ok("token", *KEY02, "--drn", "00000000000", "--class", "2", "--subclass", "0",
               "--issued-at", "2004-03-28T09:01Z", "--rnd", "5", "--amount", "1000")
    assert watts["token"] == "50901894209860263092"


def test_token_repeat_skips_reserved_minute():
    out = ok("token", *KEY02, "--drn", "00000000000", "--class", "0", "--subclass", "0",
             "--issued-at", "2004-03-01T00:00Z", "--amount", "1", "--repeat", "3")
    assert len(out["tokens"]) == 3 and len(set(out["tokens"])) == 3
    first = out["first_tid"]
    tids = [ok("decode", *KEY02, "--drn", "00000000000", t)["tid"] for t in out["tokens"]]
    assert tids == [first, first + 2, first + 3]


def test_class1():
    assert ok("class1", "--subclass", "0", "--control", "1", "--manufacturer-code", "0") == {
        "token": "00000000000150997584"}


def test_kct():
    out = ok("kct", *KEY04, "--new-sgc", "201457", "--new-ti", "02", "--new-krn", "1", "--new-kt", "2",
             "--new-ken", "255", "--new-base-date", "2014")
    assert out["tokens"] == ["06510894141453018386", "22979178279997208272"]
    first = ok("decode", *KEY04, out["tokens"][0])
    assert first["subclass"] == 3 and first["key_part"] == out["new_decoder_key"][:8]
    assert first["rollover"] is False


def test_decode():
    out = ok("decode", *KEY02, "--pan", "600727000000000009", "16328229234437142451")
    assert out == {"class": 0, "subclass": 0, "tid": 0x5A43B7, "issued_at": "2004-04-01T00:55Z",
                   "amount": "18022.4"}
    mgmt = ok("decode", *KEY02, "--pan", "600727000000000009", "5090 1894 2098 6026 3092")
    assert mgmt["field"] == "0x03e8" and mgmt["class"] == 2


@pytest.mark.parametrize("args, words", [
    (("token", *KEY02, "--drn", "12345678901", "--class", "0", "--subclass", "0",
      "--issued-at", "2004-03-01T13:55Z", "--amount", "1"), "expected 3"),
    (("decode", *KEY02, "--pan", "600727000000000009", "23716100501183194198"), "CRC"),
    (("token", *KEY02, "--drn", "00000000000", "--class", "0", "--subclass", "0",
      "--issued-at", "2030-03-01T13:55Z", "--amount", "1"), "key change"),
    (("token", *KEY02, "--drn", "00000000000", "--class", "0", "--subclass", "0",
      "--issued-at", "2004-03-01T13:55Z", "--amount", "9999999"), "1820162.4"),
    (("token", "--dkga", "02"), "required"),
    (("frobnicate",), "invalid choice"),
])
def test_errors_are_one_line_exit_2(args, words):
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and words in err
