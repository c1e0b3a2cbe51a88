"""Dataset-level metrics, bootstrap intervals, thresholds and plots."""
