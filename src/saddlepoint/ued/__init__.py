"""Unsupervised environment design: world models, imagination environments, level samplers (DR, PLR, robust PLR, ACCEL), PAIRED, IMAC."""
