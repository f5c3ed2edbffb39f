"""The catalog as products: the listening-room site (and, later, packs and the newsletter).

Plain Python, no dagster: ``defs/assets/catalog.py`` wires it to the asset graph.
"""
