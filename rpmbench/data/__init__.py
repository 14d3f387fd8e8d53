"""Data: the DAVIS-2017 layout, unlabelled training video, and the built-in offline data set."""
