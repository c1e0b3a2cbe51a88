"""Whole-scan inference: fully convolutional heatmaps and `mammo predict`."""
