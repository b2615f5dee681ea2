"""Portal pages, one module per page (templates beside the same name under templates/)."""
