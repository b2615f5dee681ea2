"""Local fakes of services that cannot be reached from here, each built from its public reference.

- :mod:`tests.fakes.goto_api`: the fake of GoTo's API (OAuth and Admin API), which lives in
  :mod:`provisioning.demo.goto_api` because `make run` starts it;
  not GoTo. Its pytest fixtures are in :mod:`tests.fakes.fixtures`.
"""
