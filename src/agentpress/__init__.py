"""AgentPress data service: the PostgreSQL data layer and REST API of an AI-agent platform."""
