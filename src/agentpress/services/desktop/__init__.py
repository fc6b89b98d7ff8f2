"""The desktop configuration layout (agents, providers, models, channels as YAML files): read, check, export, import."""
