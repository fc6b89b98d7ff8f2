"""HTTP plumbing shared by every route: the request's database access, client addresses, body limits."""
