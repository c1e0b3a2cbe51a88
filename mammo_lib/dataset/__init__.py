"""Dataset recipes, labels, patient-level splits and TFRecord shards."""
