"""Carrier adapters: one sub-package per carrier, all speaking the vocabulary of ``carriers.base``."""
