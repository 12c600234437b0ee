"""The local engine: runs an Azure ML pipeline job on this machine, step by step."""
