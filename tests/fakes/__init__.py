"""Local fakes of services that cannot be reached from here, each built from its public reference.

- :mod:`tests.fakes.goto_api`: a fake of GoTo's API (OAuth token endpoint and Admin API);
  not GoTo. Its pytest fixtures are in :mod:`tests.fakes.fixtures`.
"""
