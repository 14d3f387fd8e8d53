"""Plotting for the notebooks: Table 2 against the paper, and Figure 2 (features, sampling points)."""
