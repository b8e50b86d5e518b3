"""Helpers for the Homework 2 notebook: data, profiles, runtime, plots and results."""
