"""Scoring: an `evaluate` metric for BioNER and a runner that puts any model on the leaderboard.

It uses `modeling_vaner`, never the reverse. The metric and runner land with the evaluation-harness issue.
"""
