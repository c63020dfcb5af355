"""Contracts: the evaluation case, contract instances and the templates they follow."""
