"""The mapping editor's services (issue 10): one way in for every change to a job's mappings.

* :mod:`.drafts` — an object mapping as plain data (what a page edits, what a document holds);
* :mod:`.validation` — every rule a mapping must satisfy, each problem with the path of its field;
* :mod:`.save` — validate and save a whole object mapping in one transaction, audited;
* :mod:`.target_schema` — the target's attribute list (defaults, SCIM ``/Schemas``, by hand);
* :mod:`.preview` — what a change would do to the accounts already provisioned;
* :mod:`.schema_document` — the whole configuration as one JSON document (export / import).

Pages and the REST API call these functions; they never write mappings themselves.
"""
