"""Data sources: the download registry and one reader module per source."""
