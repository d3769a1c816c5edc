"""Losses of embeddings, one definition each, shared by the embedding-only models (embeddings
are the free parameters of a gradient flow) and by :mod:`simulations.encoders` (the same losses
through a real encoder).  Pure JAX and dtype-generic: nothing here switches JAX to float64.
"""
