"""Helpers the tests share: made once here, imported by the tests that need them."""
