"""One module per scenario (main side) and one `*_worker` module per scenario (peer side)."""
