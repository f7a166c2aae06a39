"""Lambda asset root; shipped in the wheel so the constructs can bundle it."""
