"""rpmbench: a reproducibility benchmark suite for RPM-Net (self-supervised video object segmentation).

Subpackages, one job each:

- :mod:`rpmbench.ops`: deformable convolution with interchangeable backends.
- :mod:`rpmbench.models`: the RPM-Net family of Table 1 and Table 2.
- :mod:`rpmbench.data`: DAVIS-2017 layout, unlabelled video, the built-in offline data set.
- :mod:`rpmbench.evaluation`: DAVIS J/F scoring, identical to the official evaluation.
- :mod:`rpmbench.commands`: the ``python -m rpmbench`` subcommands.
"""

__version__ = "0.1.0"
