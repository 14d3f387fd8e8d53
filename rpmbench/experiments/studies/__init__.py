"""Studies built on the spine: each is a list of cell specs computed by :func:`run_cell` plus a summary."""
