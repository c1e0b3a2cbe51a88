"""Reader-facing helpers for the book: tables as numbered, captioned MyST tables, verdicts."""
