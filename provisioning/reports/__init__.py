"""Reports for auditors (F24, F25, issue 11): filters, keyset pages, streamed downloads, insights.

Views stay thin: they bind a filter form from the query string (so a filtered view can be
bookmarked or mailed), then call one function here.

- ``filters``: the filter forms and the querysets they select.
- ``paging``: keyset pages (no OFFSET), newest first by (created_at, id).
- ``writers``: streamed CSV / JSON / NDJSON and Azure's three-file zipped CSV, with
  spreadsheet-formula neutralisation.
- ``insights``: the aggregates behind the charts, from the hourly rollup on PostgreSQL.
- ``charts``: server-side SVG charts with a table alternative.
- ``signals``: sign-ins and failed sign-ins, and changes made in the Django admin, audited.
"""
