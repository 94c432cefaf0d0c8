"""The `vaner` commands: the command line, pushing to the Hub, building the linking index.

The top layer: these modules use the model package, the harness, the Space and the model card; nothing in the model
package imports them (`tests/test_layers.py` checks the arrows).
"""
