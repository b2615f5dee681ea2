"""Secret handling: encryption at rest and redaction. The only places that know about secrets."""
