"""Pictures and rendered tables: mask overlays, Figure 2, offsets, Table 2 plots, J over time."""
