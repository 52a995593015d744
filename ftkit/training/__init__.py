"""Training through a provider: files, large uploads, jobs, their events, and the models offered."""
