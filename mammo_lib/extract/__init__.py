"""Region-of-interest extraction from scans and normal tiling with keep-rules."""
