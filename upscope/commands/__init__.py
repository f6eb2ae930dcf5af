"""One module per CLI command. Each exposes ``register(app)``."""
