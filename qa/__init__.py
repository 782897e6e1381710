"""Answering: retrieval over the index, answer generation and citations."""
