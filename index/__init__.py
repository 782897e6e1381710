"""Ingestion: load articles, split them into passages, embed them and keep them in Chroma."""
