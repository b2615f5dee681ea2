"""Service functions: what views, commands and tasks call to change the domain."""
