"""SQL only: each function takes a connection and returns plain dataclasses."""
