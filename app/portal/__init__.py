"""The web portal for customers and the NOC (server-rendered pages, no build step)."""
