"""A test double of the Azure Machine Learning workspace REST API, for exercising the real azure-ai-ml SDK offline."""
