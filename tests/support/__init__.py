"""Test helpers shared by the suites: real processes and fault injection, no mocks."""
