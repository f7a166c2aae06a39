"""The synth scenario's reference: a CDK app with one Lambda function (see app.py here)."""
