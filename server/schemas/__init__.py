"""Marshmallow schemas: the shape of everything that crosses the wire."""
