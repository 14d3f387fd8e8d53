"""One module per ``python -m rpmbench`` subcommand (see :mod:`rpmbench.cli` for the contract)."""
