"""The suite, in folders by area; shared code at this level (README, "Tests")."""
