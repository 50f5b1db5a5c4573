#!/bin/sh
# A stand-in for stron-tui in tests/ssh/test_forcecommand.py: shows its arguments, then its environment.
for argument in "$@"; do printf '[%s]\n' "$argument"; done
env
