"""Validate, run locally, register, submit and promote this project's Azure ML pipeline."""
