"""`cache-cost`: what each cache layer of the stack costs and saves a month, and when it pays.

Pure Python (no aws_cdk, boto3 or redis): it reads a synthesized CloudFormation template, a
dated price snapshot in the AWS Price List offer-file schema (or offer files a user
downloaded) and a traffic profile whose hit ratios default to the latest `make bench` Zipf
result. docs/cost.md has the model. Run it as `cache-cost` or `python -m cache_constructs.cost`.
"""
