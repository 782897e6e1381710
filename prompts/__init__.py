"""Prompt templates, stored as data files next to this module."""
