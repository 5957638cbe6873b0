"""Runs held in memory and kept up to date: what every page of a run reads."""
