"""The source directory's services: the change log (watermark), import and export."""
