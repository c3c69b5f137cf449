"""Importers: existing models turned into readable cnncalc specs (`cnncalc import`)."""
