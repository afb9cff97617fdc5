"""Translation between OpenAI's chat format (the edge's common form) and other wire formats."""
