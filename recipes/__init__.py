"""lamina's recipes: applications of hidden layers on real data (see README.md).

Each ``recipes/NAME.py`` runs with ``lamina recipe NAME [--full] [--out DIR]`` or
``python -m recipes.NAME [--full]``; ``from recipes import NAME`` gives its ``run``.
"""
