"""The contract every part of the project shares, in pure Python (no CDK, no AWS SDK).

The constructs set it, the Lambda runtime reads it, and the local stack, the benchmarks and
the tests import it: the cache policy and its runtime JSON (`policy`), the environment
variable names (`environment`), the metric names (`metrics`) and the L2 key layout (`keys`).
Importing it never starts jsii.
"""
