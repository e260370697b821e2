"""Workers ("minions"): small heads on PASE embeddings, each owning its target and loss.

- :mod:`pase.workers.config`: the workers config (original JSON format) and its loader.
"""
