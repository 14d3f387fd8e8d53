"""Mask propagation: the paper's t-1 flow warp, memory read-outs and the no-network baselines.

- :mod:`~rpmbench.inference.masks`: soft-mask primitives shared by every method;
- :mod:`~rpmbench.inference.propagate`: RPM-Net's propagation under a registered protocol, and the
  one loop over a split's sequences;
- :mod:`~rpmbench.inference.memory`: memory read-out (the protocol of RPM-Net's peers);
- :mod:`~rpmbench.inference.baselines`: methods without a network.
"""
