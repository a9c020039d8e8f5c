"""Use cases. Each public function that writes owns its transaction (one commit point)."""
