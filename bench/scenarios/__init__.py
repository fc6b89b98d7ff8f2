"""One module per scenario, each with `run(server: Server, quick: bool) -> list[Table]`."""
