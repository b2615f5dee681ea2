"""The provisioning domain: directory, applications, jobs, the sync engine and its reports."""
