"""Reusable Textual widgets. They know nothing about vending."""
