"""The service side of probing: probe modules for the blackbox-compatible endpoint."""
