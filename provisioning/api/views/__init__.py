"""The API's views, one module per resource family (see ``provisioning/api/urls.py``)."""
