"""Training on a backend, each seen as one ``Trainer``: OpenAI's API or this computer.

For OpenAI: files, large uploads, jobs, their events and the models offered; locally: LoRA runs.
"""
