"""Portal forms, split by purpose (NetBox style): one module per page or concern."""
