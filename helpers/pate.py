"""Placeholder: filled in by the lesson that introduces it."""

__all__: list[str] = []
