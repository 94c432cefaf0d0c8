"""The model card generator: writes a Hub README.md from the harness's results JSON.

It imports neither `modeling_vaner` nor `harness`.
"""
