"""Renderers: turn plans and diagnostics into text, JSON or a rich table."""
