"""Procedural environments: the maze level family, its vectorised simulator and renderers, gymnasium registration."""
