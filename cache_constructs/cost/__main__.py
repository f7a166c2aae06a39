"""`python -m cache_constructs.cost`: the same as the `cache-cost` console script."""

from cache_constructs.cost.cli import main

raise SystemExit(main())
