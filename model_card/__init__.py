"""The model card generator: writes a Hub README.md from the harness's results JSON.

It imports neither `modeling_vaner` nor `harness`. The generator lands with the Hub-packaging issue.
"""
