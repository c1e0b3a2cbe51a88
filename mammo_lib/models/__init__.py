"""The study's ConvNets, registered by name."""
