"""Data in: read items from the sample, pickles, tables and Amazon records, and check uploads."""
