"""Training: weighted cross-entropy, on-device augmentation, schedules, callbacks."""
