"""API tokens: roles admin, noc and customer; only hashes are stored."""
